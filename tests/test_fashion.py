"""The Fashion-MNIST study on tiny inputs: run records, health, floors, best learning rate,
verdicts, and the workflow's targets (the default target does not include the study)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avarep import fashion, fashion_models as fm, fashion_results as fr, fmnist
from avarep.cell import CorruptRecord
from conftest import SHARED_DATA
from test_workflow import job_counts, snakemake

FASHION = SHARED_DATA / "fashion-mnist"
BUDGET = dict(epochs=1, train_images=200, batch=16, lrs_paper=[0.1], lrs_adam=[1e-3],
              samples=200, dtype="float32", device="cpu")


@pytest.fixture(scope="module")
def tiny():
    """The real splits, a classifier trained on 1,000 images for 1 epoch, 200-row references."""
    if not FASHION.is_dir():
        pytest.skip(f"data not found: {FASHION}")
    splits = fmnist.load(FASHION)
    clf = fm.train_classifier(splits.train_x[:1000], splits.train_y[:1000], seed=0, epochs=1)
    features = {"val_features": clf.features_and_labels(splits.val_x[:200])[0],
                "test_features": clf.features_and_labels(splits.test_x[:200])[0]}
    return splits, clf, features


def job(tiny, model, lr, seeds=(0, 1), budget=BUDGET):
    splits, clf, features = tiny
    return fashion.run_job(model, lr, list(seeds), splits, clf, features, budget, "d", "c")


def test_record_is_verified_and_an_edit_is_caught(tiny, tmp_path):
    record, samples = job(tiny, "AVA5", 0.1)
    assert [r["status"] for r in record["runs"]] == ["ok", "ok"]
    assert samples.shape == (16, 784)
    test = record["runs"][0]["metrics"]["test"]
    assert set(fashion.METRICS) <= set(test) and test["kid_se"] >= 0
    path = tmp_path / "lr0.1.json"
    path.write_text(json.dumps(record))
    assert fashion.read_run_record(path)["model"] == "AVA5"
    record["runs"][0]["metrics"]["test"]["fd"] += 1e-9
    path.write_text(json.dumps(record))
    with pytest.raises(CorruptRecord, match="lr0.1.json: checksum mismatch"):
        fashion.read_run_record(path)
    path.write_text(path.read_text()[:100])
    with pytest.raises(CorruptRecord, match="unreadable"):
        fashion.read_run_record(path)


def test_same_seed_same_numbers_other_seed_other_numbers(tiny):
    a, b = job(tiny, "VAE-std", 0.001, seeds=(0,))[0], job(tiny, "VAE-std", 0.001, seeds=(0, 1))[0]
    assert a["runs"][0]["metrics"] == b["runs"][0]["metrics"]
    assert a["runs"][0]["metrics"] != b["runs"][1]["metrics"]


def test_models_without_an_encoder_have_no_reconstruction_error(tiny):
    record, _ = job(tiny, "GAN-std", 0.001, seeds=(0,))
    assert record["runs"][0]["metrics"]["test"]["recon_mse"] is None
    record, _ = job(tiny, "VAE", 0.1, seeds=(0,))
    assert 0 < record["runs"][0]["metrics"]["test"]["recon_mse"] < 1


def test_blown_up_training_is_excluded_by_the_health_rule(tiny):
    record, samples = job(tiny, "VAE", 1000.0, seeds=(0,))
    run = record["runs"][0]
    assert run["status"] in ("unstable", "diverged"), run
    assert record["status_counts"][run["status"]] == 1
    assert samples is None  # no ok seed: no sample grid row from it


def test_real_images_beat_the_mean_image(tiny):
    """Real-vs-real is the best any model can do, the mean image a collapsed generator. Every
    quality metric must order them so; precision cannot (one point in a dense region of the
    real features lies inside their balls: why Naeem et al. add density and coverage) and BM
    rewards the mean image (the paper's metric is no quality measure)."""
    real = job(tiny, "real", fashion.NO_LR)[0]["runs"][0]["metrics"]["test"]
    mean = job(tiny, "mean-image", fashion.NO_LR)[0]["runs"][0]["metrics"]["test"]
    for metric in ("fd", "kid", "class_kl"):
        assert real[metric] < mean[metric], metric
    for metric in ("recall", "density", "coverage"):
        assert real[metric] > mean[metric], metric
    assert real["fd"] < 0.1 * mean["fd"]


def long_with(values: dict, lr_of=None, split="test", status="ok"):
    """A long frame from {model: [fd per seed]} (every other metric equal to fd)."""
    rows = []
    for model, seeds in values.items():
        for seed, value in enumerate(seeds):
            for sp in ("val", "test"):
                rows.append({"model": model, "lr": (lr_of or {}).get(model, 0.1), "seed": seed,
                             "status": status, "split": sp,
                             **{m: value for m in fashion.METRICS}, "kid_se": 0.0})
    return pd.DataFrame(rows)


def test_best_lr_is_the_lowest_mean_validation_fd_of_ok_seeds():
    a = long_with({"AVA1": [3.0, 3.2]}, {"AVA1": 0.1})
    b = long_with({"AVA1": [1.0, 1.4]}, {"AVA1": 0.3})
    c = long_with({"AVA1": [0.1, 0.1]}, {"AVA1": 1.0}, status="unstable")
    long = pd.concat([a, b, c])
    assert fr.best_lrs(long) == {"AVA1": 0.3}
    tab = fr.table(long, fr.best_lrs(long))
    row = tab.iloc[0]
    assert row["fd_mean"] == pytest.approx(1.2) and row["fd_sd"] == pytest.approx(np.std([1.0, 1.4], ddof=1))
    assert row["fd_median_budget"] == pytest.approx(np.median([3.0, 3.2, 1.0, 1.4]))
    assert (row["n_ok"], row["n_unstable"]) == (4, 2)


def test_verdicts_better_worse_and_unresolved_with_holm():
    rng = np.random.default_rng(0)
    values = {"AVA1": 1 + 0.01 * rng.standard_normal(10),  # clearly lower FD than VAE-std
              "AVA2": 5 + 0.01 * rng.standard_normal(10),  # clearly higher
              "AVA3": 3 + 2.0 * rng.standard_normal(10),  # noisy
              "VAE-std": 3 + 0.01 * rng.standard_normal(10)}
    v = fr.verdicts(long_with(values), {m: 0.1 for m in values})
    fd = v[(v["metric"] == "fd") & (v["baseline"] == "VAE-std")].set_index("model")["verdict"]
    assert fd.to_dict() == {"AVA1": "better", "AVA2": "worse", "AVA3": "not resolved"}
    # precision is higher-is-better: the same numbers flip the verdicts
    pr = v[(v["metric"] == "precision") & (v["baseline"] == "VAE-std")].set_index("model")["verdict"]
    assert pr["AVA1"] == "worse" and pr["AVA2"] == "better"
    assert "No: no AVA variant" not in fr.answer(v, fr.table(long_with(values), {m: 0.1 for m in values}))


def test_holm_leaves_a_nominally_significant_difference_unresolved():
    # Welch p ~ 0.04 on each of the 9 metrics: the unadjusted 95% CI excludes 0, but Holm
    # across the table's 9 comparisons asks for p <= 0.05 / 9
    values = {"AVA1": [1.0, 1.1, 1.2], "VAE-std": [1.25, 1.35, 1.45]}
    v = fr.verdicts(long_with(values), {m: 0.1 for m in values})
    assert len(v) == len(fashion.METRICS)
    assert ((v["p"] < 0.05) & (v["p"] > 0.05 / len(v))).all()
    assert (v["ci_high"] < 0).all()
    assert (v["verdict"] == "not resolved").all()


def test_default_target_does_not_include_the_study_and_fashion_schedules_it(tmp_path):
    done = snakemake("-n", "--config", f"data_dir={SHARED_DATA / 'orbit-100x64'}", cwd=tmp_path)
    assert "fashion" not in done.stdout
    done = snakemake("-n", "fashion", "--config", f"fashion_mnist_dir={FASHION}", cwd=tmp_path)
    counts = job_counts(done.stdout)
    assert counts["fashion_run"] == 7 * 4 + 2 * 4 + 3  # paper models, standard models, floors
    assert counts["fashion_classifier"] == 1


def test_the_longest_fashion_jobs_start_first(tmp_path):
    """GMM-PCA (41-53 s a job when measured) before the neural models (12-27 s) before the
    floors that only score (6-9 s), so that no long job is left running alone at the end."""
    import re

    done = snakemake("-n", "fashion", "--config", f"fashion_mnist_dir={FASHION}", cwd=tmp_path)
    rank = {}
    for job in done.stdout.split("rule fashion_run:\n")[1:]:
        job = job.split("\n\n")[0].split("[")[0]  # up to the next job
        priority = re.search(r"^    priority: (\d+)$", job, re.M)  # a dry run omits 0
        rank[re.search(r"fmodel=([\w-]+),", job)[1]] = int(priority[1]) if priority else 0
    assert len(rank) == 12
    neural = set(fm.PAPER_MODELS) | {"VAE-std", "GAN-std"}
    assert rank["GMM-PCA"] > max(rank[m] for m in neural)
    assert min(rank[m] for m in neural) > max(rank["real"], rank["mean-image"])


def test_missing_fashion_folder_is_a_clear_error(tmp_path):
    done = snakemake("-n", "fashion", "--config", f"fashion_mnist_dir={tmp_path / 'nowhere'}",
                     cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "nowhere is not a folder" in done.stdout + done.stderr


def test_a_corrupt_run_record_is_moved_aside_and_its_job_rerun(tmp_path):
    bad = tmp_path / "results" / "fashion-mnist" / "runs" / "AVA1" / "lr1.0.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"format": 1, "study": "fashion", "runs": [')  # truncated
    done = snakemake("-n", "fashion", "--config", f"fashion_mnist_dir={FASHION}", cwd=tmp_path)
    assert not bad.exists() and bad.with_name("lr1.0.json.corrupt").exists()
    assert "unreadable run record" in done.stderr


@pytest.mark.slow
def test_tiny_fashion_run_end_to_end(tmp_path):
    """The whole target on a tiny budget (the classifier is the real one: ~1-2 min on 2 cores)."""
    if not FASHION.is_dir():
        pytest.skip(f"data not found: {FASHION}")
    snakemake("--cores", "2", "fashion", "--config", f"fashion_mnist_dir={FASHION}",
              "fashion_train_images=100", "fashion_epochs=1", "fashion_samples=100",
              "fashion_lrs_paper=[0.1,0.3]", "fashion_lrs_adam=[0.001]", "fashion_seeds=[0,1]",
              cwd=tmp_path)
    out = tmp_path / "results" / "fashion-mnist"
    for name in ("summary.md", "table.csv", "verdicts.csv", "metrics.csv", "samples.png",
                 "metrics_vs_lr.png", "precision_recall.png", "classifier/classifier.json"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "classifier" / "classifier.json").read_text())["test_accuracy"] >= 0.88
    first = (out / "summary.md").read_text().splitlines()[0]
    assert first.startswith(("No:", "Partly:"))
    table = pd.read_csv(out / "table.csv")
    assert set(table["model"]) == set(fm.ALL_MODELS)
    # resumable: a second run has nothing to do
    done = snakemake("--cores", "2", "fashion", "-n", "--config", f"fashion_mnist_dir={FASHION}",
                     "fashion_train_images=100", "fashion_epochs=1", "fashion_samples=100",
                     "fashion_lrs_paper=[0.1,0.3]", "fashion_lrs_adam=[0.001]",
                     "fashion_seeds=[0,1]", cwd=tmp_path)
    assert "Nothing to be done" in done.stdout + done.stderr


@pytest.mark.parametrize("key,value", [("fashion_samples", 10), ("fashion_lrs_paper", []),
                                       ("fashion_seeds", [0]), ("fashion_epochs", 0),
                                       ("fashion_mnist_dir", 3)])
def test_bad_fashion_config_names_the_key(key, value):
    import yaml

    from avarep.config import ConfigError, validate
    from conftest import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert validate(config)["fashion_samples"] == config["fashion_samples"]
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        validate({**config, key: value})


def test_two_by_two_max_pool_is_torchs_max_pool_exactly():
    import torch

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 8, 6, generator=gen)
    x[0, 0, :2, :2] = 0.0  # ties inside one window
    x[1, 2] = -torch.rand(8, 6, generator=gen)  # all negative
    assert torch.equal(fm.max_pool_2x2(x), torch.nn.functional.max_pool2d(x, 2))


