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

_LAUNCH = ("W&B Launch's scheduler runs this sweep (sweeps on Launch); the skill runs `wandb agent` itself "
           "and starts no Launch scheduler, so no run would start")
_LOCAL_CONTROLLER = ("a local controller picks no run until someone runs `wandb controller` for the sweep, which "
                     "the skill never does: the sweep would wait forever")
_MULTI_OBJECTIVE = ("method custom with a list of metrics is multi-objective search by a Launch scheduler; a "
                    "campaign optimizes one objective with grid, random or bayes")
_LAUNCH_JOB = "job names a W&B Launch job; a campaign runs its own program through `wandb agent`"
_NON_FINITE = ("an infinite bound: W&B reads it (Python's json accepts -Infinity) but every value drawn would be "
               "infinite or NaN; the skill refuses non-finite numbers in every contract")
_ZERO_SCALE = ("a scale of 0 (normal sigma, beta a): W&B's scipy draws NaN for every run, so the skill asks for "
               "sigma, a and b above 0")
_COMMAND_TEXT = ("each command item becomes one argument of the trial process, never passed through a shell; "
                 "the skill asks for strings (write \"3\")")
_NAME_BOUND = ("parameter names are at most 100 characters, like every name a worker writes (W&B sets no "
               "bound); a longer name is a worker's mistake more often than a plan")
_RUN_CAP_BOUND = ("run_cap is at most 10,000: every paid trial counts, and a larger cap is a typo more often "
                  "than a plan (W&B sets no bound)")

# case name -> why we judge it differently from W&B on purpose. A test holds the measured differences to
# exactly these cases; references/contracts.md lists them (generated).
INTENTIONAL_DIFFERENCES = {
    "sweeps-tests:runtime#14": _LAUNCH,
    "sweeps-tests:runtime#20": _LAUNCH,
    "sweeps-tests:runtime#29": _LAUNCH,
    "sweeps-tests:runtime#35": _LAUNCH,
    "sweeps:examples/launch/sweep-launch-jobs.yaml": _LAUNCH_JOB,
    "sweeps-tests:runtime#9": _MULTI_OBJECTIVE,
    "sweeps:tests/test_config.py#11": _MULTI_OBJECTIVE,
    "sweeps-tests:runtime#56": _LOCAL_CONTROLLER,
    "sweeps:examples/local-controller/sweep-local-bayes.yaml": _LOCAL_CONTROLLER,
    "sweeps:examples/local-controller/sweep-local-hyperband.yaml": _LOCAL_CONTROLLER,
    "ours:sweep-config/invalid/infinite-bound.json": _NON_FINITE,
    "probe:beta-a-zero": _ZERO_SCALE,
    "probe:normal-sigma-zero": _ZERO_SCALE,
    "probe:command-non-string": _COMMAND_TEXT,
    "probe:param-name-long-101": _NAME_BOUND,
    "probe:run-cap-20000": _RUN_CAP_BOUND,
}


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


def differences_markdown(path=CORPUS_FILE) -> str:
    """The agreement figures and every difference with its reason, for references/contracts.md."""
    report = measure(path)
    real, probes = report["real"], report["probes"]
    lines = [f"Measured on `fixtures/sweep-config/wandb-conformance.json`: this skill judges "
             f"{real['agree']} of {real['cases']} real configs ({real['rate']:.1%}) and {probes['agree']} of "
             f"{probes['cases']} synthetic probes as W&B does. Every difference is on purpose:", "",
             "| corpus case | W&B | this skill | why |", "|---|---|---|---|"]
    for item in report["differences"]:
        case = item["case"].replace("|", "\\|")
        lines.append(f"| `{case}` | {item['wandb']} | {item['ours']} | "
                     f"{item['reason'] or 'NOT INTENDED: fix the validator or explain it'} |")
    return "\n".join(lines) + "\n"
