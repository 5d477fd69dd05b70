# Data: download and verify (or read, or synthesise) the images once, before any training.


localrules:
    prepare_data,


rule prepare_data:
    input:
        local_pngs(),
    output:
        manifest=f"{RESULTS}/manifest.json",
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    conda:
        "../../envs/ava.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        script=f"{SCRIPTS}/prepare_data.py",
        dataset=DATASET,
        data_dir=f"--data-dir {config['data_dir']}" if config.get("data_dir") else "",
        base_url=(
            f"--base-url {config['download_base_url']}"
            if config.get("download_base_url")
            else ""
        ),
    shell:
        # Tee to the terminal as well: a data error must be seen, not buried in a log.
        "python {params.script} --dataset {params.dataset}"
        " {params.data_dir} {params.base_url} --manifest {output.manifest}"
        " 2>&1 | tee {log}"
