"""The report's front page (avarep.summary) on hand-made check outputs: what it says of
claims judged on the healthy γ only, of comparisons none of which could be judged, and how
it formats the per-model |Δ|."""

import pandas as pd

from avarep import summary

MANIFEST = {"count": 36, "width": 100, "height": 64}
MODELS = ["AVA1", "GAN"]


def protocol_run(name, comparison_verdicts, sensitivity=None, deltas=(0.0012, 0.00086)):
    bm = pd.DataFrame([{"model": m, "lr": lr, "seed": s, "bm": 0.2, "status": "ok"}
                       for m in MODELS for lr in (0.1, 0.01) for s in (0, 1)])
    cells = pd.DataFrame([{"model": m, "lr": 0.1, "published": 0.2, "inside": True,
                           "abs_delta": d} for m, d in zip(MODELS, deltas)])
    claims = pd.DataFrame({"claim": 1, "verdict": comparison_verdicts,
                           # negative, as for "AVA3 < VAE": the largest is taken by size
                           "published_diff": [-0.001 * (i + 1) for i in range(len(comparison_verdicts))]})
    verdicts = pd.DataFrame([{"claim": 1, "text": "AVA1 above GAN", "verdict": "not assessable",
                              "published_verdict": "holds"}])
    return summary.ProtocolRun(name=name, bm=bm, figure5=None, cells=cells,
                               table3=pd.DataFrame({"inside": [True]}), claims=claims,
                               verdicts=verdicts, sensitivity=sensitivity)


def front_page(*runs, compare=None):
    return summary.build("d", MANIFEST, list(runs), compare, None).md()


def healthy(verdict):
    return pd.DataFrame([{"claim": 1, "text": "AVA1 above GAN", "verdict": verdict, "reason": "",
                          "learning_rates": "0.09 0.01"}])


def test_claims_judged_on_the_healthy_gamma_only_are_shown_beside_the_whole_sweep_s():
    compare = pd.DataFrame({"model": MODELS, "paper_abs_delta": [0.03, 0.02]})
    page = front_page(protocol_run("paper", ["not assessable"], sensitivity=healthy("fails")),
                      compare=compare)
    assert "| claim | published numbers | paper | paper, healthy γ only |" in page
    assert "| 1 | holds | not assessable | fails |" in page
    assert "over the 2 learning rates at which every seed of every model is ok (γ = 0.09 and 0.01)" in page
    assert "Claims under `paper`: not assessable **1**; on the healthy γ only: fails **1**." in page


def test_no_healthy_column_when_every_gamma_is_healthy():
    empty = healthy("fails").iloc[0:0]  # the check writes a header only
    page = front_page(protocol_run("author", ["holds"], sensitivity=empty))
    assert "healthy γ only" not in page
    assert "| claim | published numbers | author |" in page


def test_unhealthy_seeds_without_healthy_verdicts_are_said_to_leave_too_few_gamma():
    """The check writes a header-only sensitivity.csv also when fewer than 2 γ are healthy;
    then the page says so instead of silently showing no column."""
    run = protocol_run("paper", ["not assessable"], sensitivity=healthy("fails").iloc[0:0])
    run.bm.loc[0, "status"] = "unstable"
    page = front_page(run)
    assert "healthy γ only |" not in page
    assert ("`paper`: the claims cannot be judged on the healthy γ only either: fewer than 2 "
            "learning rates have every seed of every model ok.") in page
    assert "cannot be judged" not in front_page(protocol_run("paper", ["holds"]))


def test_comparisons_none_of_which_could_be_judged_are_counted_as_such():
    page = front_page(protocol_run("paper", ["not assessable"] * 3))
    assert ("`paper`: of the 3 pairwise comparisons behind claims 1–5, 3 are not assessable "
            "(fewer than 2 seeds of a model ok at every γ).") in page
    assert "0 hold" not in page


def test_comparisons_of_each_verdict_are_counted_and_the_unresolved_sized():
    page = front_page(protocol_run("author", ["holds", "holds", "fails", "not resolved"]))
    assert ("of the 4 pairwise comparisons behind claims 1–5, 2 hold, 1 fail and 1 are not "
            "resolved by the spread of 2 seeds — the published differences behind those not "
            "resolved are at most 0.0040") in page


def test_per_model_delta_has_one_format_down_a_column():
    compare = pd.DataFrame({"model": MODELS, "author_abs_delta": [0.0012, 0.00086]})
    page = front_page(protocol_run("author", ["holds"]), compare=compare)
    assert "| AVA1 | 0.0012 |" in page and "| GAN | 0.0009 |" in page
