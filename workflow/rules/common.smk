# Configuration, validated before anything runs, and the path helpers every rule uses.

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from avarep import paths, protocols
from avarep.config import ConfigError, coerce_command_line, validate, validate_keys
from avarep.limits import paper_products_per_step
from avarep.readings import PROTOCOL as FIDELITY_PROTOCOL
from avarep.readings import READINGS
from avarep.readings import options as reading_options
from avarep.robustness import ALTERNATIVES
from avarep.robustness import PROTOCOL as ROBUSTNESS_PROTOCOL
from avarep.robustness import options as alternative_options
from avarep.sweep import LR_LABEL_PATTERN, lr_label

# `snakemake --report` builds the report of the last run: its settings are recorded when a run
# starts (results/last_run.json) and used when the report is asked for without --config.
RUN_RECORD = Path("results/last_run.json")


def report_invocation():
    return any(arg == "--report" or arg.startswith("--report=") for arg in sys.argv)


def last_run_config():
    settings = workflow.config_settings
    if not report_invocation() or settings.config or settings.configfiles:
        return {}
    if not RUN_RECORD.is_file():
        return {}
    recorded = json.loads(RUN_RECORD.read_text())
    print(
        "report: using the settings of the last run, recorded in"
        f" {RUN_RECORD}: {recorded['command_line'] or '(the defaults)'}",
        file=sys.stderr,
    )
    return recorded["config"]


config.update(last_run_config())

try:
    config.update(
        validate(coerce_command_line(config, workflow.config_settings.config))
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None


def dataset_name():
    """A local folder's results go under results/<folder name>/."""
    if config.get("data_dir"):
        return Path(config["data_dir"]).resolve().name
    return config["dataset"]


DATASET = dataset_name()
RESULTS = f"results/{DATASET}"


def check_report_has_results():
    """A report asked for settings that were never run: say what to pass, not 266 lines of
    missing metadata."""
    if not report_invocation() or Path(RESULTS).is_dir():
        return
    runs = sorted(
        p.name for p in Path("results").glob("*") if (p / "manifest.json").is_file()
    )
    raise WorkflowError(
        f"report: nothing was run under {RESULTS}/ with these settings (results/ holds:"
        f" {', '.join(runs) or 'nothing'}). Build the report with the run's own settings:"
        " snakemake --report report.html --config <the same key=value as the run>"
    )


check_report_has_results()


def record_run_config():
    """Called when a run starts: what `snakemake --report` without --config will use."""
    from avarep import atomic
    from avarep.config import command_line_text

    schema_keys = validate_keys()
    recorded = {key: config[key] for key in schema_keys if key in config}
    atomic.write_json(
        RUN_RECORD,
        {"config": recorded, "command_line": command_line_text(recorded)},
    )


def check_results_writable():
    """An unwritable results folder stops the run with one line, not a Snakemake traceback.
    Probes the deepest folder that exists (a temporary file, removed at once)."""
    import tempfile

    from avarep.atomic import first_existing_parent

    target = Path(RESULTS)
    existing = first_existing_parent(target)
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, f"{existing} is a file, not a folder")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise WorkflowError(
            f"error: cannot write {target}: {error.strerror or error}"
        ) from None


check_results_writable()

MODELS = config["models"]
LRS = [lr_label(lr) for lr in config["learning_rates"]]
SEEDS = config["seeds"]
PROTOCOLS = config["protocols"]
# A "run" is one directory of cells under results/<dataset>/: a protocol of the main grid
# (author, paper), a reading of the fidelity study (fidelity-<reading>), or the verdict
# study's many-seed grid (verdicts-<protocol>), or an alternative of the paper protocol's
# open choices (robustness-<name>). The wildcard keeps the name `protocol`.
FIDELITY_RUNS = [f"fidelity-{reading}" for reading in READINGS]
VERDICT_RUNS = [f"verdicts-{protocol}" for protocol in PROTOCOLS]
ROBUSTNESS_RUNS = [f"robustness-{name}" for name in ALTERNATIVES]


wildcard_constraints:
    # The robustness study's baseline is its protocol's main run, configured or not.
    protocol="|".join(
        sorted(set(PROTOCOLS) | {ROBUSTNESS_PROTOCOL})
        + FIDELITY_RUNS
        + VERDICT_RUNS
        + ROBUSTNESS_RUNS
    ),
    model="|".join(MODELS),
    lr=LR_LABEL_PATTERN,


def images_sha256():
    """The combined sha256 of the images this run uses, before they are prepared."""
    from avarep.data import DataError, source_sha256

    try:
        return source_sha256(config["dataset"], config.get("data_dir"))
    except DataError as error:
        raise WorkflowError(f"data_dir: {error}") from None


