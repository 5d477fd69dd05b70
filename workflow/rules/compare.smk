# Compare: the protocols and the published numbers side by side.


localrules:
    compare,


rule compare:
    input:
        bm=expand(f"{RESULTS}/{{protocol}}/bm.csv", protocol=PROTOCOLS),
        verdicts=expand(
            f"{RESULTS}/{{protocol}}/check/verdicts.csv", protocol=PROTOCOLS
        ),
    output:
        table=f"{RESULTS}/compare/compare.csv",
        figure=report(
            f"{RESULTS}/compare/compare.png",
            caption="../report/compare.rst",
            category="8 Author vs paper",
            labels={"item": "figure: BM vs γ, both protocols"},
        ),
        summary=report(
            f"{RESULTS}/compare/summary.md",
            caption="../report/compare_summary.rst",
            category="8 Author vs paper",
            labels={"item": "summary (Markdown, download)"},
        ),
    log:
        f"{RESULTS}/logs/compare.log",
    benchmark:
        f"{RESULTS}/benchmarks/compare.tsv"
    priority: AFTER_TRAINING + 1
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/compare.py",
        outdir=lambda wildcards, output: Path(output.table).parent,
    shell:
        "python {params.script:q} --bm {input.bm:q} --verdicts {input.verdicts:q}"
        " --outdir {params.outdir:q} > {log:q} 2>&1"
