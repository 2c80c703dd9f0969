"""Semantic rules for campaigns, worker tasks and results, directives, executor results and preflight."""
from __future__ import annotations

import json

from .check_util import USD_TOLERANCE as _USD_TOLERANCE, is_number as _num, iteration_path_issue
from .issues import Issue
from .paths import SKILL_ROOT
from .sweep_checks import check_parameter_map, check_sweep_config

# Keys through which an LLM worker might try to change the user's code (no-code-patch policy).
CODE_PATCH_KEYS = frozenset({"patch", "patches", "diff", "diffs", "code_patch", "code_changes", "file_edits",
                             "edits", "files_changed", "source_changes"})
WORKER_FORBIDDEN_SWEEP_KEYS = ("program", "command")


def check_campaign(doc, label, ctx):
    out = []
    objective = doc.get("objective") if isinstance(doc, dict) else None
    stops = doc.get("stop_conditions") if isinstance(doc, dict) else None
    if isinstance(objective, dict) and isinstance(stops, dict):
        base, target = objective.get("baseline"), stops.get("target_metric")
        direction = objective.get("direction")
        if _num(base) and _num(target) and direction in ("maximize", "minimize"):
            met = target <= base if direction == "maximize" else target >= base
            if met:
                out.append(Issue(label, ("stop_conditions", "target_metric"), "campaign.target_already_met",
                                 f"target {target} is already met by the baseline {base} ({direction})",
                                 "a target better than objective.baseline",
                                 "raise (maximize) or lower (minimize) the target, or drop it"))
    if isinstance(doc, dict):
        out += check_parameter_map(doc.get("search_space"), ("search_space",), label)
    return out


def check_worker_task(doc, label, ctx):
    out = iteration_path_issue(doc, "result_path", (), label)
    context = doc.get("context") if isinstance(doc.get("context"), dict) else {}
    for index, proposal in enumerate(context.get("proposals", []) or context.get("pool", []) or []):
        key = "proposals" if "proposals" in context else "pool"
        if isinstance(proposal, dict):
            out += check_sweep_config(proposal.get("sweep_config"), ("context", key, index, "sweep_config"),
                                      label, doc.get("objective"))
    return out


def check_ideation_result(doc, label, ctx):
    out = _worker_common(doc, label, ctx)
    for index, proposal in enumerate(doc.get("proposals") or []):
        if isinstance(proposal, dict):
            out += _worker_sweep(proposal.get("sweep_config"), ("proposals", index, "sweep_config"), label, ctx)
    return out


def check_selection_result(doc, label, ctx):
    out = _worker_common(doc, label, ctx)
    out += _worker_sweep(doc.get("sweep_config"), ("sweep_config",), label, ctx)
    winner = doc.get("winning_proposal_id")
    if ctx.proposal_ids is not None and isinstance(winner, str) and winner not in ctx.proposal_ids:
        out.append(Issue(label, ("winning_proposal_id",), "worker.unknown_proposal_id",
                         f"'{winner}' is not one of the task's proposals",
                         "one of " + ", ".join(sorted(ctx.proposal_ids)), "pick a proposal id from the task"))
    return out


def check_analysis_result(doc, label, ctx):
    return _worker_common(doc, label, ctx)


def _worker_common(doc, label, ctx):
    out = []
    for parts, key in _find_keys(doc, ()):
        if key.lower() in CODE_PATCH_KEYS:
            out.append(Issue(label, parts, "worker.code_patch_forbidden",
                             f"'{key}' would change the user's code", "configuration and search-space changes only",
                             "remove it: the skill never patches code (no-code-patch policy)"))
    if ctx.task_id is not None and doc.get("task_id") not in (None, ctx.task_id):
        out.append(Issue(label, ("task_id",), "worker.task_id_mismatch",
                         f"result answers task {doc.get('task_id')!r}", f"'{ctx.task_id}'",
                         "write the result for the task you were given"))
    return out


def _worker_sweep(config, parts, label, ctx):
    out = check_sweep_config(config, parts, label, ctx.objective)
    if isinstance(config, dict):
        for key in WORKER_FORBIDDEN_SWEEP_KEYS:
            if key in config:
                out.append(Issue(label, parts + (key,), "worker.sets_program_or_command",
                                 f"workers may not set '{key}'", "no program or command in a worker's sweep config",
                                 "remove it; the code sets it from the campaign's project section"))
    return out


