"""Warnings: what a document may say but probably should not. A warning never makes a document invalid.

One channel for every kind: `document_warnings(kind, document, label)` returns Issues, sorted by JSON
path, that validate.py lists under "warnings" and the preflight prints on stderr. They are:
- a secret written into the campaign (campaign_secrets.py);
- a distribution W&B only warns about: log_uniform, inv_log_uniform and q_log_uniform, whose min and
  max are natural-log exponents (W&B's params.py names the *_values form instead);
- a metric name outside W&B's documented pattern, which its UI cannot sort or filter runs by;
- a W&B entity with characters W&B's new team names never have (upper case, dots...): it may be an
  old account, so only a warning.
"""
from __future__ import annotations

import re

from .campaign_secrets import campaign_secret_warnings
from .issues import Issue, sort_issues
from .sweep_checks import leaves
from .sweep_distributions import DEPRECATED, NESTED_KEY

# W&B: "Metric names must follow GraphQL naming conventions so that you can sort and filter them in the UI."
SORTABLE_METRIC_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
NEW_ENTITY_NAME = re.compile(r"[a-z0-9_-]+")


def document_warnings(kind: str, document, label: str) -> list:
    """Every warning about an already-parsed document of this kind (none for kinds without any)."""
    if not isinstance(document, dict):
        return []
    if kind == "campaign":
        return sort_issues(campaign_secret_warnings(document, label) + campaign_warnings(document, label))
    if kind == "sweep-config":
        return sort_issues(sweep_warnings(document, (), label))
    return []


def campaign_warnings(campaign: dict, label: str) -> list:
    """The objective metric's name, the W&B entity's spelling, old distributions in search_space."""
    out = []
    objective, wandb = campaign.get("objective"), campaign.get("wandb")
    if isinstance(objective, dict):
        out += metric_name_warnings(objective.get("metric"), ("objective", "metric"), label)
    entity = wandb.get("entity") if isinstance(wandb, dict) else None
    if isinstance(entity, str) and entity and not NEW_ENTITY_NAME.fullmatch(entity):
        out.append(Issue(label, ("wandb", "entity"), "campaign.wandb_entity_unusual",
                         f"entity {entity!r} is not spelled as W&B spells new user and team names",
                         "lower-case letters, digits, hyphens and underscores, as in wandb.ai/ENTITY",
                         "copy the entity from your W&B address; ignore this warning if it is spelled so there"))
    out += deprecated_distribution_warnings(campaign.get("search_space"), ("search_space",), label)
    return out


def sweep_warnings(config: dict, parts: tuple, label: str) -> list:
    """The warnings of one sweep config found at parts."""
    metric = config.get("metric")
    out = metric_name_warnings(metric.get("name"), parts + ("metric", "name"), label) if isinstance(metric, dict) else []
    return out + deprecated_distribution_warnings(config.get("parameters"), parts + ("parameters",), label)


def metric_name_warnings(name, parts: tuple, label: str) -> list:
    if not isinstance(name, str) or SORTABLE_METRIC_NAME.fullmatch(name):
        return []
    suggestion = re.sub(r"[^_a-zA-Z0-9]", "_", name)
    suggestion = suggestion if SORTABLE_METRIC_NAME.fullmatch(suggestion) else "_" + suggestion
    return [Issue(label, parts, "sweep.metric_name_unsortable",
                  f"metric name {name!r} cannot be sorted or filtered by in W&B's UI",
                  "letters, digits and underscores, not starting with a digit (W&B's ^[_a-zA-Z][_a-zA-Z0-9]*$)",
                  f"log the metric under a name such as {suggestion!r} and use that name here, if you can "
                  "change what the program logs; the sweep works either way")]


def deprecated_distribution_warnings(params, parts: tuple, label: str) -> list:
    if not isinstance(params, dict):
        return []
    out = []
    for name, spec, spec_parts in leaves(params, parts):
        dist = spec.get("distribution")
        if NESTED_KEY in spec or dist not in DEPRECATED:
            continue
        out.append(Issue(label, spec_parts + ("distribution",), "sweep.deprecated_distribution",
                         f"'{name}' uses {dist}, whose min and max are natural-log exponents (W&B warns)",
                         f"{DEPRECATED[dist]} with the raw bounds",
                         f"write distribution {DEPRECATED[dist]} with min e^min and max e^max "
                         "(e.g. min -9.2 becomes 1.0e-4)"))
    return out
