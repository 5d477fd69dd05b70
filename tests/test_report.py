"""The HTML report: its pieces, and the whole page as a browser renders it.

The browser tests build `snakemake --report` on a tiny run and open it in headless Chromium;
they are skipped, with the reason, when no Chromium is installed (.ci/run installs it).
"""

import json
import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from docutils.core import publish_parts
from packaging.requirements import Requirement
from PIL import Image

from avarep import benchtable, pages, report, samplegrid
from conftest import REPO
from test_workflow import TINY, snakemake

BROWSER_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


# ------------------------------------------------------------------------- pieces


def test_the_replication_install_can_build_the_report():
    """The quick start's `pip install -e .` then `snakemake --report`: Snakemake's report
    needs the packages of its `reports` extra (pygments), which the test install only has
    because pytest needs pygments too."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    ours = next(r for r in map(Requirement, project["dependencies"]) if r.name == "snakemake")
    assert "reports" in ours.extras
    theirs = [r for r in map(Requirement, metadata.requires("snakemake"))
              if r.marker is not None and r.marker.evaluate({"extra": "reports"})]
    assert "pygments" in {r.name for r in theirs}  # the extra still names what --report imports


def test_document_renders_rst_without_docutils_errors():
    doc = report.Document("A title with |bars| and *stars*")
    doc.heading("Results")
    doc.para("mean |Δ| = **0.0017**, protocol ``author``, a_b_ [x]")
    doc.bullets(["one |x|", "two ``code``"])
    doc.table(pd.DataFrame({"lr": [0.05], "abs_delta": [0.01234], "inside": [True]}))
    parts = publish_parts(doc.rst(), writer="html",
                          settings_overrides={"report_level": 1, "halt_level": 2})
    assert "mean |Δ| = <strong>0.0017</strong>" in parts["html_body"]
    assert "0.0123" in parts["html_body"] and "yes" in parts["html_body"]
    assert "| 0.05 | 0.0123 | yes |" in doc.md()


def test_table_page_is_self_contained_with_the_csv_to_download(tmp_path):
    csv = tmp_path / "table1.csv"
    csv.write_text("table,lr,model,mean,sd,n_ok,n_diverged\n1,0.5,AVA1,0.2318,0.0003,5,0\n"
                   "1,0.5,GAN,0.2322,0.0002,5,0\n")
    page = pages.table_page(csv, "Table 1", "table12")
    assert "0.2318 ± 0.0003" in page and "data:text/csv;base64," in page
    assert "http" not in page  # nothing fetched from elsewhere
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    assert "(no rows)" in pages.table_page(empty, "Nothing")


def test_strip_tiles_are_the_top_left_and_bottom_left_frames(tmp_path):
    w, h = 5, 3
    canvas = np.full((2 * h + 2, 2 * (w + 2) - 2, 3), 255, dtype=np.uint8)
    canvas[:h, :w] = 10
    canvas[h + 2:, :w] = 200
    Image.fromarray(canvas).save(tmp_path / "strip.png")
    real, fake = samplegrid.strip_tiles(tmp_path / "strip.png", w, h)
    assert real.shape == (h, w, 3) and (real == 10).all() and (fake == 200).all()
    with pytest.raises(ValueError):
        samplegrid.strip_tiles(tmp_path / "strip.png", w, h + 1)


def test_every_cell_tile_lands_in_the_samples_grid(tmp_path):
    """Each cell's strip is a solid colour of its own (real and generated halves differ):
    every generated colour appears in the grid, large, and the real frame of each model's
    first cell; a cell not run leaves no tile."""
    w, h = 40, 24
    models, lrs = ["VAE", "GAN"], [0.5, 0.1, 0.01]
    cells, colours = [], {}
    for i, (model, lr) in enumerate((m, lr) for m in models for lr in lrs):
        if (model, lr) == ("GAN", 0.1):
            continue  # not run
        real, fake = (20 + 30 * i, 0, 200), (0, 20 + 30 * i, 100)
        canvas = np.full((2 * h + 2, w, 3), 255, dtype=np.uint8)
        canvas[:h], canvas[h + 2:] = real, fake
        Image.fromarray(canvas).save(tmp_path / f"{model}{lr}.png")
        cells.append({"model": model, "lr": lr, "strip": tmp_path / f"{model}{lr}.png",
                      "bm_mean": 0.2, "n_ok": 5, "n_seeds": 5})
        colours[model, lr] = (real, fake)
    samplegrid.samples_grid(cells, w, h, models, lrs, tmp_path / "grid.png", "title")
    grid = np.asarray(Image.open(tmp_path / "grid.png").convert("RGB")).reshape(-1, 3)
    found = {tuple(c): n for c, n in zip(*np.unique(grid, axis=0, return_counts=True))}
    tile = 0.5 * w * h  # pixels of a tile at least (150 dpi draws them larger)
    for (model, lr), (real, fake) in colours.items():
        assert found.get(fake, 0) > tile, (model, lr)
    for model in models:
        assert found.get(colours[model, lrs[0]][0], 0) > tile, model  # its real frame
    assert found.get(colours["VAE", 0.1][0], 0) == 0  # only the first cell's real frame


def test_benchmarks_are_summed_per_rule_and_protocol(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    paths = []
    for rel, s in [("results/d/author/benchmarks/cells/AVA1.tsv", 2.0),
                   ("results/d/author/benchmarks/cells/GAN.tsv", 4.0),
                   ("results/d/benchmarks/prepare_data.tsv", 1.0)]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"{s}\t0:00:0{int(s)}\t50.5\t1\t1\t1\t0\t0\t0\t{s / 2}\n")
        paths.append(str(path.relative_to(tmp_path)))
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        table = benchtable.benchmarks_table(paths)
    finally:
        os.chdir(cwd)
    rows = {(r["rule"], r["protocol"]): r for r in table.to_dict("records")}
    assert rows[("train_cells", "author")]["jobs"] == 2
    assert rows[("train_cells", "author")]["total_s"] == 6.0
    assert rows[("train_cells", "author")]["max_s"] == 4.0
    assert rows[("prepare_data", "—")]["jobs"] == 1
    assert rows[("all", "—")]["total_s"] == 7.0 and rows[("all", "—")]["max_rss_mb"] == 50.5


# ------------------------------------------------------------------------- the browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium found (install the Debian package `chromium`; .ci/run does): "
                "the rendered report cannot be checked")


def browse(browser, tmp_path, page, *args):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
           *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def build_report(tmp_path, *config):
    done = snakemake("--cores", "2", "--config", *TINY, *config, cwd=tmp_path)
    assert done.returncode == 0
    html = tmp_path / "report.html"
    done = snakemake("--report", str(html), "--config", *TINY, *config, cwd=tmp_path)
    assert html.is_file(), done.stderr[-2000:]
    assert "ERROR/" not in done.stderr, "a caption or the front page has reStructuredText errors"
    return html


def rendered_text(dom: str) -> str:
    """The DOM without <script> bodies: what the page shows, not the data it carries."""
    return re.sub(r"<script[^>]*>.*?</script>", "", dom, flags=re.S)


@pytest.mark.slow
@pytest.mark.parametrize("protocols", [["author"], ["author", "paper"]], ids=["author", "both"])
def test_report_renders_in_a_browser(tmp_path, protocols):
    browser = chromium()
    config = [f"protocols=[{','.join(protocols)}]"]
    html = build_report(tmp_path, *config)
    base = tmp_path / "results" / "synthetic"

    # The front page's summary, a number from the run's own check, and an image.
    done = browse(browser, tmp_path, html, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    shown = rendered_text(done.stdout)
    for heading in ("Scope of reproducibility", "Methodology", "Results", "What was easy",
                    "What was difficult"):
        assert f">{heading}<" in shown, heading
    cells = pd.read_csv(base / protocols[0] / "check" / "cells.csv")
    assert f"{cells['abs_delta'].mean():.4f}" in shown
    assert re.search(r'<img[^>]+alt="Figure 5[^"]*"[^>]+src="data:image/png;base64,', shown) or \
        re.search(r'<img[^>]+src="data:image/png;base64,[^"]+"[^>]*alt="Figure 5', shown)
    for protocol in protocols:
        assert f"protocol {protocol}" in shown

    # Every report-tagged output is in the page's data: tables, grids, summaries.
    data = re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', done.stdout,
                     flags=re.S)
    assert data, "the page carries no results"
    results = json.loads(data.group(1))
    names = {Path(path).name for path in results}
    assert {"reproducibility_summary.html", "samples_grid.png", "table1.html",
            "check_cells.html", "check_verdicts.html", "benchmarks_summary.html",
            "figure5.png"} <= names
    if len(protocols) > 1:
        assert {"compare.html", "compare.png"} <= names
        # "Claims under ``paper``: ..." (the name renders as inline code)
        assert re.search(r"Claims under\s*(<[^>]+>\s*)*paper(\s*<[^>]+>)*:", shown)

    # A screenshot that is not blank.
    shot = tmp_path / "front.png"
    done = browse(browser, tmp_path, html, "--window-size=1400,1000", f"--screenshot={shot}")
    assert shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the screenshot is (nearly) one colour"


def test_a_tile_of_a_cell_without_ok_seeds_says_so_not_diverged():
    assert samplegrid.tile_label({"bm_mean": 0.21234, "n_ok": 3}) == ("BM 0.2123", "black")
    # every seed unstable (bm kept, never used): not "diverged"
    assert samplegrid.tile_label({"bm_mean": None, "n_ok": 0})[0] == "no ok seed"
