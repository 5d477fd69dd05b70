# Report: what `snakemake --report report.html` shows beyond the pipeline's own outputs.
# Snakemake 9's report offers a .csv only as a download, so every table is also written as a
# self-contained HTML page (rendered inline, with the CSV embedded for download).


localrules:
    report_tables,
    report_compare_table,
    samples_grid,
    benchmarks_summary,
    report_summary,


REPORT = f"{RESULTS}/report"
REPORT_OUTPUTS = paths.report_outputs(RESULTS, PROTOCOLS)


rule report_tables:
    input:
        table1=f"{RESULTS}/{{protocol}}/table1.csv",
        table2=f"{RESULTS}/{{protocol}}/table2.csv",
        table3=f"{RESULTS}/{{protocol}}/table3.csv",
        cells=f"{RESULTS}/{{protocol}}/check/cells.csv",
        check_table3=f"{RESULTS}/{{protocol}}/check/table3.csv",
        claims=f"{RESULTS}/{{protocol}}/check/claims.csv",
        verdicts=f"{RESULTS}/{{protocol}}/check/verdicts.csv",
        equivalence=f"{RESULTS}/{{protocol}}/check/equivalence.csv",
    output:
        table1=report(
            f"{REPORT}/{{protocol}}/table1.html",
            caption="../report/table12.rst",
            category="6 Tables 1-3",
            labels={"table": "Table 1 (γ 1.0-0.1)", "protocol": "{protocol}"},
        ),
        table2=report(
            f"{REPORT}/{{protocol}}/table2.html",
            caption="../report/table12.rst",
            category="6 Tables 1-3",
            labels={"table": "Table 2 (γ 0.09-0.01)", "protocol": "{protocol}"},
        ),
        table3=report(
            f"{REPORT}/{{protocol}}/table3.html",
            caption="../report/table3.rst",
            category="6 Tables 1-3",
            labels={"table": "Table 3", "protocol": "{protocol}"},
        ),
        cells=report(
            f"{REPORT}/{{protocol}}/check_cells.html",
            caption="../report/check_cells.rst",
            category="7 Check against the paper",
            labels={"table": "cells: ours vs published", "protocol": "{protocol}"},
        ),
        check_table3=report(
            f"{REPORT}/{{protocol}}/check_table3.html",
            caption="../report/check_table3.rst",
            category="7 Check against the paper",
            labels={"table": "Table 3: ours vs published", "protocol": "{protocol}"},
        ),
        claims=report(
            f"{REPORT}/{{protocol}}/check_claims.html",
            caption="../report/check_claims.rst",
            category="7 Check against the paper",
            labels={"table": "claims: every comparison", "protocol": "{protocol}"},
        ),
        verdicts=report(
            f"{REPORT}/{{protocol}}/check_verdicts.html",
            caption="../report/check_verdicts.rst",
            category="7 Check against the paper",
            labels={"table": "claims: verdicts", "protocol": "{protocol}"},
        ),
        equivalence=report(
            f"{REPORT}/{{protocol}}/check_equivalence.html",
            caption="../report/check_equivalence.rst",
            category="7 Check against the paper",
            labels={"table": "AVA2 vs AVA1, AVA4 vs AVA3", "protocol": "{protocol}"},
        ),
    log:
        f"{RESULTS}/{{protocol}}/logs/report_tables.log",
    benchmark:
        f"{RESULTS}/{{protocol}}/benchmarks/report_tables.tsv"
    priority: AFTER_TRAINING + 1
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        pages="protocol",
    script:
        "../scripts/report_tables.py"


rule report_compare_table:
    input:
        table=f"{RESULTS}/compare/compare.csv",
    output:
        table=report(
            f"{REPORT}/compare.html",
            caption="../report/compare_table.rst",
            category="8 Author vs paper",
            labels={"item": "table: every cell, both protocols"},
        ),
    log:
        f"{RESULTS}/logs/report_compare_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/report_compare_table.tsv"
    priority: AFTER_TRAINING
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        pages="compare",
    script:
        "../scripts/report_tables.py"


rule samples_grid:
    input:
        manifest=rules.prepare_data.output.manifest,
        records=lambda wildcards: cell_records(wildcards.protocol),
        strips=lambda wildcards: [
            record.removesuffix(".json") + ".png"
            for record in cell_records(wildcards.protocol)
        ],
    output:
        grid=report(
            f"{RESULTS}/{{protocol}}/samples_grid.png",
            caption="../report/samples_grid.rst",
            category="4 Sample grids",
            labels={"protocol": "{protocol}"},
        ),
    log:
        f"{RESULTS}/{{protocol}}/logs/samples_grid.log",
    benchmark:
        f"{RESULTS}/{{protocol}}/benchmarks/samples_grid.tsv"
    priority: AFTER_TRAINING
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=MODELS,
        title=lambda wildcards: (
            f"Generated samples, protocol {wildcards.protocol}: the first generation of"
            " each cell for the first frame (BM = mean over seeds)"
        ),
    script:
        "../scripts/samples_grid.py"


rule benchmarks_summary:
    input:
        paths.benchmark_files(RESULTS, PROTOCOLS, MODELS),
    output:
        csv=f"{RESULTS}/benchmarks_summary.csv",
        html=report(
            f"{REPORT}/benchmarks_summary.html",
            caption="../report/benchmarks.rst",
            category="9 Run statistics",
        ),
    log:
        f"{RESULTS}/logs/benchmarks_summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/benchmarks_summary.tsv"
    priority: AFTER_TRAINING
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/benchmarks_summary.py"


rule report_summary:
    input:
        **paths.summary_inputs(RESULTS, PROTOCOLS),
    output:
        rst=f"{REPORT}/reproducibility_summary.rst",
        md=f"{REPORT}/reproducibility_summary.md",
        html=report(
            f"{REPORT}/reproducibility_summary.html",
            caption="../report/summary.rst",
            category="1 Summary",
        ),
    log:
        f"{RESULTS}/logs/report_summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/report_summary.tsv"
    priority: AFTER_TRAINING
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        dataset=DATASET,
        protocols=PROTOCOLS,
    script:
        "../scripts/report_summary.py"
