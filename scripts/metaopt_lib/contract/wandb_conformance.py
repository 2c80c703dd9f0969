"""How far this skill judges W&B sweep configs as W&B itself does, measured on a corpus of real configs.

The corpus (fixtures/sweep-config/wandb-conformance.json) holds configs from W&B's own test suite,
examples and docs, public users' repositories and this skill's fixtures, plus a few synthetic probes,
each with W&B's verdict (`wandb_accepts`; `wandb_deprecated_only` for configs W&B only warns about).
A config is judged through the same entry point the campaign uses for a selected sweep config
(validation.validate_document, no campaign objective) plus the warnings channel (advisories.py).

A case agrees when we accept exactly when W&B accepts; a deprecated-only case agrees when we accept
it with a warning. Real configs and probes are counted apart: the probes are chosen to find edges.
INTENTIONAL_DIFFERENCES lists every case where we disagree on purpose, with the reason; a test holds
the measured differences to exactly that list, and references/contracts.md shows it (generated).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from . import validation
from .advisories import document_warnings
from .paths import SKILL_ROOT

CORPUS_FILE = SKILL_ROOT / "fixtures" / "sweep-config" / "wandb-conformance.json"
LABEL = "sweep config"
# The least agreement with W&B on the real configs of the corpus that the test suite accepts.
MIN_AGREEMENT = 0.95

# case name -> why we judge it differently from W&B on purpose.
INTENTIONAL_DIFFERENCES: dict = {}


@dataclass(frozen=True)
class Judgement:
    """One case: W&B's verdict and ours."""

    name: str
    probe: bool
    wandb: str  # "accepts", "rejects" or "warns" (accepts with a deprecation warning)
    ours: str
    first_issue: str  # the first error (or warning) we reported, "" when none

    @property
    def agrees(self) -> bool:
        return self.wandb == self.ours


def load_corpus(path=CORPUS_FILE) -> dict:
    """The corpus's cases: name -> {config, probe, wandb_accepts, wandb_deprecated_only, ...}."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["cases"]


def our_verdict(config) -> tuple:
    """("accepts" | "rejects" | "warns", first issue message) for one sweep config."""
    issues = validation.validate_document("sweep-config", config, LABEL)
    if issues:
        return "rejects", issues[0].message
    warnings = document_warnings("sweep-config", config, LABEL)
    return ("warns", warnings[0].message) if warnings else ("accepts", "")


def wandb_verdict(case: dict) -> str:
    if case.get("wandb_deprecated_only"):
        return "warns"
    return "accepts" if case["wandb_accepts"] else "rejects"


def judge(cases: dict) -> list:
    """A Judgement per case, in name order. A warning on a config W&B accepts silently counts as
    accepting: the warnings W&B does not give (a metric name its UI cannot sort by) change no verdict."""
    out = []
    for name in sorted(cases):
        case = cases[name]
        ours, first = our_verdict(case["config"])
        wandb = wandb_verdict(case)
        if ours == "warns" and wandb == "accepts":
            ours = "accepts"
        out.append(Judgement(name, bool(case.get("probe")), wandb, ours, first))
    return out


def summary(judgements: list) -> dict:
    """{"real": {cases, agree, rate}, "probes": {...}, "differences": [{case, probe, wandb, ours, first_issue}]}."""
    def count(group):
        agree = sum(j.agrees for j in group)
        return {"cases": len(group), "agree": agree, "rate": round(agree / len(group), 4) if group else None}

    return {"real": count([j for j in judgements if not j.probe]),
            "probes": count([j for j in judgements if j.probe]),
            "differences": [{"case": j.name, "probe": j.probe, "wandb": j.wandb, "ours": j.ours,
                             "first_issue": j.first_issue, "reason": INTENTIONAL_DIFFERENCES.get(j.name)}
                            for j in judgements if not j.agrees]}


def measure(path=CORPUS_FILE) -> dict:
    return summary(judge(load_corpus(path)))
