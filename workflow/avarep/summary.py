"""The reproducibility summary: the report's front page, written from the run's own outputs.

Every number in it is read from the run (bm.csv, the check's CSVs, compare.csv, the manifest,
the benchmark summary) or from the package's constants; the prose around the numbers is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import protocols
from .benchtable import TRAINING_RULE
from .check import RULE
from .health import RULE as HEALTH_RULE
from .health import RULE_NAME, STATUSES
from .report import Document
from .sweep import GENERATIONS_PER_IMAGE
from .tables import ordered_models

@dataclass
class ProtocolRun:
    """One protocol's outputs: bm.csv and the check's CSVs."""

    name: str
    bm: pd.DataFrame
    figure5: str | None
    cells: pd.DataFrame
    table3: pd.DataFrame
    claims: pd.DataFrame
    verdicts: pd.DataFrame
    # check/sensitivity.csv: the claims on the γ where every seed is ok (no rows: every γ
    # is such a γ, or fewer than 2 are)
    sensitivity: pd.DataFrame | None = None

    def healthy_verdicts(self) -> pd.DataFrame | None:
        """The sensitivity verdicts, or None when the check wrote none."""
        s = self.sensitivity
        return s if s is not None and len(s) else None

    @property
    def judged(self) -> pd.DataFrame:
        return self.cells[self.cells["inside"].notna() & self.cells["published"].notna()]

    def inside(self) -> tuple[int, int]:
        judged = self.judged
        return int(judged["inside"].astype(str).eq("True").sum()), len(judged)

    def table3_inside(self) -> tuple[int, int]:
        judged = self.table3[self.table3["inside"].notna()]
        return int(judged["inside"].astype(str).eq("True").sum()), len(judged)

    def mean_abs_delta(self) -> float:
        return float(self.cells["abs_delta"].mean())

    def diverged(self) -> tuple[int, int]:
        return int((self.bm["status"] == "diverged").sum()), len(self.bm)

    def health(self) -> str:
        """'a ok, b unstable, c diverged of n' over this protocol's seed runs."""
        counts = self.bm["status"].value_counts()
        return ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES) + f" of {len(self.bm)}"

    def unhealthy(self) -> int:
        return int((self.bm["status"] != "ok").sum())

    def verdict_counts(self) -> dict[str, int]:
        return self.verdicts["verdict"].value_counts().to_dict()

    def comparisons(self) -> dict[str, int]:
        """Atomic comparisons behind claims 1-5: how many of each verdict."""
        return self.claims["verdict"].value_counts().to_dict()

    def outside(self) -> pd.DataFrame:
        judged = self.judged
        out = judged[judged["inside"].astype(str).eq("False")]
        return out.sort_values("abs_delta", ascending=False)


def _frac(pair: tuple[int, int]) -> str:
    return f"{pair[0]} / {pair[1]}"


def _join(items) -> str:
    items = [str(i) for i in items]
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class Scope:
    """What a run covered: read once from the first protocol's outputs."""

    dataset: str
    manifest: dict
    models: list
    lrs: list
    seeds: list
    n_claims: int
    published_cells: int

    @classmethod
    def of(cls, dataset: str, manifest: dict, first: ProtocolRun) -> "Scope":
        return cls(dataset, manifest, ordered_models(first.bm["model"].unique()),
                   sorted(first.bm["lr"].unique(), reverse=True), sorted(first.bm["seed"].unique()),
                   len(first.verdicts), int(first.cells["published"].notna().sum()))


def build(dataset: str, manifest: dict, runs: list[ProtocolRun],
          compare: pd.DataFrame | None, benchmarks: pd.DataFrame | None) -> Document:
    """The front page, one section after the other."""
    scope = Scope.of(dataset, manifest, runs[0])
    doc = Document(f"Reproducibility report: AVA (Nguyen, ICBDC 2024) — dataset {dataset}")
    _scope_section(doc, scope, runs)
    _methodology_section(doc, scope, runs, benchmarks)
    _results_section(doc, scope, runs, compare)
    _easy_and_difficult_sections(doc, scope, runs, benchmarks)
    return doc


