# Beyond the paper: AVA against a standard VAE and GAN on Fashion-MNIST (`snakemake fashion`).
# Not part of the default target: it needs the data set and about 20 minutes on 2 cores.
# data -> classifier (features) -> one job per (model, learning rate) -> results.

import json as _json

from avarep import fashion_models as _fm
from avarep.fashion import NO_LR as _NO_LR

FASHION = "results/fashion-mnist"
FASHION_BUDGET = {
    "epochs": config["fashion_epochs"],
    "train_images": config["fashion_train_images"],
    "batch": config["fashion_batch"],
    "lrs_paper": config["fashion_lrs_paper"],
    "lrs_adam": config["fashion_lrs_adam"],
    "samples": config["fashion_samples"],
    "dtype": "float32",
    "device": config["device"],
}


def fashion_lrs(model):
    if model in _fm.PAPER_MODELS:
        return [lr_label(lr) for lr in config["fashion_lrs_paper"]]
    if model in _fm.STANDARD_MODELS:
        return [lr_label(lr) for lr in config["fashion_lrs_adam"]]
    return [_NO_LR]


FASHION_RECORDS = [
    f"{FASHION}/runs/{model}/lr{lr}.json"
    for model in _fm.ALL_MODELS
    for lr in fashion_lrs(model)
]


def fashion_dir():
    """The data folder, checked only when a Fashion-MNIST job is scheduled."""
    from avarep.fmnist import FashionDataError, find_dir

    try:
        return str(find_dir(config["fashion_mnist_dir"]))
    except FashionDataError as error:
        raise WorkflowError(str(error)) from None


def fashion_quarantine():
    """A truncated or edited run record is moved aside and its job re-run (main process)."""
    if not workflow.is_main_process:
        return
    from avarep.cell import CorruptRecord
    from avarep.fashion import read_run_record

    for path in sorted(Path(FASHION).glob("runs/*/lr*.json")):
        try:
            read_run_record(path)
        except (CorruptRecord, KeyError, TypeError) as error:
            path.replace(path.with_name(path.name + ".corrupt"))
            print(f"WARNING: {error}; moved aside, the job is re-run", file=sys.stderr)


fashion_quarantine()


localrules:
    fashion,


wildcard_constraints:
    fmodel="|".join(_fm.ALL_MODELS),
    flr=r"none|[0-9]+\.[0-9]+(e-?[0-9]+)?|[0-9]+e-?[0-9]+",


rule fashion:
    input:
        f"{FASHION}/summary.md",
        FASHION_RECORDS,


rule fashion_data:
    output:
        manifest=f"{FASHION}/manifest.json",
    log:
        f"{FASHION}/logs/data.log",
    conda:
        "../../envs/ava.yaml"
    params:
        script=f"{SCRIPTS}/fashion.py",
        folder=lambda wildcards: fashion_dir(),
    shell:
        "python {params.script} data --dir {params.folder} --manifest {output.manifest} > {log} 2>&1"


rule fashion_classifier:
    input:
        manifest=rules.fashion_data.output.manifest,
    output:
        model=f"{FASHION}/classifier/classifier.pt",
        features=f"{FASHION}/classifier/features.npz",
        record=f"{FASHION}/classifier/classifier.json",
    log:
        f"{FASHION}/logs/classifier.log",
    benchmark:
        f"{FASHION}/benchmarks/classifier.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        script=f"{SCRIPTS}/fashion.py",
        folder=lambda wildcards: fashion_dir(),
        epochs=config["fashion_classifier_epochs"],
    shell:
        "OMP_NUM_THREADS={threads} python {params.script} classifier --dir {params.folder}"
        " --epochs {params.epochs} --threads {threads} --model {output.model}"
        " --features {output.features} --record {output.record} > {log} 2>&1"


rule fashion_run:
    input:
        manifest=rules.fashion_data.output.manifest,
        classifier=rules.fashion_classifier.output.model,
        features=rules.fashion_classifier.output.features,
    output:
        record=f"{FASHION}/runs/{{fmodel}}/lr{{flr}}.json",
        samples=f"{FASHION}/runs/{{fmodel}}/lr{{flr}}.npy",
    log:
        f"{FASHION}/logs/runs/{{fmodel}}_lr{{flr}}.log",
    benchmark:
        f"{FASHION}/benchmarks/runs/{{fmodel}}_lr{{flr}}.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=lambda wildcards, attempt: 30 * attempt,
        gpu=1 if config["device"].startswith("cuda") else 0,
    params:
        script=f"{SCRIPTS}/fashion.py",
        folder=lambda wildcards: fashion_dir(),
        seeds=" ".join(map(str, config["fashion_seeds"])),
        budget=_json.dumps(FASHION_BUDGET),
    shell:
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads}"
        " python {params.script} run --dir {params.folder} --manifest {input.manifest}"
        " --classifier {input.classifier} --features {input.features}"
        " --model {wildcards.fmodel} --lr {wildcards.flr} --seeds {params.seeds}"
        " --budget '{params.budget}' --threads {threads} --record {output.record}"
        " --samples {output.samples} > {log} 2>&1"


rule fashion_results:
    input:
        records=FASHION_RECORDS,
        classifier=rules.fashion_classifier.output.record,
    output:
        summary=report(
            f"{FASHION}/summary.md",
            caption="../report/fashion.rst",
            category="Beyond the paper: Fashion-MNIST",
        ),
        table=report(
            f"{FASHION}/table.csv",
            caption="../report/fashion.rst",
            category="Beyond the paper: Fashion-MNIST",
        ),
        verdicts=f"{FASHION}/verdicts.csv",
        metrics=f"{FASHION}/metrics.csv",
        samples=report(
            f"{FASHION}/samples.png",
            caption="../report/fashion.rst",
            category="Beyond the paper: Fashion-MNIST",
        ),
        lr=report(
            f"{FASHION}/metrics_vs_lr.png",
            caption="../report/fashion.rst",
            category="Beyond the paper: Fashion-MNIST",
        ),
        pr=report(
            f"{FASHION}/precision_recall.png",
            caption="../report/fashion.rst",
            category="Beyond the paper: Fashion-MNIST",
        ),
    log:
        f"{FASHION}/logs/results.log",
    conda:
        "../../envs/ava.yaml"
    threads: 1
    params:
        script=f"{SCRIPTS}/fashion.py",
        folder=lambda wildcards: fashion_dir(),
        outdir=FASHION,
    shell:
        "python {params.script} results --records {input.records} --dir {params.folder}"
        " --classifier-record {input.classifier} --outdir {params.outdir} > {log} 2>&1"
