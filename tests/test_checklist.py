"""The checklist page: parameter counts against hand arithmetic, exclusions read generically."""

import json

import pytest

from avarep import cell, checklist

# 100x64 frames: P = 6400 pixels, n = 10, hidden 100 (spec 5.1). Weights + biases per layer:
ENC = 6400 * 100 + 100 + 100 * 20 + 20          # 6400 -> 100 -> 20   = 642120
DEC = 10 * 100 + 100 + 100 * 6400 + 6400        # 10 -> 100 -> 6400   = 647500
SMALL_D = 6400 * 100 + 100 + 100 * 1 + 1        # 6400 -> 100 -> 1    = 640201
BIG_D = 10 * 100 + 100 + 100 * 1 + 1            # 10 -> 100 -> 1      = 1201
# paper protocol: one RGB network, 3P = 19200 inputs/outputs
P_ENC = 19200 * 100 + 100 + 100 * 20 + 20       # 1922120
P_DEC = 10 * 100 + 100 + 100 * 19200 + 19200    # 1940300
P_SMALL_D = 19200 * 100 + 100 + 100 + 1         # 1920201


def test_author_networks_are_three_per_channel_copies_of_the_spec_sizes():
    table = checklist.parameter_table("author", ["AVA5", "VAE", "GAN", "AVA3"], 6400).set_index("model")
    assert table.loc["AVA5", "total"] == 3 * (ENC + DEC + SMALL_D + BIG_D) == 5793066
    assert table.loc["VAE", "total"] == 3 * (ENC + DEC)
    assert table.loc["GAN", "total"] == 3 * (DEC + SMALL_D)  # no encoder
    assert table.loc["AVA3", "D"] == 3 * BIG_D and table.loc["AVA3", "d"] != table.loc["AVA3", "d"]  # NaN


def test_paper_networks_are_counted_from_their_tensors():
    table = checklist.parameter_table("paper", ["AVA5", "AVA1", "GAN"], 6400).set_index("model")
    assert table.loc["AVA5", "total"] == P_ENC + P_DEC + P_SMALL_D + BIG_D
    assert table.loc["AVA1", "total"] == P_ENC + P_DEC + P_SMALL_D
    assert table.loc["GAN", "total"] == P_DEC + P_SMALL_D


def record(model, lr, runs, tmp_path, name):
    rec = {"format": cell.FORMAT, "model": model, "lr": lr, "seeds": [r["seed"] for r in runs],
           "runs": runs, "threads": 1, "device": "cpu"}
    rec["record_sha256"] = cell._checksum(rec)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rec))
    return path


def run(seed, status="ok", seconds=1.0, **extra):
    return {"seed": seed, "bm": 0.2 if status == "ok" else None, "status": status,
            "seconds": seconds, "log": extra.pop("log", {}), **extra}


def test_every_non_ok_status_is_counted_with_its_reason(tmp_path):
    paths = [
        record("AVA1", 1.0, [run(0), run(1, "diverged", log={"reason": "non-finite mu"}),
                             run(2, "unstable", reason="|mu| > 1e6")], tmp_path, "a"),
        record("VAE", 0.5, [run(0, "unstable", reason="|mu| > 1e6"), run(1, "weird")], tmp_path, "b"),
    ]
    records = checklist.load_records(paths)
    excluded = checklist.exclusions(records)
    assert len(excluded) == 4
    by_status = excluded.groupby("status")["reason"].apply(list).to_dict()
    assert by_status == {"diverged": ["non-finite mu"], "unstable": ["|mu| > 1e6", "|mu| > 1e6"],
                         "weird": ["no reason recorded"]}
    assert checklist.status_counts(records) == {"ok": 1, "diverged": 1, "unstable": 2, "weird": 1}


def test_runtime_per_model_sums_the_seeds(tmp_path):
    paths = [record("AVA1", 1.0, [run(0, seconds=0.5), run(1, seconds=1.5)], tmp_path, "a"),
             record("AVA1", 0.5, [run(0, seconds=2.0), run(1, "diverged", seconds=4.0)], tmp_path, "b"),
             record("GAN", 0.5, [run(0, seconds=3.0)], tmp_path, "c")]
    table = checklist.runtime_table(checklist.load_records(paths), ["GAN", "AVA1"])
    assert list(table["model"]) == ["GAN", "AVA1"]
    ava1 = table.set_index("model").loc["AVA1"]
    assert (ava1["cells"], ava1["seed runs"], ava1["seconds in all"]) == (2, 4, 8.0)
    assert ava1["seconds per seed (mean)"] == pytest.approx(2.0)
    assert ava1["seconds per seed (max)"] == 4.0


def test_the_commits_that_trained_the_cells_are_counted(tmp_path):
    paths = [record("AVA1", 1.0, [run(0)], tmp_path, "a"), record("AVA1", 0.5, [run(0)], tmp_path, "b")]
    for path, commit in zip(paths, ["a" * 40, "b" * 40]):
        rec = json.loads(path.read_text())
        rec["provenance"] = {"commit": commit, "tree_modified": commit.startswith("b")}
        rec["record_sha256"] = cell._checksum(rec)
        path.write_text(json.dumps(rec))
    older = record("VAE", 0.5, [run(0)], tmp_path, "c")  # written before records had provenance
    line = checklist._cell_commits({"author": checklist.load_records([*paths, older])})
    assert "aaaaaaaaaa 1 cell(s)" in line and "bbbbbbbbbb (modified tree) 1 cell(s)" in line
    assert "not recorded (older record) 1 cell(s)" in line


def test_cells_are_counted_per_host_device_and_threads(tmp_path):
    paths = [record("AVA1", 1.0, [run(0)], tmp_path, "a"), record("AVA1", 0.5, [run(0)], tmp_path, "b"),
             record("VAE", 0.5, [run(0)], tmp_path, "c")]
    for path in paths[:2]:
        rec = json.loads(path.read_text())
        rec["provenance"] = {"host": "node7", "cpu": "Xeon"}
        rec["record_sha256"] = cell._checksum(rec)
        path.write_text(json.dumps(rec))
    line = checklist._cell_hosts({"author": checklist.load_records(paths)})
    assert "node7 (Xeon), cpu, 1 thread(s): 2 cell(s)" in line
    assert "not recorded, cpu, 1 thread(s): 1 cell(s)" in line
