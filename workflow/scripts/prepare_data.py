"""Prepare a dataset's images (download, generate or read a folder) and write its manifest.

    python workflow/scripts/prepare_data.py --dataset synthetic --manifest results/synthetic.json
    python workflow/scripts/prepare_data.py --dataset orbit-100x64 \\
        --data-dir ../shared/data/orbit-100x64 --manifest results/orbit-100x64/manifest.json

Exits 2 with ``error: <message>`` on stderr when the images cannot be prepared.
"""

import argparse
import sys
from pathlib import Path

# Run from a plain checkout: import avarep from the repository's workflow/ directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avarep import atomic  # noqa: E402
from avarep.data import DataError, ignored_files, prepare  # noqa: E402


def prepare_and_write(dataset, data_dir, base_url, root, manifest_path, say) -> int:
    """Prepare the images, write the manifest; ``say(text, error)`` reports. Returns the status."""
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
        f" in {manifest['folder']} (sha256 {manifest['sha256'][:12]})", False)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="registered name or --data-dir's name")
    parser.add_argument("--data-dir", help="read the images from this folder (no download)")
    parser.add_argument("--base-url", help="download from this URL prefix, not the pinned one")
    parser.add_argument("--root", default="results", help="results directory (default: results)")
    parser.add_argument("--manifest", required=True, help="where to write the manifest JSON")
    args = parser.parse_args(argv)

    def say(text, error):
        print(text, file=sys.stderr if error else sys.stdout)

    return prepare_and_write(args.dataset, args.data_dir, args.base_url, args.root,
                             args.manifest, say)


def from_snakemake(smk) -> int:
    """The rule's entry point. The images' location (data_dir, download_base_url) is read from
    the config, not from params: only their content (params.source_sha256) may decide whether
    this step, and so every cell after it, runs again."""
    log = open(smk.log[0], "w")

    def say(text, error):
        print(text, file=log, flush=True)
        print(text, file=sys.stderr if error else sys.stdout)  # a data error must be seen

    with log:
        return prepare_and_write(
            smk.params.dataset, smk.config.get("data_dir"), smk.config.get("download_base_url"),
            str(Path(smk.output.manifest).parent.parent), smk.output.manifest, say,
        )


if __name__ == "__main__":
    sys.exit(from_snakemake(snakemake) if "snakemake" in globals() else main())  # noqa: F821
