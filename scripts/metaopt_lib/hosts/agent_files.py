"""The worker agent files of each host, generated from agents/workers.yaml and the worker profiles.

A worker's profile (.github/agents/<worker>.agent.md) is its instructions; the registry says its lane,
model class and role. From them:
- the repository's own profiles get their frontmatter (Copilot's keys) from the registry, and
  sync_docs.py fails when a profile's frontmatter drifted from it (sync_profiles);
- an install writes a Claude Code subagent (.claude/agents/<worker>.md: name, description, tools
  limited to reading and to writing the result file, the model of the worker's class) or a Copilot
  custom agent (<worker>.agent.md, user-invocable: false), each the profile's body under a short note
  that says where the installed skill is (its schemas are named relative to it).
Only the keys each host documents are used (tests/test_install.py checks them against the host's list).
"""
from __future__ import annotations

import json
import re

from ..contract import validation
from ..contract.atomic_io import write_text_atomic
from ..contract.paths import SKILL_ROOT
from .layout import SKILL_NAME

REGISTRY = "agents/workers.yaml"
PROFILE_DIR = ".github/agents"
# Claude Code: reading (task, training script, schemas) and writing the result file; no shell, no Edit.
CLAUDE_TOOLS = "Read, Glob, Grep, Write"
# Copilot's aliases: read files, and edit (which includes creating) the result file.
COPILOT_TOOLS = ("read", "edit")
_FRONTMATTER = re.compile(r"\A---\n(.*?\n)---\n", re.S)


def load_registry(root=SKILL_ROOT) -> dict:
    """agents/workers.yaml, validated (raises ContractError naming every problem)."""
    return validation.load_valid("worker-registry", root / REGISTRY)


def llm_workers(registry) -> list:
    """(worker, entry) of every LLM worker: one with a model class and a profile under .github/agents/."""
    return [(name, entry) for name, entry in registry["workers"].items()
            if entry["model_class"] != "none" and entry["profile"].startswith(PROFILE_DIR + "/")]


def description(entry) -> str:
    lane = entry["lane"]
    return (f"{lane.capitalize()} worker of the {SKILL_NAME} skill. {entry['description']} Reads one worker "
            "task and writes only its result file. Used only when a campaign step dispatches it.")


def frontmatter_fields(host: str, name, entry, registry) -> list:
    """The (key, value) pairs of a worker's agent file for a host, in file order."""
    if host == "copilot":
        return [("name", name), ("description", description(entry)), ("tools", list(COPILOT_TOOLS)),
                ("user-invocable", False)]
    if host == "claude":
        return [("name", name), ("description", description(entry)), ("tools", CLAUDE_TOOLS),
                ("model", registry["models"][entry["model_class"]]["claude"])]
    raise ValueError(f"host {host!r} gets no agent files")


def render_frontmatter(fields) -> str:
    lines = ["---"]
    for key, value in fields:
        if isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  - {item}" for item in value]
        elif key == "description":
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines + ["---"]) + "\n"


def split_profile(text: str):
    """(frontmatter text or None, body) of a profile."""
    match = _FRONTMATTER.match(text)
    if not match:
        return None, text
    return match.group(0), text[match.end():]


def profile_body(entry, root=SKILL_ROOT) -> str:
    _, body = split_profile((root / entry["profile"]).read_text(encoding="utf-8"))
    return body


def installed_agent_file(host: str, name, entry, registry, skill_location: str, root=SKILL_ROOT) -> str:
    """The agent file an install writes: generated frontmatter, where the skill is, the profile's body."""
    note = (f"> Written by the {SKILL_NAME} skill's `scripts/install.py` from `{REGISTRY}` and "
            f"`{entry['profile']}`; `install.py --uninstall` removes it. The skill is in "
            f"`{skill_location}/`: the `references/` paths below are inside it.\n")
    body = profile_body(entry, root)
    return render_frontmatter(frontmatter_fields(host, name, entry, registry)) + "\n" + note + \
        (body if body.startswith("\n") else "\n" + body)


def sync_profiles(write: bool, root=SKILL_ROOT) -> tuple:
    """(stale profiles, problems): the repository's own worker profiles whose frontmatter is not the one
    the registry gives (rewritten, body kept, when write is True), and profiles that cannot be synced."""
    stale, problems = [], []
    registry = load_registry(root)
    for name, entry in llm_workers(registry):
        path = root / entry["profile"]
        rel = entry["profile"]
        if not path.is_file():
            problems.append(f"{rel}: the profile of {name} ({REGISTRY}) is missing")
            continue
        text = path.read_text(encoding="utf-8")
        current, body = split_profile(text)
        if current is None:
            problems.append(f"{rel}: no YAML frontmatter between --- lines at the top")
            continue
        expected = render_frontmatter(frontmatter_fields("copilot", name, entry, registry)) + body
        if expected != text:
            stale.append(rel)
            if write:
                write_text_atomic(path, expected)
    return stale, problems