def check_directive(doc, label, ctx):
    out = iteration_path_issue(doc, "result_path", (), label)
    payload = doc.get("payload") if isinstance(doc.get("payload"), dict) else {}
    out += _budget_arithmetic(payload.get("budget"), ("payload", "budget"), label)
    if doc.get("type") == "launch_sweep":
        budget = payload.get("budget")
        if isinstance(budget, dict) and _num(budget.get("remaining_usd")) and budget["remaining_usd"] <= 0:
            out.append(Issue(label, ("payload", "budget", "remaining_usd"), "directive.launch_without_budget",
                             "a launch with no remaining budget", "remaining_usd > 0",
                             "do not launch; the campaign's budget is spent"))
        out += check_sweep_config(payload.get("sweep_config"), ("payload", "sweep_config"), label)
    return out


def check_executor_result(doc, label, ctx):
    out = []
    status, error, details = doc.get("status"), doc.get("error"), doc.get("details")
    if (status == "ok") != (error is None):
        out.append(Issue(label, ("error",), "executor.status_error_mismatch",
                         f"status {status!r} with error {'null' if error is None else 'set'}",
                         "error null exactly when status is ok", "set error for failures, null for success"))
    if not isinstance(details, dict):
        return out
    checker = {"run_smoke_test": _smoke, "launch_sweep": _launch, "poll_sweep": _poll,
               "teardown": _teardown}.get(doc.get("type"))
    return out + (checker(details, status, label) if checker else [])


def _smoke(details, status, label):
    passed, code, timed_out = details.get("passed"), details.get("exit_code"), details.get("timed_out")
    if isinstance(passed, bool) and isinstance(timed_out, bool):
        verdict = timed_out or (code == 0 and details.get("metric_logged") is not False)
        if passed != verdict:
            return [Issue(label, ("details", "passed"), "executor.smoke_verdict_mismatch",
                          f"passed is {json.dumps(passed)} for exit code {json.dumps(code)}, "
                          f"timed_out {json.dumps(timed_out)}, metric_logged "
                          f"{json.dumps(details.get('metric_logged'))}",
                          "passed = exit code 0 with the metric logged, or still running at the limit",
                          "recompute the verdict")]
    return []


def _launch(details, status, label):
    if status == "ok" and details.get("sweep_id") is None:
        return [Issue(label, ("details", "sweep_id"), "executor.launch_without_sweep_id",
                      "launch reported ok without a sweep id", "the backend sweep id", "report the sweep id")]
    return []


def _poll(details, status, label):
    out = _budget_arithmetic(details.get("budget"), ("details", "budget"), label)
    spend = details.get("spend") if isinstance(details.get("spend"), dict) else {}
    sources = [s for s in spend.get("sources") or [] if isinstance(s, dict)]
    if any(s.get("ok") is False for s in sources) and spend.get("complete") is True:
        out.append(Issue(label, ("details", "spend", "complete"), "executor.spend_sources_inconsistent",
                         "a cost source failed but spend is marked complete", "complete false",
                         "mark spend incomplete when any source failed"))
    if spend.get("complete") is False and status == "ok":
        out.append(Issue(label, ("details", "spend", "complete"), "executor.incomplete_spend_reported_ok",
                         "spend is unknown but the poll is reported ok", "status failed with a retryable error",
                         "never read an incomplete cost listing as a successful poll (or as zero spend)"))
    ok_usd = [s["usd"] for s in sources if s.get("ok") and _num(s.get("usd"))]
    total = spend.get("sweep_spend_usd")
    if ok_usd and _num(total) and total + _USD_TOLERANCE < max(ok_usd):
        out.append(Issue(label, ("details", "spend", "sweep_spend_usd"), "executor.spend_below_source",
                         f"reconciled spend {total} is below a source's {max(ok_usd)}",
                         "the highest successful source figure or more", "reconcile upward, never downward"))
    sweep_status, stop = details.get("sweep_status"), details.get("stop_reason")
    if sweep_status in ("pending", "running", "paused") and stop is not None:
        out.append(Issue(label, ("details", "stop_reason"), "executor.stop_reason_inconsistent",
                         f"stop_reason {stop!r} while the sweep is {sweep_status}", "null while running",
                         "set stop_reason only for stopped sweeps"))
    if sweep_status in ("finished", "canceled", "failed", "budget_exceeded") and stop is None:
        out.append(Issue(label, ("details", "stop_reason"), "executor.stop_reason_inconsistent",
                         f"sweep is {sweep_status} without a stop_reason", "why it stopped",
                         "set stop_reason"))
    budget = details.get("budget") if isinstance(details.get("budget"), dict) else {}
    spent, cap = budget.get("spent_usd"), budget.get("max_budget_usd")
    if _num(spent) and _num(cap):
        if sweep_status == "budget_exceeded" and spent + _USD_TOLERANCE < cap:
            out.append(Issue(label, ("details", "sweep_status"), "executor.budget_status_inconsistent",
                             f"budget_exceeded with spend {spent} below the cap {cap}", "spent_usd >= max_budget_usd",
                             "report the real spend or the real status"))
    return out


