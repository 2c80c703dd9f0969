"""Generators for every generated Markdown block: tables restated from schemas and the machine module."""
from __future__ import annotations

import json

import yaml

from ..contract import machine, schemas
from ..contract.bounds import READ_BOUNDS
from ..contract.conventions import EXIT_CODES
from ..contract.paths import REFERENCES_DIR, SKILL_ROOT
from ..contract.rules import RULES
from ..contract.wandb_conformance import differences_markdown
from ..executor.local.search_space import mapping_table_markdown
from .schema_tables import field_table

HASH_VECTORS_FILE = REFERENCES_DIR / "hash-test-vectors.json"


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def states() -> str:
    rows = []
    for s in machine.STATES.values():
        agent = f"`{s.agent}`" if s.agent else "— (driver: `resume` for BLOCKED states)"
        script = f"`{machine.CONTROL_AGENTS[s.agent]}`" if s.agent else "—"
        rows.append((f"`{s.name}`", s.kind, machine.status_for(s.name), agent, script,
                     ", ".join(f"`{p}`" for p in s.phases), s.description))
    return _table(("state", "kind", "status", "control agent", "handoff script", "phases", "purpose"), rows)


def transitions() -> str:
    rows = [(f"`{t.source}`", f"`{t.target}`", f"`{t.guard}`") for t in machine.TRANSITIONS]
    return _table(("from", "to", "guard"), rows)


def terminal_cleanup() -> str:
    rows = [(f"`{name}`", ", ".join(f"`{d}`" for d in steps)) for name, steps in machine.TERMINAL_CLEANUP.items()]
    return _table(("terminal state", "cleanup directives (teardown only while resources are live)"), rows)


def field_owners() -> str:
    from ..contract import history

    state_fields = schemas.load_schema("state")["properties"]
    rows = []
    for field in state_fields:
        owner = machine.FIELD_OWNERS.get(field)
        rows.append((f"`{field}`", f"`{owner}`" if owner else "engine (driver only)"))
    for field, owner in machine.HISTORY_OWNERS.items():
        rows.append((f"`{field}` (appended to `{history.file_path(history.FIELD_KINDS[field])}`)", f"`{owner}`"))
    return _table(("state field", "only writer"), rows)


def state_work() -> str:
    rows = []
    for name in machine.RUNNING_STATES:
        workers = ", ".join(f"`{w}`" for w in machine.STATE_WORKERS.get(name, ())) or "—"
        directives = ", ".join(f"`{d}`" for d in machine.STATE_DIRECTIVES.get(name, ())) or "—"
        rows.append((f"`{name}`", workers, directives))
    return _table(("state", "workers it may dispatch", "directives it may issue (plus terminal cleanup)"), rows)


def action_kinds() -> str:
    from ..control.actions import ACTION_KINDS
    return _table(("`action.kind`", "what the host does"), [(f"`{k}`", v) for k, v in ACTION_KINDS.items()])


def preflight_checks() -> str:
    from ..preflight.checks import BACKEND_CHECKS, CHECK_ORDER
    from ..preflight.catalog import CHECK_DESCRIPTIONS
    rows = []
    for name in CHECK_ORDER:
        backends = [b for b, names in BACKEND_CHECKS.items() if name in names] or ["all"]
        passes, fix = CHECK_DESCRIPTIONS[name]
        rows.append((f"`{name}`", ", ".join(backends), passes, fix))
    return _table(("check", "backend", "passes when", "fix when it fails"), rows)


def exit_codes() -> str:
    return _table(("exit code", "meaning"), [(f"`{code}`", text) for code, text in EXIT_CODES.items()])


def schema_index() -> str:
    rows = []
    for name in schemas.schema_names():
        schema = schemas.load_schema(name)
        rows.append((f"`references/schemas/{name}.schema.json`", schema["title"],
                     schema["description"].split(". ")[0].rstrip(".") + "."))
    return _table(("schema", "title", "what it is"), rows)


def validation_rules() -> str:
    return _table(("rule", "what it protects"), [(f"`{rule}`", text) for rule, text in sorted(RULES.items())])


