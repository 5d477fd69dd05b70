# Studies beyond the main grid, each a named target:
#   snakemake --cores 4 fidelity   every reading of the author's code (spec 5.6), `seeds` seeds
#   snakemake --cores 4 verdicts   the main grid with `verdict_seeds` seeds, for the claims


localrules:
    fidelity,
    fidelity_table_page,
    readme,
    readme_fidelity,
    verdicts,
    fidelity_study,
    verdict_study,


rule fidelity:
    input:
        expand(
            f"{RESULTS}/fidelity/fidelity.{{ext}}",
            ext=["csv", "md", "png"],
        ),
        f"{RESULTS}/report/fidelity.html",
        # Named so that a quarantined (corrupt) cell record is retrained by this target too.
        [cell_records(run) for run in FIDELITY_RUNS],


rule verdicts:
    input:
        f"{RESULTS}/verdicts/summary.md",
        [cell_records(run) for run in VERDICT_RUNS],


rule fidelity_study:
    input:
        checks=expand(
            f"{RESULTS}/{{run}}/check/{{name}}",
            run=FIDELITY_RUNS,
            name=["cells.csv", "table3.csv"],
        ),
        seeds=expand(f"{RESULTS}/{{run}}/bm.csv", run=FIDELITY_RUNS),
    output:
        table=report(
            f"{RESULTS}/fidelity/fidelity.csv",
            caption="../report/fidelity.rst",
            category="Fidelity study",
        ),
        markdown=f"{RESULTS}/fidelity/fidelity.md",
        figure=report(
            f"{RESULTS}/fidelity/fidelity.png",
            caption="../report/fidelity.rst",
            category="Fidelity study",
        ),
        coverage=f"{RESULTS}/fidelity/coverage.csv",
        residuals=f"{RESULTS}/fidelity/spread.csv",
        twins=f"{RESULTS}/fidelity/twins.csv",
        residual_figure=report(
            f"{RESULTS}/fidelity/residuals.png",
            caption="../report/fidelity_spread.rst",
            category="Fidelity study",
        ),
    log:
        f"{RESULTS}/logs/fidelity_study.log",
    benchmark:
        f"{RESULTS}/benchmarks/fidelity_study.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/study.py",
        checks=expand(f"{RESULTS}/{{run}}/check", run=FIDELITY_RUNS),
        outdir=lambda wildcards, output: Path(output.table).parent,
    shell:
        "python {params.script:q} fidelity --checks {params.checks:q}"
        " --out {params.outdir:q} > {log:q} 2>&1"


rule verdict_study:
    input:
        checks=expand(
            f"{RESULTS}/{{run}}/check/{{name}}",
            run=VERDICT_RUNS,
            name=["verdicts.csv", "claims.csv", "equivalence.csv", "sensitivity.csv"],
        ),
    output:
        summary=report(
            f"{RESULTS}/verdicts/summary.md",
            caption="../report/verdicts.rst",
            category="Verdict study",
        ),
    log:
        f"{RESULTS}/logs/verdict_study.log",
    benchmark:
        f"{RESULTS}/benchmarks/verdict_study.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/study.py",
        checks=expand(f"{RESULTS}/{{run}}/check", run=VERDICT_RUNS),
        seeds=config["verdict_seeds"],
    shell:
        "python {params.script:q} verdicts --checks {params.checks:q} --seeds {params.seeds}"
        " --out {output.summary:q} > {log:q} 2>&1"


rule fidelity_table_page:
    input:
        table=f"{RESULTS}/fidelity/fidelity.csv",
    output:
        table=report(
            f"{RESULTS}/report/fidelity.html",
            caption="../report/fidelity.rst",
            category="Fidelity study",
            labels={"item": "table: every reading and model"},
        ),
    log:
        f"{RESULTS}/logs/fidelity_table_page.log",
    benchmark:
        f"{RESULTS}/benchmarks/fidelity_table_page.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        pages="fidelity",
    script:
        "../scripts/report_tables.py"


# The README's figures, copied over the committed ones in results/readme/ (tracked files):
#   snakemake --cores 4 readme            Figure 5 and the comparison: the main grid only
#   snakemake --cores 4 readme_fidelity   the fidelity figure: needs the fidelity study
#                                         (7 readings x 133 cells), trained if absent
rule readme:
    input:
        figure5=f"{RESULTS}/author/figure5.png",
        compare=f"{RESULTS}/compare/compare.png",
        stability=f"{RESULTS}/paper/figures/stability.png",
    output:
        figure5="results/readme/figure5.png",
        compare="results/readme/compare.png",
        stability="results/readme/stability.png",
    log:
        "results/readme/readme.log",
    benchmark:
        f"{RESULTS}/benchmarks/readme.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "(cp {input.figure5:q} {output.figure5:q} && cp {input.compare:q} {output.compare:q}"
        " && cp {input.stability:q} {output.stability:q}) > {log:q} 2>&1"


rule readme_fidelity:
    input:
        fidelity=f"{RESULTS}/fidelity/fidelity.png",
        spread=f"{RESULTS}/fidelity/residuals.png",
    output:
        fidelity="results/readme/fidelity.png",
        spread="results/readme/fidelity_spread.png",
    log:
        "results/readme/readme_fidelity.log",
    benchmark:
        f"{RESULTS}/benchmarks/readme_fidelity.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "(cp {input.fidelity:q} {output.fidelity:q} && cp {input.spread:q} {output.spread:q})"
        " > {log:q} 2>&1"