def _scope_section(doc: Document, scope: Scope, runs: list[ProtocolRun]) -> None:
    doc.heading("Scope of reproducibility")
    doc.para(
        "The paper fuses a VAE with GAN discriminators into five variants AVA1–AVA5 and compares "
        "them with a VAE and a GAN by a balance metric BM over a sweep of learning rates γ "
        "(its Tables 1–3 and Figure 5). It makes "
        f"**{scope.n_claims}** claims, each checked here against the published numbers' own verdict:")
    doc.table(runs[0].verdicts[["claim", "text"]].rename(columns={"text": "claim of the paper"}))
    manifest = scope.manifest
    doc.para(
        f"This run: dataset ``{scope.dataset}`` ({manifest.get('count', '?')} images of "
        f"{manifest.get('width', '?')}×{manifest.get('height', '?')} pixels), "
        f"**{len(scope.models)}** model(s) ({_join(scope.models)}), **{len(scope.lrs)}** learning "
        f"rate(s) (γ = {_join(f'{lr:g}' for lr in scope.lrs)}), **{len(scope.seeds)}** seed(s) "
        f"per cell, protocol(s) {_join(f'``{r.name}``' for r in runs)}; "
        f"{scope.published_cells} of its cells have a published value to compare with.")


def _methodology_section(doc: Document, scope: Scope, runs: list[ProtocolRun],
                         benchmarks: pd.DataFrame | None) -> None:
    doc.heading("Methodology")
    doc.bullets([protocols.get(r.name).description for r in runs])
    n_cells, n_seeds = len(scope.models) * len(scope.lrs), len(scope.seeds)
    doc.para(
        f"Each of the {n_cells} (model, γ) cells of a protocol is trained from scratch once per "
        f"seed ({n_seeds} seeds, {n_cells * n_seeds} trainings per protocol). BM is the "
        f"mean over the {scope.manifest.get('count', '?')} test images × {GENERATIONS_PER_IMAGE} "
        "generations of the per-pixel |d(1 − d)|, d the RGB distance to the test image (spec "
        "section 3). Tables 1–3 follow the paper's semantics (Table 3 over the rounded "
        "per-γ means, sample SD).")
    doc.para(RULE)
    doc.para(f"Numerical health ({RULE_NAME}): " + HEALTH_RULE)
    if benchmarks is None or not len(benchmarks):
        return
    train = benchmarks[benchmarks["rule"] == TRAINING_RULE]
    total = benchmarks[benchmarks["rule"] == "all"]
    if len(train) and len(total):
        t = total.iloc[0]
        doc.para(
            f"Compute, from Snakemake's benchmark files: {int(train['jobs'].sum())} training "
            f"jobs took {train['total_s'].sum():.1f} s in total (longest "
            f"{train['max_s'].max():.1f} s); all {int(t['jobs'])} benchmarked jobs "
            f"{t['total_s']:.1f} s, peak memory at least {t['max_rss_mb']:.0f} MB (Snakemake samples "
            "it, every 30 s after a job's first 15 s).")


