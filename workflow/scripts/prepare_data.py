"""Prepare a dataset's images (download, generate or read a folder) and write its manifest.

    python workflow/scripts/prepare_data.py --dataset synthetic --manifest results/synthetic.json
    python workflow/scripts/prepare_data.py --dataset orbit-100x64 \\
        --data-dir ../shared/data/orbit-100x64 --manifest results/orbit-100x64/manifest.json

Exits 2 with ``error: <message>`` on stderr when the images cannot be prepared.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run from a plain checkout: import avarep from the repository's workflow/ directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avarep import atomic  # noqa: E402
from avarep.data import DataError, prepare  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="registered name or --data-dir's name")
    parser.add_argument("--data-dir", help="read the images from this folder (no download)")
    parser.add_argument("--base-url", help="download from this URL prefix, not the pinned one")
    parser.add_argument("--root", default="results", help="results directory (default: results)")
    parser.add_argument("--manifest", required=True, help="where to write the manifest JSON")
    args = parser.parse_args(argv)

    try:
        images, manifest = prepare(args.dataset, args.data_dir, args.base_url, args.root)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    atomic.write_json(args.manifest, manifest)
    print(f"{manifest['dataset']}: {images.count} images of {images.width}x{images.height}"
          f" in {manifest['folder']} (sha256 {manifest['sha256'][:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