def size_bounds() -> str:
    def size(n):
        return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"

    return _table(("file", "at most", "why"), [(f"`{kind}`", size(b.max_bytes), b.reason)
                                               for kind, b in READ_BOUNDS.items()])


def hash_vectors() -> str:
    vectors = json.loads(HASH_VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
    blocks = []
    for vector in vectors:
        blocks.append(f"**{vector['name']}** ({vector['kind']} hash)\n\n"
                      f"```\n{vector['canonical_json']}\n```\n\n`{vector['hash']}`")
    return "\n\n".join(blocks)


def _defs_tables(schema_name, names, heading) -> str:
    parts = []
    for name in names:
        parts.append(f"{heading} `{name}`\n\n" + field_table(schema_name, f"#/$defs/{name}"))
    return "\n\n".join(parts)


def directive_payloads() -> str:
    return ("Common fields:\n\n" + field_table("directive") + "\n\n"
            + _defs_tables("directive", machine.DIRECTIVE_TYPES, "#### payload of"))


def executor_results() -> str:
    return ("Common fields:\n\n" + field_table("executor-result") + "\n\n"
            + _defs_tables("executor-result", machine.EXECUTOR_DIRECTIVES, "#### details of"))


def worker_registry() -> str:
    registry = yaml.safe_load((SKILL_ROOT / "agents" / "workers.yaml").read_text(encoding="utf-8"))
    rows = []
    for name, worker in registry["workers"].items():
        rows.append((f"`{name}`", worker["lane"], worker["model_class"], f"`{worker['profile']}`",
                     f"`{worker.get('task_schema', '—')}`", f"`{worker['result_schema']}`", worker["description"]))
    return _table(("worker", "lane", "model class", "profile", "task schema", "result schema", "role"), rows)


def worker_task_fields() -> str:
    return (field_table("worker-task") + "\n\n"
            + _defs_tables("worker-task", ("ideation", "selection", "analysis"), "#### `context` for lane"))


def sweep_config_fields() -> str:
    return field_table("sweep-config") + "\n\n#### Each parameter\n\n" + field_table("sweep-config", "#/$defs/parameter")


def step_output_fields() -> str:
    return ("Progress document:\n\n" + field_table("step-output", "#/$defs/progress")
            + "\n\nError report (printed instead when the step could not run; nothing was changed):\n\n"
            + field_table("step-output", "#/$defs/error"))


def requirements() -> str:
    lines = []
    for file_name in ("requirements.txt", "scripts/requirements-skypilot.txt"):
        for line in (SKILL_ROOT / file_name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                lines.append(f"- `{line.strip()}` ({file_name})")
    return "\n".join(lines)


BLOCKS = {
    "wandb-optuna-mapping": mapping_table_markdown,
    "states": states,
    "transitions": transitions,
    "terminal-cleanup": terminal_cleanup,
    "field-owners": field_owners,
    "state-work": state_work,
    "envelope-fields": lambda: field_table("handoff-envelope"),
    "exit-codes": exit_codes,
    "action-kinds": action_kinds,
    "preflight-checks": preflight_checks,
    "schema-index": schema_index,
    "fields-campaign": lambda: field_table("campaign"),
    "fields-state": lambda: field_table("state"),
    "fields-sweep-config": sweep_config_fields,
    "hash-vectors": hash_vectors,
    "validation-rules": validation_rules,
    "size-bounds": size_bounds,
    "directive-payloads": directive_payloads,
    "executor-results": executor_results,
    "worker-registry": worker_registry,
    "fields-worker-task": worker_task_fields,
    "fields-ideation-result": lambda: field_table("ideation-result"),
    "fields-selection-result": lambda: field_table("selection-result"),
    "fields-analysis-result": lambda: field_table("analysis-result"),
    "fields-step-output": step_output_fields,
    "fields-status-output": lambda: field_table("status-output", "#/$defs/view"),
    "requirements": requirements,
    "wandb-conformance": differences_markdown,
    "fields-preflight-readiness": lambda: field_table("preflight-readiness"),
}
