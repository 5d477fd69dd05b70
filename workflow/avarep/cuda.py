"""Whether torch would find a CUDA device here, and which, answered without importing torch.

The workflow checks ``device=cuda`` when it parses the Snakefile, so that a machine without
a GPU fails before any job, and its onstart handler names the GPUs in run.json. Importing
torch for that took 4-5 s on the GPU machine this was measured on, every run, before the
first job could start. Two cheap facts answer almost
every case: a CPU build of torch says so in its ``version.py``, and the CUDA driver
(``libcuda``, through ctypes) counts the devices it can see (``CUDA_VISIBLE_DEVICES``
included). Where neither settles it (a ROCm build, a driver that cannot be loaded), torch
itself is asked.
"""

from __future__ import annotations

import ctypes
import importlib.util
import re
from pathlib import Path


def torch_build_has_cuda() -> bool | None:
    """From torch's version.py: True (a CUDA build), False (a CPU build), None (unknown,
    a ROCm build, or no torch)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        text = (Path(next(iter(spec.submodule_search_locations))) / "version.py").read_text()
    except OSError:
        return None
    cuda = re.search(r"^cuda\b[^=]*=\s*(.+)$", text, re.M)
    hip = re.search(r"^hip\b[^=]*=\s*(.+)$", text, re.M)
    if cuda is None or (hip is not None and hip.group(1).strip() != "None"):
        return None
    return cuda.group(1).strip() != "None"


#: cuInit's answer on a machine with a driver but no device (or none visible).
CUDA_ERROR_NO_DEVICE = 100


def _driver_and_count():
    """libcuda, loaded and initialised, and how many devices it sees; (None, None) where it
    cannot be loaded or started."""
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None, None
    status = driver.cuInit(0)
    if status == CUDA_ERROR_NO_DEVICE:
        return driver, 0
    count = ctypes.c_int(0)
    if status != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return None, None
    return driver, count.value


def driver_device_count() -> int | None:
    """Devices the CUDA driver sees, or None where the driver cannot be loaded or started."""
    return _driver_and_count()[1]


def driver_device_names() -> list[str] | None:
    """The names of the devices the CUDA driver sees (the names torch reports for them), or
    None where the driver cannot be loaded, started or asked."""
    driver, count = _driver_and_count()
    if driver is None:
        return None
    names = []
    for ordinal in range(count):
        device = ctypes.c_int(0)  # CUdevice is an int
        name = ctypes.create_string_buffer(256)
        if (driver.cuDeviceGet(ctypes.byref(device), ordinal) != 0
                or driver.cuDeviceGetName(name, len(name), device) != 0):
            return None
        names.append(name.value.decode(errors="replace"))
    return names


def device_names(ask_torch=None) -> list[str]:
    """The CUDA devices of this machine, by name, for a CUDA build of torch (none for a CPU
    build), without importing torch where the cheap facts settle it; ``ask_torch`` (default:
    import torch and list its devices' names) returns the list otherwise. The driver may list
    a device that this build of torch cannot use (a driver older than the build)."""
    build = torch_build_has_cuda()
    if build is False:
        return []
    names = driver_device_names() if build is True else None
    if names is not None:
        return names
    if ask_torch is None:
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return ask_torch()


def available(ask_torch=None) -> bool:
    """Whether torch would find a CUDA device; ``ask_torch`` (default: import torch and ask
    it) returns that bool, asked only where the cheap facts do not settle it."""
    build = torch_build_has_cuda()
    if build is False:
        return False
    if build is True and driver_device_count():
        return True
    if ask_torch is None:
        import torch

        return torch.cuda.is_available()
    return ask_torch()
