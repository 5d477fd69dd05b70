"""The data layer: loading, errors, the real download path over local HTTP, synthetic frames."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageStat

from avarep import data
from avarep.data import DataError

REPO = Path(__file__).resolve().parents[1]
from conftest import SHARED_DATA  # noqa: E402  (one place decides where the frames are)

ORBIT = SHARED_DATA / "orbit-100x64"
SCRIPT = REPO / "workflow" / "scripts" / "prepare_data.py"

needs_orbit = pytest.mark.skipif(not ORBIT.is_dir(), reason=f"{ORBIT} not available")


def write_png(path: Path, width=4, height=3, mode="RGB", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (width, height), value).save(path, format="PNG")


# ------------------------------------------------------------------------------------ loading

@needs_orbit
def test_orbit_loads_with_pillow_statistics():
    images = data.load_folder(ORBIT)
    assert images.pixels.shape == (36, 6400, 3)
    assert images.pixels.dtype == np.float64
    assert (images.width, images.height) == (100, 64)
    assert images.names == tuple(f"{i:02d}.png" for i in range(1, 37))

    # Per-frame channel means and one pixel, straight from Pillow (alpha dropped).
    for i in (0, 17, 35):
        with Image.open(ORBIT / images.names[i]) as image:
            rgb = image.convert("RGB")
            means = np.array(ImageStat.Stat(rgb).mean) / 255
            pixel = np.array(rgb.getpixel((37, 21))) / 255
        np.testing.assert_allclose(images.pixels[i].mean(axis=0), means, rtol=1e-12)
        np.testing.assert_array_equal(images.pixels[i, 21 * 100 + 37], pixel)  # row-major y*W+x


@needs_orbit
def test_orbit_matches_spec_calibration_points():
    """Spec section 3's BM calibration values pin the scaling and the pixel layout."""
    x = data.load_folder(ORBIT).pixels

    def bm(generated):
        d = np.linalg.norm(generated - x, axis=-1)
        return np.abs(d * (1 - d)).mean()

    assert round(bm(np.full_like(x, 0.5)), 4) == 0.2184
    assert round(bm(np.ones_like(x)), 4) == 0.2377
    assert round(bm(np.broadcast_to(x.mean(axis=0), x.shape)), 4) == 0.0498


@needs_orbit
def test_sums_match_shared_listing_and_pinned_resource():
    images = data.load_folder(ORBIT)
    listing = (ORBIT / "SHA256SUMS").read_bytes()
    assert images.combined_sha256 == data.sha256_bytes(listing)
    assert dict(zip(images.names, images.sha256)) == data.DATASETS["orbit-100x64"].pinned_sums()
    assert (
        data.parse_sums((SHARED_DATA / "orbit-72x45" / "SHA256SUMS").read_text())
        == data.DATASETS["orbit-72x45"].pinned_sums()
    )


def test_pixels_are_read_only(tmp_path):
    write_png(tmp_path / "01.png")
    with pytest.raises(ValueError):
        data.load_folder(tmp_path).pixels[0, 0, 0] = 1.0


@pytest.mark.parametrize(
    "mode, value, rgb",
    [
        ("L", 51, (51, 51, 51)),
        ("LA", (51, 0), (51, 51, 51)),
        ("RGBA", (10, 20, 30, 0), (10, 20, 30)),  # alpha dropped, not composited
        ("RGB", (10, 20, 30), (10, 20, 30)),
    ],
)
def test_modes_convert_to_rgb(tmp_path, mode, value, rgb):
    write_png(tmp_path / "01.png", mode=mode, value=value)
    images = data.load_folder(tmp_path)
    np.testing.assert_array_equal(images.pixels[0], np.tile(np.array(rgb) / 255, (12, 1)))


def test_palette_converts_to_rgb(tmp_path):
    image = Image.new("P", (4, 3), 1)
    image.putpalette([0, 0, 0, 200, 100, 0])
    image.info["transparency"] = 0  # a transparent palette entry must not matter
    image.save(tmp_path / "01.png")
    assert tuple(data.load_folder(tmp_path).pixels[0, 0] * 255) == (200, 100, 0)


def test_unsupported_mode_is_rejected(tmp_path):
    Image.new("I;16", (4, 3), 1000).save(tmp_path / "01.png")
    with pytest.raises(DataError, match=r"01\.png.*unsupported image mode 'I;16'"):
        data.load_folder(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"nowhere does not exist"):
        data.load_folder(tmp_path / "nowhere")


def test_not_a_folder(tmp_path):
    write_png(tmp_path / "01.png")
    with pytest.raises(DataError, match=r"01\.png is not a folder"):
        data.load_folder(tmp_path / "01.png")


