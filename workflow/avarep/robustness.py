"""Robustness of the ``paper`` protocol's open choices: do its conclusions depend on them?

The paper leaves open the choices that decide whether the single online pass stays stable:
the mu output's activation (the paper calls mu linear), the initialisation's scale, and the
arithmetic's precision. The robustness study trains the ``paper`` grid once per alternative
below (run ``robustness-<name>``) and sets each beside the main grid's ``paper`` run (the
baseline, with the configured options), all read on the same seeds 0..N-1 (config
``robustness_seeds``): per alternative, the stability map and the claim verdicts in one
table (``snakemake --cores 4 robustness``).

The workflow reads this module when it parses the Snakefile, so it imports nothing heavy:
the study's table and figure are :func:`avarep.studies.write_robustness`.
"""

from __future__ import annotations

#: name -> the paper-protocol options it changes (each one choice away from the defaults).
ALTERNATIVES: dict[str, dict] = {
    "mu-logistic": {"mu_output": "logistic"},
    "init-0.1x": {"init_scale": 0.1},
    "float32": {"dtype": "float32"},
}
DESCRIPTIONS: dict[str, str] = {
    "baseline": "the main grid's paper run: mu linear, default init, the configured dtype",
    "mu-logistic": "mu = sigmoid(u) instead of linear (a_f' = mu (1 - mu) in its errors)",
    "init-0.1x": "initialisation bound 0.1/sqrt(fan_in) instead of 1/sqrt(fan_in)",
    "float32": "single precision instead of double",
}
BASELINE = "baseline"
#: The protocol whose open choices the study varies (its baseline is that protocol's run).
PROTOCOL = "paper"


def options(name: str) -> dict:
    if name not in ALTERNATIVES:
        raise ValueError(f"unknown robustness alternative {name!r}; "
                         f"expected one of {', '.join(ALTERNATIVES)}")
    return dict(ALTERNATIVES[name])