def check_data_dir():
    """A missing data_dir, or one without PNGs, is reported before any job."""
    from avarep.data import DataError, png_paths

    if config.get("data_dir"):
        try:
            png_paths(config["data_dir"])
        except DataError as error:
            raise WorkflowError(f"data_dir: {error}") from None


check_data_dir()


def cell_records(protocol):
    return paths.cell_records(RESULTS, protocol, MODELS, LRS)


def run_protocol(run):
    """The protocol that trains a run's cells."""
    if run.startswith("fidelity-"):
        return FIDELITY_PROTOCOL
    if run.startswith("robustness-"):
        return ROBUSTNESS_PROTOCOL
    return run.removeprefix("verdicts-")


def run_seeds(run):
    if run.startswith("verdicts-"):
        return list(range(config["verdict_seeds"]))
    if run.startswith("robustness-"):
        return list(range(config["robustness_seeds"]))
    if run.startswith("fidelity-"):
        return list(range(config["fidelity_seeds"]))
    return SEEDS


def training_priority(wildcards):
    """Snakemake starts the ready job of highest priority first: the longest jobs first, so
    that no long job starts last and ends the run alone on one core. A job's length is its
    protocol's job_cost (a `paper` job 5 `author` jobs) times its model's products with its
    wide weight matrices per training step (avarep.limits: a `paper` AVA5 job takes about
    twice a VAE's). So every `paper` job starts before every `author` job, whose short jobs
    fill the end: when a `paper` VAE job started last, the other core idled 10 s.
    """
    cost = protocols.get(run_protocol(wildcards.protocol)).job_cost
    return cost * sum(paper_products_per_step(wildcards.model).values())


#: Above every training job's priority (at most 45, a `paper` AVA5 job): a protocol's jobs
#: after training run as soon as they are ready, while the other protocol's cells still
#: train, instead of all at the end. Among them (``AFTER_TRAINING + steps``): aggregate
#: first (everything waits for it), then check (three jobs wait for it) and figures (the
#: longest, 3-4 s), then compare and the tables' pages, and the report's leaves (sample grids,
#: checklist) last, in the gaps. Before, the 22 CPU-s of these jobs ran after the last cell,
#: often the leaves first.
AFTER_TRAINING = 1000


def cell_device(protocol):
    """The configured device, or the CPU for a CPU-only protocol (its registry entry)."""
    return protocols.device_for(run_protocol(protocol), config["device"])


def check_device():
    """Fail before any job when CUDA is asked for on a machine without it."""
    if config["device"] == "cpu" or all(protocols.get(p).cpu_only for p in PROTOCOLS):
        return
    from avarep import cuda  # answers without importing torch where it can (4-5 s)

    if not cuda.available():
        raise WorkflowError(
            f"config key 'device': {config['device']} was asked for, but torch finds no CUDA device here"
        )


check_device()


def quarantine_corrupt_records():
    """Before the DAG is built: move a truncated or edited cell record aside (<name>.corrupt),
    so that its cell is retrained instead of aggregation stopping on it, and remove its run's
    bm.csv: Snakemake does not rebuild a missing input of a job whose outputs exist, so the
    stale aggregate must go for the cell to be retrained and re-aggregated. Main process
    only: a cluster job re-parses this file and must not touch other cells' records."""
    if not workflow.is_main_process:
        return
    from avarep.cell import quarantine_corrupt

    records = sorted(
        Path(RESULTS).glob("*/cells/*/lr*.json")
    )  # every run's existing cells
    moved = quarantine_corrupt(
        records, warn=lambda message: print(message, file=sys.stderr)
    )
    for run in sorted({path.parents[2] for path in moved}):
        stale = run / "bm.csv"
        if stale.exists():
            stale.unlink()
            print(
                f"WARNING: removed {stale}, it is rebuilt from the retrained cells",
                file=sys.stderr,
            )


quarantine_corrupt_records()


def protocol_options(protocol):
    """The options of a run's cells (validated and hashed where each cell starts): the
    configuration keys its protocol's registry entry names, and the device.

    Fidelity readings carry their own fixed options, so the study never depends on config.
    """
    if protocol.startswith("fidelity-"):
        options = reading_options(protocol.removeprefix("fidelity-"))
    else:
        keys = protocols.get(run_protocol(protocol)).config_keys
        options = {key: config[key] for key in keys}
    if protocol.startswith("robustness-"):
        options.update(alternative_options(protocol.removeprefix("robustness-")))
    return json.dumps({**options, "device": cell_device(protocol)}, sort_keys=True)


def final_outputs():
    return paths.final_outputs(RESULTS, PROTOCOLS, MODELS)


# Rule entry points, by absolute path so that --directory elsewhere works.
SCRIPTS = str(Path(workflow.basedir) / "workflow" / "scripts")
