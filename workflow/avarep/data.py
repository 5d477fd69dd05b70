"""The images: load a folder, download and verify the paper's frames, or synthesise a small set.

Every protocol reads its images through :func:`prepare` (once, in the pipeline's data rule)
and :func:`load_manifest` (in every cell), so all of them see exactly the same bytes.
Pixels follow spec section 1: RGB / 255, alpha dropped, flattened row-major (index y*W + x).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from avarep import atomic, datasets


class DataError(ValueError):
    """The images cannot be loaded, downloaded or trusted; the message says which file and why."""


# ------------------------------------------------------------------------------------ loading

#: Modes Pillow converts to RGB without guessing (alpha is dropped, palettes are expanded).
_CONVERTIBLE_MODES = ("RGB", "RGBA", "L", "LA", "P")


#: Modes converted to RGB by repeating the grey level (documented in the README, reported).
_GREY_MODES = ("L", "LA")

#: The fewest images a set may have: each model trains one step per image and is tested on
#: the same images, so one image is one step and one test (spec section 2).
MIN_IMAGES = 2

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, eq=False)
class ImageSet:
    """N images of the same size: ``pixels`` is (N, P, 3) float64 in [0, 1], P = width * height.

    ``notes`` says what loading did that a user should know (grey images made RGB).
    """

    pixels: np.ndarray
    width: int
    height: int
    names: tuple[str, ...]
    sha256: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        self.pixels.setflags(write=False)  # shared by every model of a cell: nobody may edit it

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def combined_sha256(self) -> str:
        return combined_sha256(self.names, self.sha256)


def combined_sha256(names, sums) -> str:
    """One hash for a whole set: the sha256 of its ``sha256sum`` listing ("<hash>  <name>\\n")."""
    listing = "".join(f"{digest}  {name}\n" for name, digest in zip(names, sums))
    return sha256_bytes(listing.encode("utf-8"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def png_paths(folder) -> list[Path]:
    """The PNG files of ``folder`` in file-name order: ``*.png`` in any case (``*.PNG`` too)."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"image folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"image folder {folder} is not a folder")
    paths = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file()),
        key=lambda p: p.name,
    )
    if not paths:
        raise DataError(f"image folder {folder} contains no *.png files")
    return paths


def ignored_files(folder) -> list[str]:
    """Names of the files of ``folder`` that are not read (not ``*.png``): reported, not hidden."""
    return sorted(
        p.name for p in Path(folder).iterdir()
        if p.is_file() and p.suffix.lower() != ".png" and not p.name.startswith(".")
    )


def load_folder(folder) -> ImageSet:
    """Read every ``*.png`` (any case) of ``folder`` in file-name order."""
    paths = png_paths(folder)
    arrays, sums, grey = [], [], []
    for path in paths:
        data = path.read_bytes()
        array, mode = _decode_png(data, path)
        if mode in _GREY_MODES:
            grey.append(path.name)
        if arrays and array.shape != arrays[0].shape:
            raise DataError(
                f"{path}: size {_size(array)} differs from {_size(arrays[0])} of {paths[0].name};"
                " all images of a set must have the same size"
            )
        arrays.append(array)
        sums.append(sha256_bytes(data))

    height, width = arrays[0].shape[:2]
    pixels = np.stack(arrays).reshape(len(arrays), height * width, 3).astype(np.float64) / 255.0
    notes = ()
    if grey:
        notes = (f"{len(grey)} grayscale image(s) converted to RGB (the grey level in all three"
                 f" channels): {', '.join(grey)}",)
    return ImageSet(pixels, width, height, tuple(p.name for p in paths), tuple(sums), notes)


def _size(array: np.ndarray) -> str:
    return f"{array.shape[1]}x{array.shape[0]}"


