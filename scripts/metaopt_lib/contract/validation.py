"""One entry point to validate any document that crosses a boundary: schema plus semantic rules."""
from __future__ import annotations

from collections import namedtuple
from pathlib import Path

from . import document_checks, envelope_checks, schemas, state_checks, sweep_checks
from .bounds import max_bytes
from .issues import ContractError, sort_issues
from .loaders import load_document, parse_document

Kind = namedtuple("Kind", "name schema fmt check file_names description")

KINDS = {k.name: k for k in [
    Kind("campaign", "campaign", "yaml", document_checks.check_campaign,
         ("ml_metaopt_campaign.yaml", "ml_metaopt_campaign.yml"), "campaign file"),
    Kind("state", "state", "json", state_checks.check_state, ("state.json",), "campaign state"),
    Kind("history-iteration", "history-iteration", "json", lambda document, label, ctx: [], (),
         "a completed iteration (a line of history/iterations.jsonl)"),
    Kind("history-learning", "history-learning", "json", lambda document, label, ctx: [], (),
         "a learning (a line of history/learnings.jsonl)"),
    Kind("history-ledger", "history-ledger", "json", lambda document, label, ctx: [], (),
         "a spend entry of an earlier sweep (a line of history/ledger.jsonl)"),
    Kind("handoff-envelope", "handoff-envelope", "json", envelope_checks.check_envelope, (), "handoff envelope"),
    Kind("directive", "directive", "json", document_checks.check_directive, (), "directive"),
    Kind("executor-result", "executor-result", "json", document_checks.check_executor_result, (), "executor result"),
    Kind("worker-task", "worker-task", "json", document_checks.check_worker_task, (), "worker task"),
    Kind("ideation-result", "ideation-result", "json", document_checks.check_ideation_result, (),
         "ideation worker result"),
    Kind("selection-result", "selection-result", "json", document_checks.check_selection_result, (),
         "selection worker result"),
    Kind("analysis-result", "analysis-result", "json", document_checks.check_analysis_result, (),
         "analysis worker result"),
    Kind("preflight-readiness", "preflight-readiness", "json", document_checks.check_preflight,
         ("preflight-readiness.json",), "preflight readiness artifact"),
    Kind("sweep-config", "sweep-config", "json", sweep_checks.check_sweep_document, (), "W&B sweep config"),
    Kind("trial-table", "trial-table", "json", lambda document, label, ctx: [], (), "trial table of a sweep"),
    Kind("step-output", "step-output", "json", lambda document, label, ctx: [], (), "driver step output"),
    Kind("run-output", "run-output", "json", lambda document, label, ctx: [], (), "driver run output"),
    Kind("status-output", "status-output", "json", lambda document, label, ctx: [], (), "driver status view"),
    Kind("best-output", "best-output", "json", lambda document, label, ctx: [], (), "driver best output"),
    Kind("worker-registry", "worker-registry", "yaml", document_checks.check_worker_registry, ("workers.yaml",),
         "worker registry"),
    # Its paths are checked against the install they describe by hosts/install.py, which reads it.
    Kind("install-manifest", "install-manifest", "json", lambda document, label, ctx: [], ("install-manifest.json",),
         "install manifest of scripts/install.py"),
    Kind("install-output", "install-output", "json", lambda document, label, ctx: [], (), "install.py output"),
]}


class Context(namedtuple("Context", "objective task_id proposal_ids state", defaults=(None, None, None, None))):
    """What cross-document rules need: the campaign objective, the task answered (its id and proposal
    ids), the current state."""

    __slots__ = ()


def context_from_campaign(campaign: dict) -> Context:
    return Context(objective=campaign.get("objective"))


def context_from_task(task: dict) -> Context:
    proposals = (task.get("context") or {}).get("proposals")
    ids = frozenset(p.get("proposal_id") for p in proposals if isinstance(p, dict)) if proposals else None
    return Context(objective=task.get("objective"), task_id=task.get("task_id"), proposal_ids=ids)


def validate_document(kind: str, document, label: str, context: Context | None = None) -> list:
    """All issues of an already-parsed document, sorted by JSON path."""
    spec = KINDS[kind]
    issues = schemas.schema_issues(spec.schema, document, label)
    if isinstance(document, dict):
        try:
            issues += spec.check(document, label, context or Context())
        except (TypeError, AttributeError, KeyError, IndexError, ValueError, OverflowError):
            # Semantic rules assume the shapes the schema guarantees. On a document the schema
            # already rejected they run as far as its shapes allow; on a valid one a crash is a bug.
            if not issues:
                raise
    return sort_issues(issues)


def load_and_validate(kind: str, path, label: str | None = None, context: Context | None = None, within=None):
    """Read, parse and validate a file: a regular file within the kind's size bound (contract/bounds.py)
    and, with `within`, inside that directory. Returns (document or None, sorted issues)."""
    label = label or str(path)
    fmt = "yaml" if str(path).endswith((".yaml", ".yml")) else "json"
    document, parse_issues = load_document(path, label, fmt, max_bytes(kind), within)
    return _validated_parse(kind, document, parse_issues, label, context)


def parse_and_validate(kind: str, data: bytes, label: str, context: Context | None = None):
    """Parse and validate a file's bytes already read (by the file rules). Returns (document or None,
    sorted issues)."""
    document, parse_issues = parse_document(data, label, KINDS[kind].fmt)
    return _validated_parse(kind, document, parse_issues, label, context)


def _validated_parse(kind, document, parse_issues, label, context):
    if document is None and parse_issues:
        return None, sort_issues(parse_issues)
    flagged = {i.parts for i in parse_issues}
    # A value the parser already flagged (e.g. 1e-5 read as a string) would also fail its type
    # check; report the parser's clearer message only.
    issues = [i for i in validate_document(kind, document, label, context) if i.parts not in flagged]
    return document, sort_issues(parse_issues + issues)


def load_valid(kind: str, path, label: str | None = None, context: Context | None = None, within=None):
    """The document if it is valid; raises ContractError with every issue otherwise."""
    document, issues = load_and_validate(kind, path, label, context, within)
    if issues:
        raise ContractError(issues)
    return document


def infer_kind(path) -> str | None:
    """Kind from a file name or from a fixtures/<kind>/ location; None when unknown."""
    p = Path(path)
    for spec in KINDS.values():
        if p.name in spec.file_names:
            return spec.name
    if p.name.startswith("ml_metaopt_campaign") and p.suffix in (".yaml", ".yml"):
        return "campaign"
    parents = [q.name for q in p.resolve().parents]
    for index, name in enumerate(parents[:-1]):
        if parents[index + 1] == "fixtures" and name in KINDS:
            return name
    for spec in KINDS.values():
        if p.name.endswith("." + spec.name + ".json"):
            return spec.name
    return None
