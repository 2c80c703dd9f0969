"""The install manifest (references/schemas/install-manifest.schema.json): read, checked against the
install it describes, and built. It lists every file an install wrote, with the digest of its bytes,
and the directories it created, as paths relative to the install base."""
from __future__ import annotations

from pathlib import PurePosixPath

from ..contract import validation
from ..contract.campaign import sha256_bytes as digest  # noqa: F401  (install.py digests files with it)
from ..contract.issues import ContractError
from ..contract.paths import SKILL_ROOT
from .layout import SKILL_NAME
from .target import InstallProblem, Target, look


def skill_version(root=SKILL_ROOT) -> str:
    for line in (root / "SKILL.md").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("version:"):
            return stripped.split(":", 1)[1].strip().strip('"\'') or "unknown"
    return "unknown"


def read_manifest(target: Target):
    """The manifest of this host and scope, or None when there is none; InstallProblem when it cannot be
    trusted (invalid, for another host or scope, or naming paths outside this install's directories)."""
    path = target.base / target.manifest_rel
    state, _ = look(path)
    if state == "missing":
        return None
    fix = (f"Move {path} away only if you know the install it describes is gone; otherwise restore it. "
           "Then run the command again.")
    if state == "other":
        raise InstallProblem(path, f"{path} is not a regular file, so the install it records cannot be read", fix)
    try:
        manifest = validation.load_valid("install-manifest", path, label=str(path))
    except ContractError as error:
        raise InstallProblem(path, f"{path} is not a valid install manifest: {error.issues[0].message}", fix)
    if (manifest["host"], manifest["scope"]) != (target.host, target.scope):
        raise InstallProblem(path, f"{path} records an install for host {manifest['host']}, scope "
                             f"{manifest['scope']}, not {target.host}, {target.scope}", fix)
    outside = [p for p in manifest["files"] if not _may_hold_file(target, p)]
    outside += [d for d in manifest["dirs"] if not _may_be_dir(target, d)]
    if outside:
        raise InstallProblem(path, f"{path} names {outside[0]}, outside the directories this install writes",
                             fix)
    return manifest


def _may_hold_file(target: Target, rel: str) -> bool:
    if rel.startswith(target.skill_rel + "/"):
        return True
    agents = target.agent_rel
    return bool(agents) and PurePosixPath(rel).parent.as_posix() == agents


def ancestors(rel: str) -> list:
    parts = PurePosixPath(rel).parts
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _may_be_dir(target: Target, rel: str) -> bool:
    roots = [target.skill_rel] + ([target.agent_rel] if target.agent_rel else [])
    return rel.startswith(target.skill_rel + "/") or any(rel in ancestors(r) for r in roots)


def missing_dirs(target: Target, rels) -> list:
    """Directories (relative to base) that writing these files would create."""
    missing = set()
    for rel in rels:
        for parent in ancestors(rel)[:-1]:
            if not (target.base / parent).is_dir():
                missing.add(parent)
    return sorted(missing)


def manifest_document(target: Target, files: dict, dirs, root=SKILL_ROOT) -> dict:
    return {"schema_version": 1, "skill": SKILL_NAME, "skill_version": skill_version(root), "host": target.host,
            "scope": target.scope, "files": dict(sorted(files.items())), "dirs": sorted(set(dirs))}