def _decode_png(data: bytes, path: Path) -> tuple[np.ndarray, str]:
    """The (H, W, 3) uint8 RGB array of one PNG file, and the file's own mode."""
    if not data:
        raise DataError(f"{path}: empty file (0 bytes), not an image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise DataError(f"{path}: not a PNG file (it is {image.format})")
            if image.mode not in _CONVERTIBLE_MODES:
                raise DataError(
                    f"{path}: unsupported image mode {image.mode!r};"
                    f" expected one of {', '.join(_CONVERTIBLE_MODES)}"
                )
            image.load()  # decode now so that truncated data fails here, with the file's name
            mode = image.mode
            # Palettes may carry transparency; going through RGBA expands it without a warning.
            if image.mode == "P":
                image = image.convert("RGBA")
            return np.asarray(image.convert("RGB"), dtype=np.uint8), mode
    except DataError:
        raise
    except UnidentifiedImageError as exc:
        if data.startswith(_PNG_SIGNATURE):
            raise DataError(f"{path}: corrupt or unreadable PNG ({exc})") from exc
        raise DataError(f"{path}: not an image (no image format recognised in its"
                        f" {len(data)} bytes)") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: corrupt or unreadable PNG ({exc})") from exc


# ----------------------------------------------------------------------------------- registry

#: The named datasets live in avarep.datasets (one entry each); these names stay for callers.
DATASETS = datasets.REGISTRY
Dataset = datasets.Dataset

parse_sums = datasets.parse_sums


def get_dataset(name: str) -> Dataset:
    """A registered set of frames (the main grid's datasets); a clear error otherwise."""
    frames = datasets.frame_sets()
    if name not in frames:
        raise DataError(f"unknown dataset {name!r}; valid names: {', '.join(frames)}")
    return DATASETS[name]


# ---------------------------------------------------------------------------------- download

#: Seconds without an answer before a download gives up. The first file that fails stops
#: the whole download, so an offline machine waits at most this long, not 36 times it.
DOWNLOAD_TIMEOUT = 20


def fetch_dataset(
    name: str, dest_dir, base_url: str | None = None, timeout: float = DOWNLOAD_TIMEOUT
) -> dict[str, str]:
    """Download the files of dataset ``name`` into ``dest_dir`` and verify their pinned sums.

    A file already present with the right sum is kept as it is. A file is written (atomically)
    only after its bytes have been verified, so no partial or wrong file ever appears under
    its final name. Returns the pinned sums (file name -> sha256).
    """
    dataset = get_dataset(name)
    if dataset.base_url is None:
        raise DataError(f"dataset {name!r} is not downloaded; it is generated")
    prefix = (base_url or dataset.base_url).rstrip("/") + "/"
    dest_dir = Path(dest_dir)
    expected = dataset.pinned_sums()
    for file_name, digest in expected.items():
        path = dest_dir / file_name
        if path.is_file() and sha256_bytes(path.read_bytes()) == digest:
            continue
        url = prefix + file_name
        try:
            data = _download(url, file_name, timeout)
        except DataError as exc:
            raise DataError(
                f"{exc}\n  Offline or blocked? Use a local copy of the frames instead:"
                f" --config data_dir=/path/to/{name}\n  or a mirror of the pinned files:"
                f" --config download_base_url=https://your.mirror/{name}/"
            ) from exc
        actual = sha256_bytes(data)
        if actual != digest:
            raise DataError(
                f"{file_name} from {url}: checksum mismatch, expected sha256 {digest}, got {actual}"
            )
        atomic.write_bytes(path, data)
    return expected


def _download(url: str, file_name: str, timeout: float) -> bytes:
    # Imported here: every training job imports this module, only the data step downloads.
    import http.client
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    # URLError, HTTPError and timeouts are OSErrors; a cut connection is an HTTPException;
    # a malformed address is a ValueError.
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # A URLError wraps the socket's own error ("Name or service not known"); an HTTP
        # error keeps its status ("HTTP Error 404: Not Found").
        reason = exc.reason if type(exc) is urllib.error.URLError else exc
        raise DataError(f"cannot download {file_name} from {url}: {reason}") from exc


# --------------------------------------------------------------------------------- synthetic

def make_synthetic(
    dest_dir, width: int = 24, height: int = 16, count: int = 36, seed: int = 0
) -> dict[str, str]:
    """Write ``count`` RGB PNG frames of a small animation into ``dest_dir``, deterministically.

    A static textured background (vertical stripes plus fixed noise) and a coloured square
    sprite that crosses the frame from left to right while bobbing up and down. The same
    arguments give bit-identical files; files already identical are not rewritten.
    Returns file name -> sha256.
    """
    if width < 2 or height < 2 or count < 1:
        raise DataError(
            f"a synthetic set needs width, height >= 2 and count >= 1;"
            f" got {width}x{height}, count {count}"
        )
    dest_dir = Path(dest_dir)
    sums = {}
    for name, data in _synthetic_files(width, height, count, seed):
        path = dest_dir / name
        if not (path.is_file() and path.read_bytes() == data):
            atomic.write_bytes(path, data)
        sums[name] = sha256_bytes(data)
    return sums


def _synthetic_files(width=24, height=16, count=36, seed=0):
    """Yield (file name, PNG bytes) of the synthetic set, without writing anything."""
    for name, frame in _synthetic_frames(width, height, count, seed):
        yield name, _encode_png(frame)


def _synthetic_frames(width: int, height: int, count: int, seed: int):
    """Yield (file name, (H, W, 3) uint8 frame) pairs; names are 01.png, 02.png, ..."""
    rng = np.random.default_rng(seed)
    x = np.arange(width)
    base = rng.uniform(0.25, 0.75, size=3)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    stripes = 0.15 * np.sin(2 * np.pi * x[None, :, None] / 6 + phase)  # (1, W, 3)
    noise = rng.normal(0.0, 0.04, size=(height, width, 3))
    background = np.clip(base + stripes + noise, 0.0, 1.0)
    colour = rng.uniform(0.0, 1.0, size=3)

    side = max(1, min(width, height) // 4)
    digits = max(2, len(str(count)))
    for i in range(count):
        progress = i / max(count - 1, 1)
        left = round(progress * (width - side))
        top = round((height - side) * (0.5 + 0.4 * np.sin(2 * np.pi * progress)))
        frame = background.copy()
        frame[top:top + side, left:left + side] = colour
        yield f"{i + 1:0{digits}d}.png", np.round(frame * 255).astype(np.uint8)


def _encode_png(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # (H, W, 3) uint8 is RGB; no metadata is written, so the same frame gives the same bytes.
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------ pipeline entry

def prepare(dataset: str | None, data_dir=None, base_url: str | None = None, root="results"):
    """Make the images of ``dataset`` available and describe them; returns (ImageSet, manifest).

    With ``data_dir`` the images are read from that folder and the dataset is named after it
    (``dataset``, if given, must be that name); a folder named like a registered download is
    still checked against its pinned sums. Otherwise orbit-* are downloaded and ``synthetic``
    is generated, into ``<root>/<dataset>/images/``.
    """
    if data_dir is not None:
        source = Path(data_dir).resolve()
        if dataset is not None and dataset != source.name:
            raise DataError(
                f"dataset {dataset!r} does not match the name of its folder {source}"
                f" ({source.name!r}); a local folder's name is its dataset's name"
            )
        dataset = source.name
        folder = (Path(root) / dataset / "images").resolve()
        pinned = _pinned_download(dataset)
        expected = pinned.pinned_sums() if pinned else None
        local = load_folder(source)
        if expected is not None:
            check_sums(local, expected, f"dataset {dataset} in {source}")
        expected = copy_images(source, local.names, folder)
    else:
        spec = get_dataset(dataset)
        folder = (Path(root) / dataset / "images").resolve()
        if spec.base_url is not None:
            expected = fetch_dataset(dataset, folder, base_url=base_url)
        else:
            expected = make_synthetic(folder)

    images = load_folder(folder)
    check_sums(images, expected, f"dataset {dataset} in {folder}")
    if images.count < MIN_IMAGES:
        raise DataError(
            f"{data_dir or folder}: {images.count} image; a set needs at least {MIN_IMAGES}"
            " (each model trains one step per image and is tested on the same images)"
        )
    return images, _manifest(dataset, folder, images)


def prepare_and_write(dataset, data_dir, base_url, root, manifest_path, say) -> int:
    """The data step: prepare the images, write the manifest, report what a user must know
    through ``say(text, is_error)``. Returns the exit status (0, or 2 / 1 with an error)."""
    try:
        images, manifest = prepare(dataset, data_dir, base_url, root)
        atomic.write_json(manifest_path, manifest)
    except DataError as exc:
        say(f"error: {exc}", True)
        return 2
    except OSError as exc:
        say(f"error: cannot write {exc.filename or manifest_path}: {exc.strerror or exc}", True)
        return 1
    ignored = ignored_files(data_dir) if data_dir else []
    if ignored:  # never skipped silently
        say(f"note: {len(ignored)} file(s) of {data_dir} are not *.png and were not read:"
            f" {', '.join(ignored)}", True)
    for note in images.notes:
        say(f"note: {note}", True)
    say(f"{manifest['dataset']}: {images.count} images of {images.width}x{images.height}"
        f" in {manifest['folder']} (sha256 {manifest['sha256'][:12]})"
        + _verified_note(manifest["dataset"]), False)
    return 0


def _pinned_download(dataset: str):
    """The registered download of that name, whose files have pinned sums (a local copy is
    held to them too), or None: the user's own images, or generated ones."""
    registered = DATASETS.get(dataset)
    return registered if registered is not None and registered.base_url is not None else None


def _verified_note(dataset: str) -> str:
    """What the images were checked against, for the data step's last line: a user who
    gave a local folder should see that its files are the pinned ones too."""
    pinned = _pinned_download(dataset)
    if pinned is None:
        return ""
    return (f"; every file matches its pinned SHA-256"
            f" (workflow/avarep/resources/{pinned.sums_resource})")


def copy_images(source: Path, names, folder: Path) -> dict[str, str]:
    """Copy a local set into the results' own image folder, where the cells read it whichever
    way the images came (local copy or download), so that switching costs no retraining.
    Identical files are kept, stale PNGs removed. Returns file name -> sha256."""
    sums = {}
    for name in names:
        data = (source / name).read_bytes()
        if not ((folder / name).is_file() and (folder / name).read_bytes() == data):
            atomic.write_bytes(folder / name, data)
        sums[name] = sha256_bytes(data)
    for stale in png_paths(folder):
        if stale.name not in sums:
            stale.unlink()
    return sums


def source_sha256(dataset: str, data_dir=None) -> str:
    """The combined sha256 the prepared images will have, known before preparing them: what
    decides whether the data step must run again, whatever the images' location."""
    if data_dir:
        paths = png_paths(data_dir)
        return combined_sha256([p.name for p in paths], [sha256_bytes(p.read_bytes()) for p in paths])
    spec = get_dataset(dataset)
    if spec.base_url is not None:
        sums = spec.pinned_sums()
    else:
        sums = {name: sha256_bytes(data) for name, data in _synthetic_files()}
    names = sorted(sums)
    return combined_sha256(names, [sums[n] for n in names])


def _manifest(dataset: str, folder: Path, images: ImageSet) -> dict:
    return {
        "dataset": dataset,
        "folder": str(folder),
        "width": images.width,
        "height": images.height,
        "count": images.count,
        "files": [{"name": n, "sha256": s} for n, s in zip(images.names, images.sha256)],
        "sha256": images.combined_sha256,
    }


def check_sums(images: ImageSet, expected: dict[str, str], context: str) -> None:
    """Raise DataError unless ``images`` holds exactly the files of ``expected`` with those sums."""
    actual = dict(zip(images.names, images.sha256))
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    if missing or extra:
        raise DataError(f"{context}: missing files {missing}, unexpected files {extra}")
    for name, digest in expected.items():
        if actual[name] != digest:
            raise DataError(
                f"{context}: {name} has changed, expected sha256 {digest}, got {actual[name]}"
            )


def load_manifest(path) -> ImageSet:
    """Load the images a manifest describes, verifying that none changed since preparation."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text())
        folder = manifest["folder"]
        expected = {entry["name"]: entry["sha256"] for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read image manifest {path}: {exc!r}") from exc
    images = load_folder(folder)
    check_sums(images, expected, f"images of manifest {path}")
    return images