def _teardown(details, status, label):
    if status == "ok" and details.get("resources_remaining"):
        return [Issue(label, ("details", "resources_remaining"), "executor.teardown_incomplete",
                      "teardown reported ok while resources remain", "an empty list",
                      "report status failed until everything is down")]
    return []


def check_preflight(doc, label, ctx):
    out = []
    checks = [c for c in doc.get("checks") or [] if isinstance(c, dict)]
    failures = [f for f in doc.get("failures") or [] if isinstance(f, dict)]
    failed = {c.get("name") for c in checks if c.get("result") == "fail"}
    names = [c.get("name") for c in checks]
    for index, name in enumerate(names):
        if names.index(name) != index:
            out.append(Issue(label, ("checks", index, "name"), "preflight.duplicate_check",
                             f"check '{name}' listed twice", "each check once", "merge the entries"))
    status = doc.get("status")
    if status == "READY" and (failed or failures):
        out.append(Issue(label, ("status",), "preflight.status_mismatch", "READY with failed checks",
                         "FAILED when any check failed", "fix the failing checks and re-run preflight"))
    if status == "FAILED" and not failed:
        out.append(Issue(label, ("status",), "preflight.status_mismatch", "FAILED without a failed check",
                         "at least one check with result fail", "record which check failed"))
    listed = {f.get("check") for f in failures}
    for index, failure in enumerate(failures):
        if failure.get("check") not in failed:
            out.append(Issue(label, ("failures", index, "check"), "preflight.failure_without_check",
                             f"failure for '{failure.get('check')}' which did not fail",
                             "the name of a failed check", "match failures to failed checks"))
    for name in sorted(n for n in failed - listed if isinstance(n, str)):
        out.append(Issue(label, ("failures",), "preflight.failure_without_check",
                         f"check '{name}' failed without a failure entry", "a failure with a fix for each failed check",
                         "add the failure and how to fix it"))
    return out


def check_worker_registry(doc, label, ctx):
    out = []
    for name, worker in (doc.get("workers") or {}).items():
        if isinstance(worker, dict) and isinstance(worker.get("profile"), str):
            if worker.get("model_class") != "none" and not (SKILL_ROOT / worker["profile"]).is_file():
                out.append(Issue(label, ("workers", name, "profile"), "registry.profile_missing",
                                 f"profile {worker['profile']} does not exist", "an existing agent profile",
                                 "create the profile or fix the path"))
    return out


def _budget_arithmetic(budget, parts, label):
    if not isinstance(budget, dict):
        return []
    cap, spent, remaining = (budget.get(k) for k in ("max_budget_usd", "spent_usd", "remaining_usd"))
    if _num(cap) and _num(spent) and _num(remaining) and abs(max(0.0, cap - spent) - remaining) > _USD_TOLERANCE:
        return [Issue(label, parts + ("remaining_usd",), "budget.arithmetic",
                      f"remaining {remaining} is not max(0, {cap} - {spent})", f"{max(0.0, cap - spent):g}",
                      "recompute remaining_usd from the cap and the spend")]
    return []


def _find_keys(value, parts):
    if isinstance(value, dict):
        for key, item in value.items():
            yield parts + (key,), str(key)
            yield from _find_keys(item, parts + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _find_keys(item, parts + (index,))

