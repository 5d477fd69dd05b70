# Check: diff every cell and Table 3 against the published numbers; a verdict per claim.


localrules:
    check,


rule check:
    input:
        bm=f"{RESULTS}/{{protocol}}/bm.csv",
    output:
        cells=f"{RESULTS}/{{protocol}}/check/cells.csv",
        table3=f"{RESULTS}/{{protocol}}/check/table3.csv",
        claims=f"{RESULTS}/{{protocol}}/check/claims.csv",
        verdicts=f"{RESULTS}/{{protocol}}/check/verdicts.csv",
        equivalence=f"{RESULTS}/{{protocol}}/check/equivalence.csv",
        sensitivity=f"{RESULTS}/{{protocol}}/check/sensitivity.csv",
        summary=report(
            f"{RESULTS}/{{protocol}}/check/summary.md",
            caption="../report/check_summary.rst",
            category="7 Check against the paper",
            labels={"table": "summary (Markdown, download)", "protocol": "{protocol}"},
        ),
    log:
        f"{RESULTS}/{{protocol}}/logs/check.log",
    benchmark:
        f"{RESULTS}/{{protocol}}/benchmarks/check.tsv"
    priority: AFTER_TRAINING + 2
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/check.py",
        outdir=lambda wildcards: f"{RESULTS}/{wildcards.protocol}/check",
        strict="--strict" if config["strict"] else "",
    shell:
        "python {params.script:q} --bm {input.bm:q} --outdir {params.outdir:q}"
        " {params.strict} 2>&1 | tee {log:q}"
