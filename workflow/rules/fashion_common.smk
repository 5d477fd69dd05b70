# The Fashion-MNIST study's settings and helpers (its rules are in fashion.smk).

import json as _json

# The design module, not the models: parsing the workflow must not import torch.
from avarep import fashion_design as _fm
from avarep.fashion_design import NO_LR as _NO_LR

FASHION = "results/fashion-mnist"
FASHION_BUDGET = {
    "epochs": config["fashion_epochs"],
    "train_images": config["fashion_train_images"],
    "batch": config["fashion_batch"],
    "lrs_paper": config["fashion_lrs_paper"],
    "lrs_adam": config["fashion_lrs_adam"],
    "samples": config["fashion_samples"],
    "dtype": "float32",
    "device": config["device"],
}


def fashion_lrs(model):
    if model in _fm.PAPER_MODELS:
        return [lr_label(lr) for lr in config["fashion_lrs_paper"]]
    if model in _fm.STANDARD_MODELS:
        return [lr_label(lr) for lr in config["fashion_lrs_adam"]]
    return [_NO_LR]


FASHION_RECORDS = [
    f"{FASHION}/runs/{model}/lr{lr}.json"
    for model in _fm.ALL_MODELS
    for lr in fashion_lrs(model)
]


def fashion_dir():
    """The data folder, checked only when a Fashion-MNIST job is scheduled."""
    from avarep.fmnist import FashionDataError, find_dir

    try:
        return str(find_dir(config["fashion_mnist_dir"]))
    except FashionDataError as error:
        raise WorkflowError(str(error)) from None


def fashion_quarantine():
    """A truncated or edited run record is moved aside and its job re-run (main process)."""
    records = sorted(Path(FASHION).glob("runs/*/lr*.json"))
    if not workflow.is_main_process or not records:
        return  # no study run yet: do not import avarep.fashion (torch, seconds) for nothing
    from avarep.cell import CorruptRecord
    from avarep.fashion import read_run_record

    for path in records:
        try:
            read_run_record(path)
        except (CorruptRecord, KeyError, TypeError) as error:
            path.replace(path.with_name(f"{path.name}.corrupt"))
            print(f"WARNING: {error}; moved aside, the job is re-run", file=sys.stderr)


fashion_quarantine()
