"""Rule entry point of the Fashion-MNIST study (`snakemake --cores 2 fashion`).

    fashion.py data --dir D --manifest M
    fashion.py classifier --dir D --epochs E --model PT --features NPZ --record JSON
    fashion.py run --dir D --classifier PT --features NPZ --model NAME --lr LR --seeds 0 1 2
                   --budget JSON --record JSON --samples NPY
    fashion.py results --records R1.json ... --outdir DIR

Every failure (bad data file, classifier below its accuracy floor, corrupt record) stops the
job with ``error: ...`` naming the file and exit status 2.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/, for `import avarep`

import numpy as np  # noqa: E402
import torch  # noqa: E402

from avarep import allocator, atomic, fashion, fashion_models as fm  # noqa: E402
from avarep import fmnist  # noqa: E402
from avarep.cell import CorruptRecord  # noqa: E402

#: The classifier must reach this test accuracy, or its features are not trusted.
MIN_ACCURACY = 0.88
CLASSIFIER_SEED = 0


def sha256_file(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cmd_data(args):
    fmnist.load(args.dir)  # verifies every file (sums, gzip, magic, shape)
    sums = fmnist.pinned_sums()
    manifest = {"dataset": "fashion-mnist", "folder": str(Path(args.dir).resolve()),
                "files": sums, "validation": f"last {fmnist.VALIDATION} train images",
                "data_sha256": hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()}
    atomic.write_json(args.manifest, manifest)


def cmd_classifier(args):
    torch.set_num_threads(args.threads)
    splits = fmnist.load(args.dir)
    started = time.perf_counter()
    net = fm.train_classifier(splits.train_x, splits.train_y, seed=CLASSIFIER_SEED, epochs=args.epochs)
    val_f, val_l = net.features_and_labels(splits.val_x)
    test_f, test_l = net.features_and_labels(splits.test_x)
    accuracy = float((test_l == splits.test_y).mean())
    with atomic.atomic_path(args.model) as tmp:
        torch.save(net.state_dict(), tmp)
    with atomic.atomic_path(args.features) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, val_features=val_f, test_features=test_f)
    record = {"test_accuracy": accuracy, "validation_accuracy": float((val_l == splits.val_y).mean()),
              "minimum_accuracy": MIN_ACCURACY, "seed": CLASSIFIER_SEED, "epochs": args.epochs,
              "features": fm.Classifier.FEATURES, "model_sha256": sha256_file(args.model),
              "seconds": round(time.perf_counter() - started, 1), "threads": args.threads}
    atomic.write_json(args.record, record)
    if accuracy < MIN_ACCURACY:
        raise ValueError(f"{args.record}: classifier test accuracy {accuracy:.4f} is below "
                         f"{MIN_ACCURACY}; raise fashion_classifier_epochs")


def load_classifier(path):
    net = fm.Classifier()
    net.load_state_dict(torch.load(path, weights_only=True))
    return net.eval()


def cmd_run(args):
    torch.set_num_threads(args.threads)
    print(allocator.keep_freed_memory(), file=sys.stderr)
    budget = json.loads(args.budget)
    splits = fmnist.load(args.dir)
    features = dict(np.load(args.features))
    manifest = json.loads(Path(args.manifest).read_text())
    lr = args.lr if args.lr == fashion.NO_LR else float(args.lr)
    record, samples = fashion.run_job(args.model, lr, args.seeds, splits,
                                      load_classifier(args.classifier), features, budget,
                                      manifest["data_sha256"], sha256_file(args.classifier))
    fashion.write_samples(args.samples, samples)
    atomic.write_json(args.record, record)
    for run in record["runs"]:
        print(f"{args.model} lr={args.lr} seed={run['seed']}: {run['status']} "
              f"{run['seconds']:.1f} s {run['reason']}")


def cmd_results(args):
    # Here, not at the top: matplotlib and pandas cost each of the 39 run jobs 1.3 s to import.
    from avarep import fashion_figures
    from avarep import fashion_results as fr

    records = [fashion.read_run_record(path) for path in args.records]
    long = fr.long_frame(records)
    best = fr.best_lrs(long)
    tab = fr.table(long, best)
    verdicts = fr.verdicts(long, best)
    out = Path(args.outdir)
    atomic.write_text(out / "metrics.csv", long.to_csv(index=False))
    atomic.write_text(out / "table.csv", tab.to_csv(index=False))
    atomic.write_text(out / "verdicts.csv", verdicts.to_csv(index=False))
    samples = {}
    for path in args.records:
        record = json.loads(Path(path).read_text())
        if best.get(record["model"]) == record["lr"]:
            samples[record["model"]] = np.load(Path(path).with_suffix(".npy")) / 255.0
    samples = {m: samples[m] for m in fr.ordered(samples)}
    real = fmnist.load(args.dir).test_x
    fashion_figures.sample_grid(samples, real, out / "samples.png")
    fashion_figures.metrics_vs_lr(long, out / "metrics_vs_lr.png")
    fashion_figures.precision_recall(tab, out / "precision_recall.png")
    classifier = json.loads(Path(args.classifier_record).read_text())
    atomic.write_text(out / "summary.md", fr.summary_markdown(tab, verdicts, records, classifier))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data")
    data.add_argument("--dir", required=True)
    data.add_argument("--manifest", required=True)
    clf = sub.add_parser("classifier")
    clf.add_argument("--dir", required=True)
    clf.add_argument("--epochs", type=int, required=True)
    clf.add_argument("--threads", type=int, default=1)
    for name in ("model", "features", "record"):
        clf.add_argument(f"--{name}", required=True)
    run = sub.add_parser("run")
    for name in ("dir", "manifest", "classifier", "features", "model", "lr", "budget", "record",
                 "samples"):
        run.add_argument(f"--{name}", required=True)
    run.add_argument("--seeds", type=int, nargs="+", required=True)
    run.add_argument("--threads", type=int, default=1)
    res = sub.add_parser("results")
    res.add_argument("--records", nargs="+", required=True)
    res.add_argument("--dir", required=True)
    res.add_argument("--classifier-record", required=True)
    res.add_argument("--outdir", required=True)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        {"data": cmd_data, "classifier": cmd_classifier, "run": cmd_run,
         "results": cmd_results}[args.command](args)
    except (fmnist.FashionDataError, CorruptRecord, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