def _results_section(doc: Document, scope: Scope, runs: list[ProtocolRun],
                     compare: pd.DataFrame | None) -> None:
    doc.heading("Results")
    doc.table(pd.DataFrame([_result_row(r, scope.n_claims) for r in runs]))
    verdicts = runs[0].verdicts[["claim", "published_verdict"]].rename(
        columns={"published_verdict": "published numbers"})
    for r in runs:
        verdicts = verdicts.merge(r.verdicts[["claim", "verdict"]].rename(
            columns={"verdict": r.name}), on="claim")
    for r in runs:
        if r.figure5:
            doc.image(r.figure5, f"Figure 5 recomputed under protocol ``{r.name}``: bars are this "
                      "run's Table 3, black diamonds the published values.")
    for r in runs:
        healthy = r.healthy_verdicts()
        if healthy is not None:
            verdicts = verdicts.merge(healthy[["claim", "verdict"]].rename(
                columns={"verdict": f"{r.name}, healthy γ only"}), on="claim")
    doc.para("Verdict per claim (``holds`` / ``fails`` only when the seeds' spread resolves the "
             "difference; ``not evaluated`` when a model or γ the claim needs was not run):")
    doc.table(verdicts)
    for r in runs:
        if r.healthy_verdicts() is not None:
            doc.para(_healthy_sentence(r))
        elif r.unhealthy():  # some γ is not healthy, so fewer than 2 are: nothing to judge
            doc.para(f"``{r.name}``: the claims cannot be judged on the healthy γ only "
                     "either: fewer than 2 learning rates have every seed of every model ok.")
    for r in runs:
        doc.para(_deviations_sentence(r))
    if compare is not None:
        _compare_paragraphs(doc, runs, compare)


def _healthy_sentence(r: ProtocolRun) -> str:
    """What the 'healthy γ only' column is, and why the claims are judged twice."""
    lrs = str(r.healthy_verdicts()["learning_rates"].iloc[0]).split()
    return (f"``{r.name}``, healthy γ only: Table 3 and the claims recomputed over the "
            f"{len(lrs)} learning rates at which every seed of every model is ok "
            f"(γ = {_join(lrs)}), by the same rule. The published claims are about the whole "
            "sweep, so this column says what the healthy part of the sweep supports, not "
            "whether the published numbers hold.")


def _result_row(r: ProtocolRun, n_claims: int) -> dict:
    return {
        "protocol": r.name,
        "cells inside the rule": _frac(r.inside()),
        "mean |Δ| to Tables 1–2": r.mean_abs_delta(),
        "Table 3 inside the rule": _frac(r.table3_inside()),
        "seed runs (health)": r.health(),
        "claims holding": f"{r.verdict_counts().get('holds', 0)} / {n_claims}",
    }


def _deviations_sentence(r: ProtocolRun) -> str:
    inside = r.inside()
    if inside[1] == 0:
        return (f"``{r.name}``: no cell could be judged (fewer than 2 ok seeds or no "
                "published value).")
    out = r.outside()
    worst = out.head(3)
    listed = _join(f"{m} at γ = {lr:g} (|Δ| = {d:.4f})"
                   for m, lr, d in zip(worst["model"], worst["lr"], worst["abs_delta"]))
    return (f"``{r.name}``: {inside[0]} of {inside[1]} judged cells lie inside the rule; "
            f"mean |Δ| = {r.mean_abs_delta():.4f}. "
            + (f"Largest deviations outside it: {listed}." if len(out) else
               "No judged cell lies outside it."))


def _compare_paragraphs(doc: Document, runs: list[ProtocolRun], compare: pd.DataFrame) -> None:
    for r in runs:
        healthy = r.healthy_verdicts()
        doc.para(f"Claims under ``{r.name}``: " + _verdict_groups(r.verdicts)
                 + ("" if healthy is None else
                    "; on the healthy γ only: " + _verdict_groups(healthy)) + ".")
    deltas = [c for c in compare.columns if c.endswith("_abs_delta")]
    if deltas:
        per_model = compare.groupby("model", sort=False)[deltas].mean()
        per_model = per_model.loc[ordered_models(per_model.index)]
        shown = pd.DataFrame({"model": per_model.index, **{  # one format down each column
            c.removesuffix("_abs_delta"): [f"{v:.4f}" for v in per_model[c]] for c in deltas}})
        doc.para("Mean |Δ| to the published Tables 1–2 per model and protocol:")
        doc.table(shown)


