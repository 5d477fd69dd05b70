"""avarep.cuda: whether torch would find a CUDA device, without importing torch (the
workflow's parse-time check of ``device=cuda``)."""

import importlib.util
from types import SimpleNamespace

import pytest
import torch

from avarep import cuda


def fake_torch(monkeypatch, tmp_path, version_text):
    (tmp_path / "version.py").write_text(version_text)
    spec = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "torch" else None)


@pytest.mark.parametrize("text, expected", [
    ("__version__ = '2.13.0+cpu'\ncuda: Optional[str] = None\nhip: Optional[str] = None\n", False),
    ("__version__ = '2.11.0+cu130'\ncuda: Optional[str] = '13.0'\nhip: Optional[str] = None\n", True),
    ("cuda = None\nhip = '6.2.41133'\n", None),  # ROCm: torch.cuda is HIP, ask torch
    ("__version__ = '9.9'\n", None),  # a layout we do not know: ask torch
])
def test_the_build_is_read_from_torchs_version_file(monkeypatch, tmp_path, text, expected):
    fake_torch(monkeypatch, tmp_path, text)
    assert cuda.torch_build_has_cuda() is expected


def test_a_cpu_build_is_answered_without_asking_torch(monkeypatch, tmp_path):
    fake_torch(monkeypatch, tmp_path, "cuda: Optional[str] = None\nhip: Optional[str] = None\n")
    assert cuda.available(ask_torch=lambda: pytest.fail("torch was asked")) is False


@pytest.mark.parametrize("devices, asked", [(2, False), (0, True), (None, True)])
def test_a_cuda_build_trusts_the_driver_only_when_it_sees_a_device(monkeypatch, tmp_path, devices, asked):
    fake_torch(monkeypatch, tmp_path, "cuda: Optional[str] = '13.0'\nhip: Optional[str] = None\n")
    monkeypatch.setattr(cuda, "driver_device_count", lambda: devices)
    questions = []
    answer = cuda.available(ask_torch=lambda: questions.append(1) or False)
    assert answer is (not asked) and bool(questions) is asked


def test_on_this_machine_it_agrees_with_torch():
    assert cuda.available() == torch.cuda.is_available()
    if not torch.cuda.is_available():
        assert cuda.driver_device_count() in (None, 0)


class FakeDriver:
    """libcuda's four calls as avarep.cuda makes them (ctypes arguments), over given names."""

    def __init__(self, names, failing=()):
        self.names, self.failing = names, failing

    def cuInit(self, flags):
        if "cuInit" in self.failing:
            return 999  # CUDA_ERROR_UNKNOWN
        return 0 if self.names else 100  # CUDA_ERROR_NO_DEVICE: a driver, no device

    def cuDeviceGetCount(self, count):
        count._obj.value = len(self.names)
        return 0

    def cuDeviceGet(self, device, ordinal):
        device._obj.value = 70 + ordinal  # a handle, not the ordinal
        return 0

    def cuDeviceGetName(self, buffer, length, device):
        if "cuDeviceGetName" in self.failing:
            return 1
        buffer.value = self.names[device.value - 70].encode()[: length - 1]
        return 0


def with_driver(monkeypatch, driver):
    def load(name):
        if driver is None:
            raise OSError(f"{name}: cannot open shared object file")
        return driver
    monkeypatch.setattr(cuda.ctypes, "CDLL", load)


def test_the_driver_names_each_device_it_sees(monkeypatch):
    with_driver(monkeypatch, FakeDriver(["NVIDIA H200", "NVIDIA A100-SXM4-80GB"]))
    assert cuda.driver_device_count() == 2
    assert cuda.driver_device_names() == ["NVIDIA H200", "NVIDIA A100-SXM4-80GB"]


def test_a_driver_without_a_device_sees_none_rather_than_failing(monkeypatch):
    with_driver(monkeypatch, FakeDriver([]))
    assert cuda.driver_device_count() == 0 and cuda.driver_device_names() == []


@pytest.mark.parametrize("driver", [None, FakeDriver(["x"], failing=("cuInit",)),
                                    FakeDriver(["x"], failing=("cuDeviceGetName",))])
def test_a_driver_that_cannot_be_loaded_started_or_asked_names_nothing(monkeypatch, driver):
    with_driver(monkeypatch, driver)
    assert cuda.driver_device_names() is None


@pytest.mark.parametrize("version, driver_names, expected, asked", [
    ("cuda: Optional[str] = None\nhip: Optional[str] = None\n", ["NVIDIA H200"], [], False),
    ("cuda: Optional[str] = '13.0'\nhip: Optional[str] = None\n", ["NVIDIA H200"], ["NVIDIA H200"], False),
    ("cuda: Optional[str] = '13.0'\nhip: Optional[str] = None\n", None, ["torch's"], True),
    ("cuda: Optional[str] = '13.0'\nhip: Optional[str] = None\n", [], [], False),
    ("cuda = None\nhip = '6.2.41133'\n", ["NVIDIA H200"], ["torch's"], True),  # ROCm
])
def test_device_names_ask_torch_only_where_the_cheap_facts_do_not_settle_it(
        monkeypatch, tmp_path, version, driver_names, expected, asked):
    fake_torch(monkeypatch, tmp_path, version)
    monkeypatch.setattr(cuda, "driver_device_names", lambda: driver_names)
    questions = []
    names = cuda.device_names(ask_torch=lambda: questions.append(1) or ["torch's"])
    assert names == expected and bool(questions) is asked


def test_on_this_machine_the_device_names_are_torchs():
    assert cuda.device_names() == [torch.cuda.get_device_name(i)
                                   for i in range(torch.cuda.device_count())]