def test_folder_without_pngs(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"contains no \*\.png"):
        data.load_folder(tmp_path)


def test_corrupt_png(tmp_path):
    write_png(tmp_path / "01.png")
    (tmp_path / "02.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a PNG")
    with pytest.raises(DataError, match=r"02\.png: corrupt or unreadable PNG"):
        data.load_folder(tmp_path)


def test_truncated_png(tmp_path):
    write_png(tmp_path / "01.png", width=40, height=40)
    whole = (tmp_path / "01.png").read_bytes()
    (tmp_path / "01.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"01\.png: corrupt or unreadable PNG"):
        data.load_folder(tmp_path)


def test_mixed_sizes(tmp_path):
    write_png(tmp_path / "01.png", 4, 3)
    write_png(tmp_path / "02.png", 4, 3)
    write_png(tmp_path / "03.png", 5, 3)
    with pytest.raises(DataError, match=r"03\.png: size 5x3 differs from 4x3 of 01\.png"):
        data.load_folder(tmp_path)


# ------------------------------------------------------------------------------- downloading

@pytest.fixture
def serve():
    """Start a threaded HTTP server on 127.0.0.1 serving a folder; returns (base URL, log)."""
    servers = []

    def start(folder: Path):
        log: list[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                log.append(self.path)
                super().do_GET()

            def log_message(self, *args):  # keep test output quiet
                pass

        handler = functools.partial(Handler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        serve_forever = functools.partial(server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", log

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@needs_orbit
def test_download_verifies_then_skips_present_files(serve, tmp_path):
    url, log = serve(ORBIT)
    dest = tmp_path / "images"
    sums = data.fetch_dataset("orbit-100x64", dest, base_url=url)
    assert len(log) == 36
    assert data.load_folder(dest).sha256 == tuple(sums[n] for n in sorted(sums))
    assert sorted(p.name for p in dest.iterdir()) == sorted(sums)  # no temporary files left

    data.fetch_dataset("orbit-100x64", dest, base_url=url)
    assert len(log) == 36  # everything present and verified: nothing downloaded


@needs_orbit
def test_corrupted_local_file_is_downloaded_again(serve, tmp_path):
    url, log = serve(ORBIT)
    dest = tmp_path / "images"
    data.fetch_dataset("orbit-100x64", dest, base_url=url)
    (dest / "07.png").write_bytes(b"damaged")
    log.clear()
    data.fetch_dataset("orbit-100x64", dest, base_url=url)
    assert log == ["/07.png"]
    assert (dest / "07.png").read_bytes() == (ORBIT / "07.png").read_bytes()


@needs_orbit
def test_wrong_bytes_from_server_raise_and_leave_nothing(serve, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(ORBIT, mirror)
    shutil.copy(mirror / "01.png", mirror / "05.png")  # a valid PNG, but the wrong one
    url, _ = serve(mirror)
    dest = tmp_path / "images"
    with pytest.raises(DataError, match=r"05\.png from http://127\.0\.0\.1:\d+/05\.png: checksum"):
        data.fetch_dataset("orbit-100x64", dest, base_url=url)
    with pytest.raises(DataError) as info:
        data.fetch_dataset("orbit-100x64", dest, base_url=url)
    message = str(info.value)
    assert data.DATASETS["orbit-100x64"].pinned_sums()["05.png"] in message  # expected
    assert data.sha256_bytes((ORBIT / "01.png").read_bytes()) in message  # actual
    assert sorted(p.name for p in dest.iterdir()) == [f"{i:02d}.png" for i in range(1, 5)]


def test_dead_address_names_the_url(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/frames"
    with pytest.raises(DataError, match=rf"01\.png from {url}/01\.png"):
        data.fetch_dataset("orbit-100x64", tmp_path, base_url=url, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_on_server(serve, tmp_path):
    (tmp_path / "mirror").mkdir()
    url, _ = serve(tmp_path / "mirror")
    with pytest.raises(DataError, match=r"cannot download 01\.png from .*404"):
        data.fetch_dataset("orbit-100x64", tmp_path / "images", base_url=url)


@needs_orbit
def test_prepare_downloads_and_manifest_round_trips(serve, tmp_path):
    url, _ = serve(ORBIT)
    images, manifest = data.prepare("orbit-100x64", base_url=url, root=tmp_path / "results")
    folder = (tmp_path / "results" / "orbit-100x64" / "images").resolve()
    assert manifest["folder"] == str(folder)
    assert (manifest["width"], manifest["height"], manifest["count"]) == (100, 64, 36)
    assert manifest["sha256"] == data.sha256_bytes((ORBIT / "SHA256SUMS").read_bytes())
    assert manifest["files"][0] == {"name": "01.png", "sha256": images.sha256[0]}

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    np.testing.assert_array_equal(data.load_manifest(path).pixels, images.pixels)

    (folder / "12.png").write_bytes((folder / "13.png").read_bytes())
    with pytest.raises(DataError, match=r"12\.png has changed"):
        data.load_manifest(path)


# ----------------------------------------------------------------------- prepare and registry

@needs_orbit
def test_prepare_from_local_folder_reads_it_through_the_results_copy(tmp_path):
    images, manifest = data.prepare("orbit-100x64", data_dir=ORBIT, root=tmp_path)
    folder = (tmp_path / "orbit-100x64" / "images").resolve()
    assert manifest["dataset"] == "orbit-100x64" and manifest["folder"] == str(folder)
    assert images.count == 36
    assert manifest["sha256"] == data.sha256_bytes((ORBIT / "SHA256SUMS").read_bytes())


def test_prepare_local_folder_named_like_download_is_verified(tmp_path):
    write_png(tmp_path / "orbit-72x45" / "01.png")
    with pytest.raises(DataError, match=r"missing files \['02\.png'"):
        data.prepare(None, data_dir=tmp_path / "orbit-72x45")


def test_prepare_rejects_unknown_dataset_and_name_mismatch(tmp_path):
    valid = "orbit-100x64, orbit-72x45, synthetic"
    with pytest.raises(DataError, match=rf"unknown dataset 'mnist'; valid names: {valid}"):
        data.prepare("mnist", root=tmp_path)
    write_png(tmp_path / "mine" / "01.png")
    with pytest.raises(DataError, match=r"does not match the name of its folder"):
        data.prepare("orbit-100x64", data_dir=tmp_path / "mine")


def test_load_manifest_errors(tmp_path):
    with pytest.raises(DataError, match=r"cannot read image manifest .*absent\.json"):
        data.load_manifest(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad\.json"):
        data.load_manifest(tmp_path / "bad.json")


# -------------------------------------------------------------------------------- synthetic

def test_synthetic_is_deterministic_and_animated(tmp_path):
    first = data.make_synthetic(tmp_path / "a")
    second = data.make_synthetic(tmp_path / "b")
    assert first == second
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    images = data.load_folder(tmp_path / "a")
    assert images.pixels.shape == (36, 24 * 16, 3)
    assert images.names[0] == "01.png" and images.names[-1] == "36.png"
    changed = (images.pixels != images.pixels[0]).any(axis=(1, 2))
    assert changed[1:].all()  # the sprite moves every frame
    # The background is static: some pixels are the same in every frame.
    assert (images.pixels == images.pixels[0]).all(axis=(0, 2)).sum() > 200

    assert data.make_synthetic(tmp_path / "c", seed=1) != first


def test_synthetic_does_not_rewrite_identical_files(tmp_path):
    data.make_synthetic(tmp_path, count=3)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    (tmp_path / "02.png").write_bytes(b"stale")
    data.make_synthetic(tmp_path, count=3)
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert after["01.png"] == before["01.png"] and after["03.png"] == before["03.png"]
    assert data.load_folder(tmp_path).count == 3


def test_prepare_synthetic(tmp_path):
    images, manifest = data.prepare("synthetic", root=tmp_path)
    assert manifest["dataset"] == "synthetic"
    assert (images.width, images.height, images.count) == (24, 16, 36)
    assert Path(manifest["folder"]) == (tmp_path / "synthetic" / "images").resolve()


# ---------------------------------------------------------------------------------- script

def run_script(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60
    )


def test_script_fails_cleanly_on_bad_folder(tmp_path):
    missing = tmp_path / "nowhere"
    manifest_path = tmp_path / "m.json"
    result = run_script("--dataset", "nowhere", "--data-dir", missing, "--manifest", manifest_path)
    assert result.returncode == 2
    assert result.stderr == f"error: image folder {missing} does not exist\n"
    assert not manifest_path.exists()


def test_script_writes_manifest(tmp_path):
    manifest_path = tmp_path / "m.json"
    result = run_script("--dataset", "synthetic", "--root", tmp_path, "--manifest", manifest_path)
    assert result.returncode == 0, result.stderr
    assert "pinned" not in result.stdout  # generated here: nothing pinned to check against
    manifest = json.loads(manifest_path.read_text())
    assert manifest["count"] == 36
    assert data.load_manifest(manifest_path).combined_sha256 == manifest["sha256"]


# ------------------------------------------------------------------ what a user may hand us

def test_upper_case_png_suffix_is_read(tmp_path):
    write_png(tmp_path / "01.PNG", value=10)
    write_png(tmp_path / "02.png", value=20)
    assert data.load_folder(tmp_path).names == ("01.PNG", "02.png")


def test_files_that_are_not_png_are_reported(tmp_path):
    frames = tmp_path / "frames"
    write_png(frames / "01.png")
    write_png(frames / "02.png")
    (frames / "03.jpg").write_bytes(b"jpeg")
    (frames / "notes.txt").write_text("x")
    result = run_script("--dataset", "frames", "--data-dir", frames, "--root", tmp_path / "r",
                        "--manifest", tmp_path / "m.json")
    assert result.returncode == 0, result.stderr
    assert "2 file(s) of" in result.stderr and "not *.png and were not read: 03.jpg, notes.txt" in result.stderr
    assert "pinned" not in result.stdout  # a user's own frames: nothing to check them against


def test_script_says_a_local_copy_of_the_paper_s_frames_was_checked(tmp_path):
    """The frames from a local folder are held to the same pinned sums as a download, and
    the data step says so (a user seeing only 'SHA256SUMS was not read' might think not)."""
    result = run_script("--dataset", "orbit-100x64", "--data-dir", ORBIT, "--root", tmp_path,
                        "--manifest", tmp_path / "m.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(
        "every file matches its pinned SHA-256 (workflow/avarep/resources/orbit-100x64.sha256)")
    assert (REPO / "workflow" / "avarep" / "resources" / "orbit-100x64.sha256").is_file()


def test_grayscale_images_are_converted_and_said_so(tmp_path):
    write_png(tmp_path / "01.png", mode="L", value=51)
    write_png(tmp_path / "02.png", mode="RGB", value=(1, 2, 3))
    images = data.load_folder(tmp_path)
    assert images.notes == ("1 grayscale image(s) converted to RGB (the grey level in all three"
                            " channels): 01.png",)


def test_one_image_is_not_a_data_set(tmp_path):
    write_png(tmp_path / "mine" / "01.png")
    with pytest.raises(DataError, match=r"1 image; a set needs at least 2"):
        data.prepare(None, data_dir=tmp_path / "mine", root=tmp_path / "results")


@pytest.mark.parametrize(
    "content, message",
    [(b"", r"04\.png: empty file \(0 bytes\), not an image"),
     (b"hello, world\n", r"04\.png: not an image \(no image format recognised in its 13 bytes\)")],
)
def test_empty_or_non_image_file_is_named_plainly(tmp_path, content, message):
    write_png(tmp_path / "01.png")
    (tmp_path / "04.png").write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        data.load_folder(tmp_path)
    assert "BytesIO" not in str(caught.value)


class _Silent:
    """A TCP server that accepts connections and never answers: a network dropping packets."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def test_offline_download_stops_at_the_first_file_and_says_how_to_go_on(tmp_path):
    server = _Silent()
    try:
        url = f"http://127.0.0.1:{server.sock.getsockname()[1]}/"
        with pytest.raises(DataError) as caught:
            data.fetch_dataset("orbit-100x64", tmp_path, base_url=url, timeout=0.3)
    finally:
        server.close()
    message = str(caught.value)
    assert "cannot download 01.png" in message and "timed out" in message
    assert "--config data_dir=/path/to/orbit-100x64" in message
    assert "--config download_base_url=" in message
    assert len(server.accepted) == 1  # one timeout, not one per file


def test_default_download_timeout_bounds_an_offline_wait():
    import inspect

    assert inspect.signature(data.fetch_dataset).parameters["timeout"].default == data.DOWNLOAD_TIMEOUT <= 30


def test_source_sha256_predicts_the_prepared_sum(tmp_path):
    mine = tmp_path / "mine"
    write_png(mine / "01.png", value=10)
    write_png(mine / "02.png", value=20)
    _, manifest = data.prepare(None, data_dir=mine, root=tmp_path / "results")
    assert data.source_sha256("mine", mine) == manifest["sha256"]
    _, synthetic = data.prepare("synthetic", root=tmp_path / "results")
    assert data.source_sha256("synthetic") == synthetic["sha256"]
    write_png(mine / "02.png", value=21)  # one changed image: a different source
    assert data.source_sha256("mine", mine) != manifest["sha256"]


@needs_orbit
def test_source_sha256_of_the_download_is_the_local_copy_s():
    assert data.source_sha256("orbit-100x64") == data.source_sha256("orbit-100x64", ORBIT)
