# The robustness study of the paper protocol's open choices (avarep.robustness):
#   snakemake --cores 4 robustness   the paper grid under each alternative, `robustness_seeds`


localrules:
    robustness,
    robustness_study,


rule robustness:
    input:
        expand(f"{RESULTS}/robustness/robustness.{{ext}}", ext=["csv", "md", "png"]),
        # Named so that a quarantined (corrupt) cell record is retrained by this target too.
        [cell_records(run) for run in [ROBUSTNESS_PROTOCOL, *ROBUSTNESS_RUNS]],


rule robustness_study:
    input:
        runs=expand(
            f"{RESULTS}/{{run}}/bm.csv", run=[ROBUSTNESS_PROTOCOL, *ROBUSTNESS_RUNS]
        ),
    output:
        table=report(
            f"{RESULTS}/robustness/robustness.csv",
            caption="../report/robustness.rst",
            category="Robustness study",
        ),
        markdown=f"{RESULTS}/robustness/robustness.md",
        figure=report(
            f"{RESULTS}/robustness/robustness.png",
            caption="../report/robustness.rst",
            category="Robustness study",
        ),
    log:
        f"{RESULTS}/logs/robustness_study.log",
    benchmark:
        f"{RESULTS}/benchmarks/robustness_study.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        script=f"{SCRIPTS}/study.py",
        runs=expand(f"{RESULTS}/{{run}}", run=[ROBUSTNESS_PROTOCOL, *ROBUSTNESS_RUNS]),
        outdir=lambda wildcards, output: Path(output.table).parent,
        seeds=config["robustness_seeds"],
    shell:
        "python {params.script:q} robustness --runs {params.runs:q} --seeds {params.seeds}"
        " --out {params.outdir:q} > {log:q} 2>&1"
