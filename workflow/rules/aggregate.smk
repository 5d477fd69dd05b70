# Aggregation: the cells of one protocol become bm.csv and Tables 1-3; then, beside the
# check (which needs only bm.csv), bm.csv becomes the figures.


localrules:
    aggregate,
    figures,


rule aggregate:
    input:
        cells=lambda wildcards: cell_records(wildcards.protocol),
    output:
        bm=f"{RESULTS}/{{protocol}}/bm.csv",
        tables=expand(
            f"{RESULTS}/{{{{protocol}}}}/table{{n}}.{{ext}}",
            n=[1, 2, 3],
            ext=["csv", "md"],
        ),
        stability=expand(
            f"{RESULTS}/{{{{protocol}}}}/stability.{{ext}}", ext=["csv", "md"]
        ),
    log:
        f"{RESULTS}/{{protocol}}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/{{protocol}}/benchmarks/aggregate.tsv"
    priority: AFTER_TRAINING + 3
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/aggregate.py",
        outdir=lambda wildcards: f"{RESULTS}/{wildcards.protocol}",
        models=" ".join(MODELS),
    shell:
        "python {params.script:q} --cells {input.cells:q}"
        " --outdir {params.outdir:q} --models {params.models} > {log:q} 2>&1"


rule figures:
    input:
        bm=f"{RESULTS}/{{protocol}}/bm.csv",
    output:
        figure5=report(
            f"{RESULTS}/{{protocol}}/figure5.png",
            caption="../report/figure5.rst",
            category="2 Figure 5",
            labels={"protocol": "{protocol}"},
        ),
        figure5_pdf=f"{RESULTS}/{{protocol}}/figure5.pdf",
        stability_map=report(
            f"{RESULTS}/{{protocol}}/figures/stability.png",
            caption="../report/stability.rst",
            category="3 BM vs learning rate",
            labels={"model": "stability map (all models)", "protocol": "{protocol}"},
        ),
        # One report() per model: a labels function would get the wildcards, not the path.
        bm_vs_lr=[
            report(
                f"{RESULTS}/{{protocol}}/figures/bm_vs_lr_{model}.png",
                caption="../report/bm_vs_lr.rst",
                category="3 BM vs learning rate",
                labels={"model": model, "protocol": "{protocol}"},
            )
            for model in MODELS
        ],
    log:
        f"{RESULTS}/{{protocol}}/logs/figures.log",
    benchmark:
        f"{RESULTS}/{{protocol}}/benchmarks/figures.tsv"
    priority: AFTER_TRAINING + 2
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/draw_figures.py",
        outdir=lambda wildcards: f"{RESULTS}/{wildcards.protocol}",
        models=" ".join(MODELS),
    shell:
        "python {params.script:q} --bm {input.bm:q}"
        " --outdir {params.outdir:q} --models {params.models} > {log:q} 2>&1"
