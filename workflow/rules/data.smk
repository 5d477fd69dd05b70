# Data: download and verify (or read, or synthesise) the images once, before any training.


localrules:
    prepare_data,


rule prepare_data:
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
        dataset=DATASET,
        # What the images are, not where they come from: switching between a local copy and
        # the download with the same bytes retrains nothing; editing an image re-runs all.
        source_sha256=lambda wildcards: images_sha256(),
    script:
        "../scripts/prepare_data.py"
