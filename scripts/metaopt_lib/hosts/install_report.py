"""What scripts/install.py prints (references/schemas/install-output.schema.json)."""
from __future__ import annotations

from pathlib import Path

from ..contract.conventions import ONE_LINE_LIMIT, one_line
from .install import Plan
from .layout import HOSTS, agent_dir, skill_dir
from .target import MANIFEST_NAME


def report(plan: Plan, dry_run: bool) -> dict:
    target = plan.target
    counts = {}
    for entry in plan.entries:
        counts[entry.action] = counts.get(entry.action, 0) + 1
    document = {"schema_version": 1, "mode": plan.mode, "dry_run": dry_run, "host": target.host,
                "scope": target.scope, "base": str(target.base), "skill_dir": target.skill_rel,
                "agent_dir": target.agent_rel, "ok": plan.ok, "counts": counts,
                "files": [{"path": e.rel, "kind": e.kind, "action": e.action} for e in plan.entries],
                "problems": plan.problems, "next": one_line(_next(plan, dry_run))}
    if plan.mode == "install" and plan.ok and not dry_run:
        document["uninstall_command"] = target.command("--uninstall")
    return document


def failure_report(host: str, scope: str, base, mode: str, dry_run: bool, problem: dict, next_line=None) -> dict:
    """The report when no plan could be made (or carried out): the problem and what to do."""
    host_entry = HOSTS[host]
    problem = {"path": problem["path"], "message": one_line(problem["message"]), "fix": one_line(problem["fix"])}
    return {"schema_version": 1, "mode": mode, "dry_run": dry_run, "host": host, "scope": scope,
            "base": str(Path(base).resolve()) if base else "", "skill_dir": skill_dir(host_entry, scope),
            "agent_dir": agent_dir(host_entry, scope), "ok": False, "counts": {}, "files": [],
            "problems": [problem],
            "next": one_line(next_line or "Nothing was written: fix the problem, then run the same command again.")}


def _next(plan: Plan, dry_run: bool) -> str:
    target, title = plan.target, HOSTS[plan.target.host].title
    if not plan.ok:
        return "Nothing was written: resolve each problem, then run the same command again."
    if dry_run:
        return "Nothing was written (--dry-run): run the same command without --dry-run to do it."
    if plan.mode == "uninstall":
        if not plan.installed:
            return f"Nothing to uninstall: {target.skill_path} holds no {MANIFEST_NAME}."
        what = "the skill and its worker agents" if target.agent_rel else "the skill"
        return f"Uninstalled for {title}; start a new {title} session so it forgets {what}."
    where = "in the project" if target.scope == "project" else "in any project"
    done = f"Installed for {title}: start a new {title} session {where} (skills and agents load at session start)"
    line = f"{done}; to remove it: {target.command('--uninstall')}"
    # A command cut short would be worse than none: on long paths, point to the report's field instead.
    return line if len(line) <= ONE_LINE_LIMIT else f"{done}; to remove it, run this report's uninstall_command."
