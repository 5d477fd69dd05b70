# Cells: one job per (protocol, model, learning rate), training every configured seed.


rule train_cell:
    input:
        manifest=rules.prepare_data.output.manifest,
    output:
        record=f"{RESULTS}/{{protocol}}/cells/{{model}}/lr{{lr}}.json",
        strip=report(
            f"{RESULTS}/{{protocol}}/cells/{{model}}/lr{{lr}}.png",
            caption="../report/cell_strip.rst",
            category="5 Generated images per cell",
            subcategory="{protocol}",
            labels={"model": "{model}", "γ": "{lr}", "protocol": "{protocol}"},
        ),
    log:
        f"{RESULTS}/{{protocol}}/logs/cells/{{model}}_lr{{lr}}.log",
    benchmark:
        f"{RESULTS}/{{protocol}}/benchmarks/cells/{{model}}_lr{{lr}}.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda wildcards, attempt: 10 * attempt,
        gpu=lambda wildcards: (
            1 if cell_device(wildcards.protocol).startswith("cuda") else 0
        ),
    params:
        script=f"{SCRIPTS}/train_cell.py",
        seeds=lambda wildcards: " ".join(map(str, run_seeds(wildcards.protocol))),
        protocol=lambda wildcards: run_protocol(wildcards.protocol),
        options=lambda wildcards: protocol_options(wildcards.protocol),
        dataset=DATASET,
    shell:
        # Pin every BLAS/OpenMP pool to the job's threads: no oversubscription under --cores N.
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads}"
        " python {params.script:q} --manifest {input.manifest:q}"
        " --dataset {params.dataset:q} --protocol {params.protocol}"
        " --model {wildcards.model} --lr {wildcards.lr} --seeds {params.seeds}"
        " --options {params.options:q} --threads {threads}"
        " --record {output.record:q} --strip {output.strip:q} > {log:q} 2>&1"
        # On failure the error (a full disk, a missing image) reaches the terminal, not only the log.
        " || {{ status=$?; tail -n 3 {log:q} >&2; exit $status; }}"
