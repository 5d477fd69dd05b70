"""Rule entry point: train the cells of one (protocol, model), one learning rate after another.

One job per (protocol, model) rather than per cell: a ``paper`` job's interpreter spends about
2.5 s starting and importing torch, more than half a cell's own work, so a job trains every
learning rate of its model (on a GPU all of them at once, stacked: avarep.cell.run_cells).
Each cell's record (JSON, see avarep.cell) and PNG strip of
generated images are written atomically as soon as that cell is done, so a killed job never
leaves a file that looks complete.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import _bootstrap  # noqa: F401  (puts workflow/ on sys.path)

from avarep import allocator, atomic, protocols
from avarep.cell import run_cells, write_record
from avarep.data import DataError, load_manifest
from avarep.strip import strip_png


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--manifest", required=True, help="the dataset manifest (prepare_data)")
    parser.add_argument("--dataset", required=True, help="the dataset's name in results/")
    parser.add_argument("--protocol", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--lrs", required=True, type=float, nargs="+",
                        help="the learning rates, one cell each, trained in this order")
    parser.add_argument("--seeds", required=True, type=int, nargs="+")
    parser.add_argument("--options", default="{}",
                        help="protocol options as a JSON object, the device among them")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--records", required=True, nargs="+",
                        help="output cell records (JSON), one per learning rate, in its order")
    parser.add_argument("--strips", required=True, nargs="+",
                        help="output PNG strips of generated images, one per learning rate")
    args = parser.parse_args(argv)
    if not len(args.lrs) == len(args.records) == len(args.strips):
        parser.error(f"--lrs, --records and --strips must have one entry per cell, got "
                     f"{len(args.lrs)}, {len(args.records)} and {len(args.strips)}")
    return args


def progress(settings, run, done, total):
    bm = "diverged" if run["bm"] is None else f"BM={run['bm']:.4f}"
    print(f"{settings['protocol']} {settings['model']} lr={settings['lr']}: seed {run['seed']} "
          f"({done}/{total}) {bm} in {run['seconds']:.2f}s", flush=True)


def write_cell(args, images, record, sample, record_path, strip_path) -> int:
    """Write one trained cell's strip, then its record. Returns the exit status."""
    # A full disk or an unwritable folder fails the job with one clear line; the atomic writes
    # leave no partial file, and a strip without its record is removed (the cell did not finish).
    try:
        atomic.write_bytes(strip_path, strip_png(images, sample))
    except OSError as exc:
        print(f"error: cannot write {strip_path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        write_record(record_path, record)
    except OSError as exc:
        Path(strip_path).unlink(missing_ok=True)
        print(f"error: cannot write {record_path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    mean = "no ok seed" if record["bm_mean"] is None else f"mean BM={record['bm_mean']:.4f}"
    print(f"{args.protocol} {args.model} lr={record['lr']}: done, {record['n_ok']}/"
          f"{len(args.seeds)} ok, {mean}, {record['wall_seconds']:.2f}s", flush=True)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        images = load_manifest(args.manifest)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = {**json.loads(args.options), "threads": args.threads}
    print(allocator.keep_freed_memory(), file=sys.stderr)
    # Import the protocol (torch, for some) before the first cell, so that every cell's
    # wall_seconds is its own work, not the job's start-up.
    protocols.load(args.protocol)
    cells = run_cells(images.pixels, dataset=args.dataset, protocol=args.protocol,
                      model=args.model, lrs=args.lrs, seeds=args.seeds, options=options,
                      data_sha256=images.combined_sha256, progress=progress)
    started = time.perf_counter()
    for (record, sample), record_path, strip_path in zip(cells, args.records, args.strips):
        status = write_cell(args, images, record, sample, record_path, strip_path)
        if status:
            return status
    print(f"{len(args.lrs)} cells in {time.perf_counter() - started:.2f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
