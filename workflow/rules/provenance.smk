# Provenance: every job learns the resolved config's hash and the Snakemake version (cell
# records carry them), and every run that executes jobs writes results/<dataset>/run.json.
# Environment variables, not params: params would retrain every cell when any config key or
# the Snakemake version changed, although neither alters a cell's numbers.

import os

from snakemake import __version__ as SNAKEMAKE_VERSION

from avarep import atomic, provenance, scheduler_timers

os.environ[provenance.CONFIG_HASH_ENV] = provenance.config_sha256(config)
os.environ[provenance.SNAKEMAKE_VERSION_ENV] = SNAKEMAKE_VERSION
RUN_JSON = f"{RESULTS}/run.json"
RUN = {}  # the run record between onstart and onsuccess/onerror


# The one onstart handler of the workflow (Snakemake keeps only the last one defined).
onstart:
    record_run_config()  # results/last_run.json, what `snakemake --report` reuses
    RUN.update(
        provenance.run_record(
            config,
            started=provenance.now(),
            snakemake_version=SNAKEMAKE_VERSION,
            planned_jobs=provenance.job_counts(workflow.dag.needrun_jobs()),
            targets=provenance.dag_targets(workflow.dag),
        )
    )
    atomic.write_json(RUN_JSON, RUN)


onsuccess:
    try:
        atomic.write_json(
            RUN_JSON, provenance.finished_record(RUN, "success", workflow.dag)
        )
    finally:
        scheduler_timers.cancel_scheduler_timers()  # else the process lingers up to 1 s


onerror:
    try:
        atomic.write_json(
            RUN_JSON, provenance.finished_record(RUN, "failed", workflow.dag)
        )
    finally:
        scheduler_timers.cancel_scheduler_timers()


localrules:
    outcome,
    checklist,


rule outcome:
    input:
        [
            f"{RESULTS}/{protocol}/check/{name}"
            for protocol in PROTOCOLS
            for name in ("verdicts.csv", "claims.csv", "cells.csv", "table3.csv")
        ],
    output:
        f"{RESULTS}/outcome.json",
    log:
        f"{RESULTS}/logs/outcome.log",
    benchmark:
        f"{RESULTS}/benchmarks/outcome.tsv"
    priority: AFTER_TRAINING + 1
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        script=f"{SCRIPTS}/outcome.py",
        dataset=DATASET,
        checks=[f"{p}={RESULTS}/{p}/check" for p in PROTOCOLS],
        run_json=RUN_JSON,
    shell:
        "python {params.script:q} --dataset {params.dataset:q} --check {params.checks:q}"
        " --run-json {params.run_json:q} --out {output:q} > {log:q} 2>&1"


rule checklist:
    input:
        manifest=rules.prepare_data.output.manifest,
        records=[cell_records(protocol) for protocol in PROTOCOLS],
    output:
        md=f"{RESULTS}/report/checklist.md",
        html=report(
            f"{RESULTS}/report/checklist.html",
            caption="../report/checklist.rst",
            category="10 Reproducibility checklist",
        ),
    log:
        f"{RESULTS}/logs/checklist.log",
    benchmark:
        f"{RESULTS}/benchmarks/checklist.tsv"
    priority: AFTER_TRAINING
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        script=f"{SCRIPTS}/checklist.py",
        dataset=DATASET,
        models=MODELS,
        records=[
            f"{protocol}=" + ",".join(cell_records(protocol)) for protocol in PROTOCOLS
        ],
        run_json=RUN_JSON,
    shell:
        "python {params.script:q} --dataset {params.dataset:q} --manifest {input.manifest:q}"
        " --models {params.models:q} --records {params.records:q}"
        " --run-json {params.run_json:q} --md {output.md:q} --html {output.html:q} > {log:q} 2>&1"


PROVENANCE_OUTPUTS = [
    f"{RESULTS}/outcome.json",
    f"{RESULTS}/report/checklist.md",
    f"{RESULTS}/report/checklist.html",
]
