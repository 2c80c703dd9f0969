"""Carry out one executor directive: validate it, run it against its backend (or answer from the
result it already has), and write a schema-valid executor result atomically."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from ..contract import validation
from ..contract.atomic_io import write_json_atomic
from ..contract.conventions import EXIT_INVALID, EXIT_OK, one_line
from ..contract.locks import FileLock
from .dependencies import MissingDependency
from .outcome import ExecContext, ExecError, Outcome, timestamp
from .records import RecordError

EXECUTOR_TYPES = ("run_smoke_test", "launch_sweep", "poll_sweep", "teardown")
BACKEND_MODULES = {"local": ".local.backend", "skypilot": ".cloud.backend"}
# A poll must always look again; every other directive answers a re-run from its recorded result.
ALWAYS_RERUN = ("poll_sweep",)


class DirectiveRefused(Exception):
    """The directive file cannot be used; nothing was run and no result was written."""

    def __init__(self, code: str, message: str, issues=()):
        super().__init__(message)
        self.code, self.message, self.issues = code, message, list(issues)

    def report(self) -> dict:
        return {"ok": False, "error": {"code": self.code, "message": self.message},
                "issues": [i.as_dict() for i in self.issues]}


def load_directive(path, ctx: ExecContext) -> dict:
    document, issues = validation.load_and_validate("directive", path, within=ctx.project_root)
    if issues:
        raise DirectiveRefused("directive-invalid", f"{path}: the directive breaks its contract; nothing was run",
                               issues)
    if document["type"] not in EXECUTOR_TYPES:
        raise DirectiveRefused("not-an-executor-directive", f"{path}: {document['type']} is run by the driver "
                               "(metaopt.py step), not by the executor")
    target = (ctx.project_root / document["result_path"]).resolve()
    if not target.is_relative_to(ctx.project_root.resolve()):
        raise DirectiveRefused("result-path-outside-project", f"{path}: result_path resolves outside the project")
    return document


def backend_for(directive: dict):
    return importlib.import_module(BACKEND_MODULES[directive["payload"]["backend"]], __package__)


def recorded_result(directive: dict, ctx: ExecContext) -> dict | None:
    """The valid result this very directive already produced, if any (a re-run after a crash)."""
    if directive["type"] in ALWAYS_RERUN:
        return None
    path = ctx.project_root / directive["result_path"]
    if not os.path.lexists(path):
        return None
    document, issues = validation.load_and_validate("executor-result", path, within=ctx.project_root)
    if issues or document["directive_id"] != directive["directive_id"] or document["type"] != directive["type"]:
        return None
    return document


def execute(directive: dict, ctx: ExecContext, smoke_limit_seconds: float | None = None) -> Outcome:
    try:
        if directive["type"] == "run_smoke_test":
            from .smoke import run_smoke_test

            return run_smoke_test(directive["payload"], ctx, smoke_limit_seconds, directive["directive_id"])
        backend = backend_for(directive)
        return getattr(backend, {"launch_sweep": "launch", "poll_sweep": "poll",
                                 "teardown": "teardown"}[directive["type"]])(directive, ctx)
    except RecordError as exc:
        return _failed(directive, ctx, ExecError("record-invalid", one_line(exc.issues[0].message), False))
    except MissingDependency as exc:
        return _failed(directive, ctx, ExecError("dependency-missing", one_line(str(exc)), False))


def _failed(directive, ctx, error: ExecError) -> Outcome:
    from .failure_details import failure_details

    return Outcome(failure_details(directive, timestamp(ctx.now())), error)


def build_result(directive: dict, outcome: Outcome, ctx: ExecContext) -> dict:
    result = {"schema_version": 1, "directive_id": directive["directive_id"], "type": directive["type"],
              "status": "ok" if outcome.ok else "failed", "completed_at": timestamp(ctx.now()),
              "error": None if outcome.ok else outcome.error.as_dict(), "details": outcome.details}
    issues = validation.validate_document("executor-result", result, directive["result_path"])
    if issues:
        raise AssertionError("executor built an invalid result (a bug): " + issues[0].message)
    return result


def run(directive_path, ctx: ExecContext, dry_run: bool = False,
        smoke_limit_seconds: float | None = None) -> tuple[int, dict]:
    """(exit code, the JSON document to print). Raises DirectiveRefused for an unusable directive."""
    directive = load_directive(directive_path, ctx)
    if dry_run:
        plan = {"would": f"run the smoke test command in {directive['payload']['working_dir']} for at most "
                         f"{directive['payload']['timeout_seconds']} s"} if directive["type"] == "run_smoke_test" \
            else backend_for(directive).plan(directive, ctx)
        return EXIT_OK, {"dry_run": True, "directive_id": directive["directive_id"], "type": directive["type"],
                         "plan": plan}
    # One executor at a time per directive: a second run (a step that lost track of one still running,
    # a host running the command twice) waits here, then answers from the first one's result.
    with FileLock(directive_path, create=False):
        result = recorded_result(directive, ctx)
        if result is None:
            result = build_result(directive, execute(directive, ctx, smoke_limit_seconds), ctx)
            write_json_atomic(Path(ctx.project_root) / directive["result_path"], result)
    return (EXIT_OK if result["status"] == "ok" else EXIT_INVALID), result
