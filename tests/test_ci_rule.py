"""Under CI (CI=true) a test that needs ../shared/data fails when the frames are absent;
elsewhere it is skipped with the reason. Runs two real-data tests in a child pytest with the
data folder pointed at a place that does not exist."""

import os
import subprocess
import sys

from conftest import REPO

# One skipped by a skipif marker, one by the orbit_images fixture.
REAL_DATA_TESTS = [
    "tests/test_data.py::test_source_sha256_of_the_download_is_the_local_copy_s",
    "tests/test_cell.py::test_non_finite_generated_images_mark_the_seed_diverged",
]


def child_pytest(tmp_path, ci):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["AVAREP_SHARED_DATA"] = str(tmp_path / "no data here")
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *REAL_DATA_TESTS],
        cwd=REPO, env=env, capture_output=True, text=True,
    )


def test_without_ci_missing_frames_skip(tmp_path):
    done = child_pytest(tmp_path, ci=False)
    assert done.returncode == 0, done.stdout
    assert "2 skipped" in done.stdout


def test_under_ci_missing_frames_fail(tmp_path):
    done = child_pytest(tmp_path, ci=True)
    assert done.returncode == 1, done.stdout
    assert "2 errors" in done.stdout  # the skip happens while setting the test up
    assert "CI=true, but this test needs the paper's frames and was skipped" in done.stdout
