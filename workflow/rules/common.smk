# Configuration, validated before anything runs, and the path helpers every rule uses.

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from avarep.config import ConfigError, coerce_command_line, validate
from avarep.sweep import lr_label

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
MODELS = config["models"]
LRS = [lr_label(lr) for lr in config["learning_rates"]]
SEEDS = config["seeds"]
PROTOCOLS = config["protocols"]


wildcard_constraints:
    protocol="|".join(PROTOCOLS),
    model="|".join(MODELS),
    lr=r"[0-9]+\.[0-9]+(e-?[0-9]+)?",


def local_pngs():
    """The PNGs of data_dir, so that editing one re-runs the data check; [] when downloading."""
    if not config.get("data_dir"):
        return []
    folder = Path(config["data_dir"])
    if not folder.is_dir():
        raise WorkflowError(f"data_dir: {folder} does not exist or is not a folder")
    pngs = sorted(str(p) for p in folder.glob("*.png"))
    if not pngs:
        raise WorkflowError(f"data_dir: {folder} contains no .png images")
    return pngs


def cell_records(protocol):
    return expand(
        f"{RESULTS}/{protocol}/cells/{{model}}/lr{{lr}}.json", model=MODELS, lr=LRS
    )


def cell_device(protocol):
    """The author protocol is numpy on the CPU (its collapsed networks do O(P) work per step)."""
    return "cpu" if protocol == "author" else config["device"]


def check_device():
    """Fail before any job when CUDA is asked for on a machine without it."""
    if config["device"] == "cpu" or "paper" not in PROTOCOLS:
        return
    import torch

    if not torch.cuda.is_available():
        raise WorkflowError(
            f"config key 'device': {config['device']} was asked for, but torch finds no CUDA device here"
        )


check_device()


def protocol_options(protocol):
    """The protocol-specific options that the config carries (hashed into each cell)."""
    options = {"dtype": config["dtype"]}
    if protocol == "author":
        options["author_build"] = config["author_build"]
    return json.dumps(options, sort_keys=True)


def aggregate_outputs(protocol):
    base = f"{RESULTS}/{protocol}"
    return [
        f"{base}/bm.csv",
        *expand(f"{base}/table{{n}}.{{ext}}", n=[1, 2, 3], ext=["csv", "md"]),
        f"{base}/figure5.png",
        f"{base}/figure5.pdf",
        *expand(f"{base}/figures/bm_vs_lr_{{model}}.png", model=MODELS),
    ]


COMPARE_FILES = ["compare.csv", "compare.png", "summary.md"]
CHECK_FILES = ["cells.csv", "table3.csv", "claims.csv", "verdicts.csv", "summary.md"]


def final_outputs():
    outputs = []
    for protocol in PROTOCOLS:
        outputs += aggregate_outputs(protocol)
        outputs += [f"{RESULTS}/{protocol}/check/{name}" for name in CHECK_FILES]
    if len(PROTOCOLS) > 1:
        outputs += [f"{RESULTS}/compare/{name}" for name in COMPARE_FILES]
    return outputs


# Rule entry points, by absolute path so that --directory elsewhere works.
SCRIPTS = str(Path(workflow.basedir) / "workflow" / "scripts")
