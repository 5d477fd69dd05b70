"""The outcome file: derived from the check's CSVs by the documented rules (not typed in)."""

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from avarep import outcome
from conftest import REPO


def binom_cdf(k, n, p):
    """Second implementation of the binomial CDF, by the sum of its terms."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def cells_frame(inside, total):
    return pd.DataFrame({"published": [0.2] * total, "abs_delta": [0.001] * total,
                         "inside": [True] * inside + [False] * (total - inside)})


@pytest.mark.parametrize("inside, expected", [(20, "reproduced"), (19, "reproduced"),
                                              (15, "partially reproduced"), (5, "not reproduced")])
def test_published_numbers_follow_the_binomial_rule(inside, expected):
    result = outcome.published_numbers(cells_frame(inside, 20), cells_frame(10, 10))
    assert result["outcome"] == expected
    assert result["cells"]["binomial_p"] == pytest.approx(binom_cdf(inside, 20, 0.95))
    assert result["cells"]["inside"] == inside and result["cells"]["total"] == 20


def test_a_table3_miss_alone_stops_full_reproduction():
    assert outcome.published_numbers(cells_frame(20, 20), cells_frame(5, 28))["outcome"] == \
        "partially reproduced"


@pytest.mark.parametrize("verdict, comparisons, expected", [
    ("holds", ["holds", "holds"], "reproduced"),
    ("not resolved", ["holds", "not resolved"], "partially reproduced"),
    ("not resolved", ["not resolved", "not resolved"], "not reproduced"),
    ("fails", ["holds", "fails"], "not reproduced"),
    ("not evaluated", ["not evaluated"], "not evaluated"),
    ("not assessable", ["holds", "not assessable"], "not assessable"),
    ("fails", ["fails", "not assessable"], "not reproduced"),
])
def test_claim_outcome_rules(verdict, comparisons, expected):
    assert outcome.claim_outcome(verdict, comparisons) == expected


def write_check(folder, verdicts):
    """A check folder: claim c has the comparison verdicts ``verdicts[c]``."""
    folder.mkdir(parents=True)
    claims = [{"claim": c, "statistic": "Mean", "model": "AVA5", "relation": ">", "other": "GAN",
               "n_model": 5, "n_other": 5, "margin": 0.001 * c, "ci_lo": -0.01, "ci_hi": 0.01,
               "verdict": v} for c, vs in verdicts.items() for v in vs]
    pd.DataFrame(claims).to_csv(folder / "claims.csv", index=False)
    combined = {c: "fails" if "fails" in vs else "holds" if set(vs) == {"holds"} else "not resolved"
                for c, vs in verdicts.items()}
    rows = [{"claim": c, "text": f"claim {c}", "verdict": v, "published_verdict": "holds"}
            for c, v in combined.items()]
    rows.append({"claim": 6, "text": "all", "verdict": "not resolved", "published_verdict": "holds"})
    pd.DataFrame(rows).to_csv(folder / "verdicts.csv", index=False)
    cells_frame(19, 20).to_csv(folder / "cells.csv", index=False)
    cells_frame(28, 28).to_csv(folder / "table3.csv", index=False)


def test_outcome_json_is_derived_from_the_check_files(tmp_path):
    write_check(tmp_path / "author" / "check", {1: ["holds", "holds"], 2: ["holds", "not resolved"],
                                                3: ["fails"], 4: ["not resolved"], 5: ["holds"]})
    out = tmp_path / "outcome.json"
    done = subprocess.run([sys.executable, str(REPO / "workflow" / "scripts" / "outcome.py"),
                           "--dataset", "d", "--check", f"author={tmp_path / 'author' / 'check'}",
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    claims = {c["claim"]: c for c in result["protocols"]["author"]["claims"]}
    assert [claims[c]["outcome"] for c in range(1, 7)] == [
        "reproduced", "partially reproduced", "not reproduced", "not reproduced", "reproduced",
        "not reproduced"]
    assert claims[1]["comparisons"][0]["margin"] == pytest.approx(0.001)
    assert len(claims[6]["comparisons"]) == 2 + 2 + 1 + 1 + 1  # claims 1-5's comparisons
    assert result["protocols"]["author"]["published_numbers"]["outcome"] == "reproduced"
    assert result["run"] == {"reason": "no run.json beside the results"}
    assert result["replicated_paper"]["title"] == "Adversarial Variational Autoencoders"


def test_a_missing_check_file_is_named(tmp_path):
    (tmp_path / "check").mkdir()
    done = subprocess.run([sys.executable, str(REPO / "workflow" / "scripts" / "outcome.py"),
                           "--dataset", "d", "--check", f"author={tmp_path / 'check'}",
                           "--out", str(tmp_path / "o.json")], capture_output=True, text=True)
    assert done.returncode == 2 and "verdicts.csv" in done.stderr
