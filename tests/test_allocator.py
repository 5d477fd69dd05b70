"""The training jobs' allocator setting (avarep.allocator): freed memory is reused.

Measured by page faults, not time. A 16 MB and a 64 MB tensor (a wide weight matrix and a
cell's generated images, roughly) are allocated and freed 40 times: by default the last
rounds fault every page in anew (20480 pages of 4 kB a round); once the setting is on they
fault none, and the process's peak memory stays bounded (the heap grows while freed blocks
are not yet large enough to be reused: 682 MB against 442 MB when measured). Each case runs
in a fresh interpreter, so that pytest's own allocator is left alone.
"""

import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

PROBE = textwrap.dedent("""
    import resource, sys
    import torch
    sys.path.insert(0, sys.argv[2])
    from avarep import allocator
    if sys.argv[1] == "keep":
        print(allocator.keep_freed_memory(), file=sys.stderr)
    faults = []
    for _ in range(40):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        weights, images = torch.ones(2**21, dtype=torch.float64), torch.ones(2**23, dtype=torch.float64)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        del weights, images
    print(sum(faults[-10:]), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
""")


def last_rounds(mode):
    """(page faults of the last 10 rounds, peak resident MB, what the setting said)."""
    done = subprocess.run([sys.executable, "-c", PROBE, mode, str(REPO / "workflow")],
                          capture_output=True, text=True, check=True)
    faults, peak = map(int, done.stdout.split())
    return faults, peak, done.stderr.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc setting")
def test_freed_memory_is_reused_once_the_setting_is_on():
    default_faults, default_peak, _ = last_rounds("default")
    kept_faults, kept_peak, said = last_rounds("keep")
    assert said.startswith("allocator: freed memory kept"), said
    assert default_faults > 10 * 16_000
    assert kept_faults < 1_000
    assert kept_peak < default_peak + 1024


def test_every_training_entry_point_applies_the_setting():
    """train_cells (the grid's jobs), fashion (the study's jobs) and the benchmark."""
    for script in ("train_cells.py", "fashion.py", "benchmark.py"):
        text = (REPO / "workflow" / "scripts" / script).read_text()
        assert "allocator.keep_freed_memory()" in text, script
