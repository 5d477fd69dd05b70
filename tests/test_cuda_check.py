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
