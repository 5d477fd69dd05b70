# Reference replication of Nguyen's "Adversarial Variational Autoencoders" (ICBDC 2024).
# One way through: data -> cells -> aggregation -> check. The rules live in workflow/rules/.


import os

from snakemake.utils import min_version

min_version("9.0")


# The repository's config.yaml, wherever --directory points; override with --config.
configfile: os.path.join(workflow.basedir, "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/cells.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/check.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/studies.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/fashion_common.smk"
include: "workflow/rules/fashion.smk"
include: "workflow/rules/provenance.smk"


# The report's front page: the reproducibility summary of this run (`snakemake --report`).
report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        final_outputs(),
        REPORT_OUTPUTS,
        PROVENANCE_OUTPUTS,
