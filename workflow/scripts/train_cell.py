"""Rule entry point: train one (protocol, model, learning rate) cell over its seeds.

Writes the cell record (JSON, see avarep.cell) and a PNG strip of generated images.
Both are written atomically, so a killed job never leaves a file that looks complete.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import _bootstrap  # noqa: F401  (puts workflow/ on sys.path)

from avarep import atomic
from avarep.cell import run_cell, write_record
from avarep.data import DataError, load_manifest
from avarep.strip import strip_png


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--manifest", required=True, help="the dataset manifest (prepare_data)")
    parser.add_argument("--dataset", required=True, help="the dataset's name in results/")
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--lr", required=True, type=float)
    parser.add_argument("--seeds", required=True, type=int, nargs="+")
    parser.add_argument("--options", default="{}",
                        help="protocol options as a JSON object, the device among them")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--record", required=True, help="output cell record (JSON)")
    parser.add_argument("--strip", required=True, help="output PNG strip of generated images")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        images = load_manifest(args.manifest)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = {**json.loads(args.options), "threads": args.threads}
    label = f"{args.protocol} {args.model} lr={args.lr}"
    started = time.perf_counter()

    def progress(run, done, total):
        bm = "diverged" if run["bm"] is None else f"BM={run['bm']:.4f}"
        print(f"{label}: seed {run['seed']} ({done}/{total}) {bm} in {run['seconds']:.2f}s", flush=True)

    record, sample = run_cell(
        images.pixels,
        dataset=args.dataset,
        protocol=args.protocol,
        model=args.model,
        lr=args.lr,
        seeds=args.seeds,
        options=options,
        data_sha256=images.combined_sha256,
        progress=progress,
    )
    # A full disk or an unwritable folder fails the job with one clear line; the atomic writes
    # leave no partial file, and a strip without its record is removed (the job did not finish).
    try:
        atomic.write_bytes(args.strip, strip_png(images, sample))
    except OSError as exc:
        print(f"error: cannot write {args.strip}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        write_record(args.record, record)
    except OSError as exc:
        Path(args.strip).unlink(missing_ok=True)
        print(f"error: cannot write {args.record}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    mean = "no ok seed" if record["bm_mean"] is None else f"mean BM={record['bm_mean']:.4f}"
    print(f"{label}: done, {record['n_ok']}/{len(args.seeds)} ok, {mean}, "
          f"{time.perf_counter() - started:.2f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
