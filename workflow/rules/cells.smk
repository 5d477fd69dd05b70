# Cells: one job per (protocol, model) trains every configured learning rate x seed. A job
# per cell paid the interpreter's start-up (2.5 s with torch) 19 times as often; the records
# stay one file per cell, each written as soon as its cell is done. On a GPU the job's seeds
# train stacked (avarep.cell.run_cells).


rule train_cells:
    input:
        manifest=rules.prepare_data.output.manifest,
    output:
        records=paths.model_cell_files(RESULTS, LRS, "json"),
        strips=[
            report(
                path,
                caption="../report/cell_strip.rst",
                category="5 Generated images per cell",
                subcategory="{protocol}",
                labels={"model": "{model}", "γ": lr, "protocol": "{protocol}"},
            )
            for lr, path in zip(LRS, paths.model_cell_files(RESULTS, LRS, "png"))
        ],
    log:
        f"{RESULTS}/{{protocol}}/logs/cells/{{model}}.log",
    benchmark:
        f"{RESULTS}/{{protocol}}/benchmarks/cells/{{model}}.tsv"
    priority: training_priority
    conda:
        "../../envs/ava.yaml"
    # On a GPU a job's CPU work is drawing its seeds' initial weights (paper.train_stack), in
    # two threads; seven jobs then fill 14 cores.
    threads: lambda wildcards: 2 if cell_device(wildcards.protocol).startswith("cuda") else 1
    resources:
        mem_mb=2000,
        # minutes: a model's 19 cells take about 1.5 min on one CPU core in the paper protocol
        runtime=lambda wildcards, attempt: 30 * attempt,
        gpu=lambda wildcards: (
            1 if cell_device(wildcards.protocol).startswith("cuda") else 0
        ),
    params:
        script=f"{SCRIPTS}/train_cells.py",
        lrs=" ".join(LRS),
        seeds=lambda wildcards: " ".join(map(str, run_seeds(wildcards.protocol))),
        protocol=lambda wildcards: run_protocol(wildcards.protocol),
        options=lambda wildcards: protocol_options(wildcards.protocol),
        dataset=DATASET,
    shell:
        # Pin every BLAS/OpenMP pool to the job's threads: no oversubscription under --cores N.
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads}"
        " python {params.script:q} --manifest {input.manifest:q}"
        " --dataset {params.dataset:q} --protocol {params.protocol}"
        " --model {wildcards.model} --lrs {params.lrs} --seeds {params.seeds}"
        " --options {params.options:q} --threads {threads}"
        " --records {output.records:q} --strips {output.strips:q} > {log:q} 2>&1"
        # On failure the error (a full disk, a missing image) reaches the terminal, not only the log.
        " || {{ status=$?; tail -n 3 {log:q} >&2; exit $status; }}"
