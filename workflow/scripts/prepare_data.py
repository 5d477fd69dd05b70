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

# The logic lives in avarep.data: editing this entry point would make Snakemake's code
# trigger rerun the data step, and with it every cell.
from avarep.data import prepare_and_write  # noqa: E402


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