def _easy_and_difficult_sections(doc: Document, scope: Scope, runs: list[ProtocolRun],
                                 benchmarks: pd.DataFrame | None) -> None:
    easy, hard = [], []
    for r in runs:  # a protocol that matches the published tables is what was easy
        if r.inside()[1]:
            matched, close = _matching_sentence(r)
            (easy if close else hard).append(matched)
    easy.append("Recomputing Table 3 and Figure 5 from Tables 1–2 with the paper's rounding "
                "semantics: they follow mechanically from bm.csv.")
    if benchmarks is not None and len(benchmarks) and (benchmarks["rule"] == "all").any():
        t = benchmarks[benchmarks["rule"] == "all"].iloc[0]
        easy.append(f"Compute: {int(t['jobs'])} small jobs (every job of the main run but the "
                    f"two that write this page and its compute table), {t['total_s']:.1f} s "
                    "of job time.")
    doc.heading("What was easy")
    doc.bullets(easy)
    doc.heading("What was difficult")
    hard += [s for r in runs for s in _difficulties(r, len(scope.seeds))]
    hard.append(_protocols_sentence(runs))
    doc.bullets(hard)


def _matching_sentence(r: ProtocolRun) -> tuple[str, bool]:
    """How many of a protocol's judged cells match, and whether that is at least half."""
    inside, judged = r.inside()
    t3 = r.table3_inside()
    matched = (f"{inside} / {judged} judged cells"
               + (f" and {t3[0]} / {t3[1]} judged Table 3 values" if t3[1] else "")
               + f" of the ``{r.name}`` protocol fall inside the rule (mean |Δ| = "
               f"{r.mean_abs_delta():.4f})")
    if inside >= judged / 2:
        return f"Matching the published tables under ``{r.name}``: {matched}.", True
    return f"Matching the published tables: only {matched}.", False


def _difficulties(r: ProtocolRun, n_seeds: int) -> list[str]:
    found = []
    counts = r.comparisons()
    if counts:
        unresolved = r.claims[r.claims["verdict"] == "not resolved"]
        largest = unresolved["published_diff"].abs().max() if len(unresolved) else None
        found.append(
            f"``{r.name}``: of the {sum(counts.values())} pairwise comparisons behind claims "
            f"1–5, " + _join(f"{counts[v]} {COMPARISON_WORDS[v].format(n_seeds=n_seeds)}"
                             for v in COMPARISON_WORDS if counts.get(v))
            + (f" — the published differences behind those not resolved are at most "
               f"{largest:.4f}, the size of the run-to-run noise." if largest is not None else "."))
    if r.unhealthy():
        found.append(f"``{r.name}``: seed runs {r.health()} ({RULE_NAME}); only ok seeds "
                     "enter the means, tables and verdicts, and the others are marked in the "
                     "figures and the stability map.")
    return found


#: A comparison's verdict as the "What was difficult" sentence counts it, in this order.
COMPARISON_WORDS = {
    "holds": "hold", "fails": "fail",
    "not resolved": "are not resolved by the spread of {n_seeds} seeds",
    "not assessable": "are not assessable (fewer than 2 seeds of a model ok at every γ)",
    "not evaluated": "are not evaluated (a model or γ they need was not run)",
}


def _verdict_groups(verdicts: pd.DataFrame) -> str:
    """'holds: 4; fails: 1, 3; not assessable: 2' from a verdicts frame, in a fixed order."""
    groups = verdicts.groupby("verdict", sort=False)["claim"].agg(list)
    order = ("holds", "fails", "not resolved", "not assessable", "not evaluated")
    return "; ".join(f"{v} **{_join(groups[v])}**" for v in order if v in groups)


def _protocols_sentence(runs: list[ProtocolRun]) -> str:
    """How close each protocol came to the published cells, and which came closer."""
    text = ("The paper's text and the author's code disagree (initialisation, backpropagation "
            "order, the double update, the derivative convention); both readings are kept side "
            "by side.")
    judged = [r for r in runs if r.inside()[1]]
    if len(judged) < 2:
        return text
    parts = _join(f"``{r.name}`` {_frac(r.inside())} judged cells inside, mean |Δ| "
                  f"{r.mean_abs_delta():.4f}" for r in judged)
    closest = min(judged, key=lambda r: r.mean_abs_delta())
    return f"{text} Against the published numbers: {parts}; ``{closest.name}`` comes closest."
