"""Install, re-install and uninstall the skill for one host and scope, recorded in a manifest.

An install copies the skill's files (skill_files) into the host's skill directory and writes the host's
worker agent files (agent_files), then records every file it wrote, with the SHA-256 of its bytes, and
every directory it created in <skill dir>/install-manifest.json (references/schemas/install-manifest).
The manifest is what makes the rest safe:
- a re-install writes only what changed; a file still as it was written is updated, a file the user
  edited since is left as it is and reported (keep-edited), a file of an older version that is no
  longer shipped is removed when it is still as written;
- a file in the way that install.py did not write (the user's own agent of the same name, a skill
  copied there by hand) stops the install before anything is written (conflict), unless it already
  holds exactly the bytes the install would write (then it is taken over, as after an interrupted
  install);
- an uninstall removes exactly the files still as written (with the byte-code Python wrote for the
  installed modules when they ran), the manifest, and the directories the install created once they
  are empty; the user's own files, and files edited since the install,
  stay (reported).
Files are written first and the manifest last, each atomically, so an interrupted install leaves
files the next run takes over because their bytes are already right.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..contract.atomic_io import FILE_MODE, write_bytes_atomic, write_json_atomic
from ..contract.paths import SKILL_ROOT
from .agent_files import installed_agent_file, llm_workers, load_registry
from .layout import HOSTS, shown
from .manifest import digest, manifest_document, missing_dirs, read_manifest
from .skill_files import byte_code_of, is_executable, skill_files
from .target import InstallProblem, Target, look

EXECUTABLE_MODE = FILE_MODE | ((FILE_MODE & 0o444) >> 2)
WRITES = ("create", "update")


@dataclass
class Entry:
    rel: str
    kind: str
    action: str
    data: bytes | None = None
    mode: int | None = None


@dataclass
class Plan:
    target: Target
    mode: str
    entries: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    manifest: dict | None = None      # the manifest to write (install) or None (uninstall removes it)
    new_dirs: list = field(default_factory=list)
    prune_dirs: list = field(default_factory=list)
    byte_code: list = field(default_factory=list)  # Python's caches of the modules removed (not reported)
    installed: bool = True            # uninstall: whether a manifest was found
    blocked: bool = False             # a problem other than a conflicting file stops it

    @property
    def ok(self) -> bool:
        return not self.blocked and not any(e.action == "conflict" for e in self.entries)


# -- what an install writes -----------------------------------------------------------------------

def desired_files(target: Target, root=SKILL_ROOT) -> dict:
    """rel -> (bytes, mode or None, kind) of every file the install writes."""
    out = {}
    for rel in skill_files(root):
        source = root / rel
        out[f"{target.skill_rel}/{rel}"] = (source.read_bytes(), EXECUTABLE_MODE if is_executable(source) else None,
                                            "skill")
    host = HOSTS[target.host]
    if host.agents:
        registry = load_registry(root)
        location = shown(target.skill_rel, target.scope)
        for name, entry in llm_workers(registry):
            text = installed_agent_file(target.host, name, entry, registry, location, root)
            out[f"{target.agent_rel}/{name}{host.agent_suffix}"] = (text.encode("utf-8"), None, "agent")
    return out


def _kind(target: Target, rel: str) -> str:
    return "skill" if rel.startswith(target.skill_rel + "/") else "agent"


# -- planning -------------------------------------------------------------------------------------

def plan_install(target: Target, root=SKILL_ROOT) -> Plan:
    plan = Plan(target, "install")
    if target.skill_path.is_symlink() or (target.skill_path.exists() and not target.skill_path.is_dir()):
        plan.problems.append(InstallProblem(
            target.skill_path, f"{target.skill_path} is a symbolic link or not a directory, so install.py did not "
            "make it", "Move it away (it may link to a checkout of the skill), then run the command again; "
            "nothing was written.").problem)
        plan.blocked = True
        return plan
    manifest = read_manifest(target)
    recorded = manifest["files"] if manifest else {}
    wanted = desired_files(target, root)
    files = {}
    for rel, (data, mode, kind) in sorted(wanted.items()):
        state, current = look(target.base / rel)
        if state == "missing":
            action = "create"
        elif state == "other":
            action = "conflict"
        elif current == data:
            action = "unchanged"
        elif rel in recorded and digest(current) == recorded[rel]:
            action = "update"
        elif rel in recorded:
            action = "keep-edited"
        else:
            action = "conflict"
        plan.entries.append(Entry(rel, kind, action, data, mode))
        if action in ("create", "update", "unchanged"):
            files[rel] = digest(data)
        elif action == "keep-edited":
            files[rel] = recorded[rel]  # still as the user left it: the next run sees it edited again
    for rel in sorted(set(recorded) - set(wanted)):  # shipped by an older version, not by this one
        state, current = look(target.base / rel)
        if state == "missing":
            action = "already-gone"
        elif state == "file" and digest(current) == recorded[rel]:
            action = "remove"
        else:
            action = "keep-edited"
        plan.entries.append(Entry(rel, _kind(target, rel), action))
    plan.entries.sort(key=lambda e: e.rel)
    plan.new_dirs = missing_dirs(target, [e.rel for e in plan.entries if e.action in WRITES])
    old_dirs = set(manifest["dirs"]) if manifest else set()
    removed = _with_byte_code(plan)
    plan.prune_dirs = sorted((d for d in old_dirs | _cache_dirs(plan) if d.startswith(target.skill_rel + "/")
                              and _empty_after(target, d, removed)), key=lambda d: -d.count("/"))
    plan.manifest = manifest_document(target, files, (old_dirs | set(plan.new_dirs)) - set(plan.prune_dirs), root)
    _explain(plan, manifest is not None)
    return plan


def _with_byte_code(plan: Plan) -> set:
    """The files the plan removes, with the byte-code of its removed modules (kept in plan.byte_code)."""
    removed = {e.rel for e in plan.entries if e.action == "remove"}
    plan.byte_code = byte_code_of(plan.target.base, removed)
    return removed | set(plan.byte_code)


def _cache_dirs(plan: Plan) -> set:
    return {rel.rsplit("/", 1)[0] for rel in plan.byte_code}


def _empty_after(target: Target, rel_dir: str, removed: set) -> bool:
    """Whether a directory holds nothing but files the plan removes (and directories that end up empty)."""
    path = target.base / rel_dir
    try:
        children = list(path.iterdir())
    except OSError:
        return False
    for child in children:
        rel = f"{rel_dir}/{child.name}"
        if child.is_dir() and not child.is_symlink():
            if not _empty_after(target, rel, removed):
                return False
        elif rel not in removed:
            return False
    return True


def plan_uninstall(target: Target) -> Plan:
    plan = Plan(target, "uninstall")
    manifest = read_manifest(target)
    if manifest is None:
        plan.installed = False
        return plan
    for rel, recorded in sorted(manifest["files"].items()):
        state, current = look(target.base / rel)
        if state == "missing":
            action = "already-gone"
        elif state == "file" and digest(current) == recorded:
            action = "remove"
        else:
            action = "keep-edited"
        plan.entries.append(Entry(rel, _kind(target, rel), action))
    plan.entries.append(Entry(target.manifest_rel, "skill", "remove"))
    plan.entries.sort(key=lambda e: e.rel)
    removed = _with_byte_code(plan)
    plan.prune_dirs = sorted((d for d in set(manifest["dirs"]) | _cache_dirs(plan)
                              if _empty_after(target, d, removed)), key=lambda d: -d.count("/"))
    _explain(plan, True)
    return plan


def _explain(plan: Plan, had_manifest: bool) -> None:
    """One problem per file left for the user, and one per conflict (those stop the install)."""
    target = plan.target
    in_skill = [e for e in plan.entries if e.action == "conflict" and e.kind == "skill"]
    if in_skill and not had_manifest:
        plan.problems.append(InstallProblem(
            target.skill_path, f"{target.skill_path} holds {len(in_skill)} file(s) install.py did not write "
            f"(e.g. {in_skill[0].rel}); it may be a copy of the skill made by hand",
            "Move that directory away (or delete it if it is only an old copy), then run the command again; "
            "nothing was written.").problem)
        in_skill = []
    for entry in [e for e in plan.entries if e.action == "conflict" and e.kind == "agent"] + in_skill:
        path = target.base / entry.rel
        plan.problems.append(InstallProblem(
            path, f"{path} exists and install.py did not write it", "If it is your own file, rename it or move it "
            "away, then run the command again (the skill needs this name); nothing was written.").problem)
    for entry in (e for e in plan.entries if e.action == "keep-edited"):
        path = target.base / entry.rel
        if plan.mode == "uninstall":
            message, fix = (f"{path} was edited since it was installed, so it was left where it is",
                            "Delete it yourself if you no longer want it.")
        else:
            message, fix = (f"{path} was edited since it was installed, so it was left as it is (not updated)",
                            "To get this version's file, delete it (keep your change elsewhere) and run the "
                            "command again.")
        plan.problems.append(InstallProblem(path, message, fix).problem)


# -- applying -------------------------------------------------------------------------------------

def apply(plan: Plan) -> None:
    """Carry out a plan that is ok: files first, the manifest last, so a run cut short is finished by
    running it again (an install takes over the files already right; an uninstall finds them gone)."""
    if not plan.ok:
        return
    base = plan.target.base
    if plan.mode == "uninstall":
        for entry in plan.entries:
            if entry.action == "remove" and entry.rel != plan.target.manifest_rel:
                (base / entry.rel).unlink(missing_ok=True)
        (base / plan.target.manifest_rel).unlink(missing_ok=True)
    else:
        for entry in plan.entries:
            if entry.action in WRITES:
                write_bytes_atomic(base / entry.rel, entry.data, entry.mode)
            elif entry.action == "remove":
                (base / entry.rel).unlink(missing_ok=True)
    for rel in plan.byte_code:
        (base / rel).unlink(missing_ok=True)
    _prune(base, plan.prune_dirs)
    if plan.mode == "install":
        path = base / plan.target.manifest_rel
        text = json.dumps(plan.manifest, indent=2, sort_keys=True) + "\n"
        if look(path)[1] != text.encode("utf-8"):
            write_json_atomic(path, plan.manifest)


def _prune(base: Path, dirs) -> None:
    for rel in dirs:  # deepest first
        try:
            (base / rel).rmdir()
        except OSError:
            pass  # not empty (the user put something there) or already gone


