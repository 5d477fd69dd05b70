# Beyond the paper: AVA against a standard VAE and GAN on Fashion-MNIST (`snakemake fashion`).
# Not part of the default target: it needs the data set and about 7 minutes on 2 cores.
# data -> classifier (features) -> one job per (model, learning rate) -> results.


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
    benchmark:
        f"{FASHION}/benchmarks/data.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
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
    priority: lambda wildcards: _fm.job_priority(wildcards.fmodel)
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
    benchmark:
        f"{FASHION}/benchmarks/results.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/fashion.py",
        folder=lambda wildcards: fashion_dir(),
        outdir=lambda wildcards, output: os.path.dirname(output.summary),
    shell:
        "python {params.script} results --records {input.records} --dir {params.folder}"
        " --classifier-record {input.classifier} --outdir {params.outdir} > {log} 2>&1"