def test_classifier_features_for_inference_are_its_body_exactly():
    import torch

    torch.manual_seed(3)
    net = fm.Classifier().eval()
    images = np.random.default_rng(4).random((50, 784)).astype(np.float32)
    images[:5] = 0.0  # blank images: ReLU zeros tie in every pooling window
    features, labels = net.features_and_labels(images, batch=20)
    with torch.no_grad():  # batch by batch as features_and_labels: a kernel may differ by size
        body = torch.cat([net.body(torch.as_tensor(images[i:i + 20]).view(-1, 1, 28, 28))
                          for i in range(0, 50, 20)])
        expected_labels = net.head(body).argmax(1).numpy()
    np.testing.assert_array_equal(features, body.double().numpy())
    np.testing.assert_array_equal(labels, expected_labels)


def test_each_split_is_scored_against_its_own_first_rows():
    from avarep import genmetrics as gm

    rng = np.random.default_rng(8)
    features = {"val_features": rng.standard_normal((30, 3)),
                "test_features": rng.standard_normal((30, 3)) + 5}
    refs = fashion.references(features, {"samples": 20})
    for split in ("val", "test"):
        rows = features[f"{split}_features"][:20]
        np.testing.assert_array_equal(refs[split].features, rows)
        # the k-th nearest other row (k = 5), by sorting every row's distances
        expected = np.sort(np.linalg.norm(rows[:, None] - rows[None], axis=-1), axis=1)[:, gm.PRDC_K]
        np.testing.assert_allclose(refs[split].radii, expected, rtol=1e-12, atol=1e-7)
