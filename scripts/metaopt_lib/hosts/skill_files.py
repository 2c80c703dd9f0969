"""What an installed copy of the skill holds: what a host and the scripts need, nothing for development.

SKILL.md, LICENSE, requirements.txt, agents/ (the Codex catalog entry and the worker registry),
references/, scripts/, examples/ (SKILL.md names them) and .github/agents/ (the worker profiles the
host and the worker CLIs read). Not tests/, fixtures/, .ci/, .git/, README.md or byte-code caches.
A copy rather than a link: not every host follows a symbolic link, and a copy keeps working when the
checkout it came from moves or changes.
"""
from __future__ import annotations

import stat
from pathlib import Path

from ..contract.paths import SKILL_ROOT

TOP_FILES = ("SKILL.md", "LICENSE", "requirements.txt")
TREES = ("agents", "references", "scripts", "examples", ".github/agents")
SKIPPED_PARTS = frozenset({"__pycache__", ".ml-metaopt", ".pytest_cache", ".DS_Store"})
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".tmp")


class SourceProblem(Exception):
    """The skill's own files cannot be copied (a missing file, or one that is not a regular file)."""


def skill_files(root: Path = SKILL_ROOT) -> list:
    """Relative POSIX paths of every file an installed copy holds, sorted."""
    found = []
    for name in TOP_FILES:
        if not (root / name).is_file():
            raise SourceProblem(f"{root / name} is missing from the skill")
        found.append(name)
    for tree in TREES:
        base = root / tree
        if not base.is_dir():
            raise SourceProblem(f"{base} is missing from the skill")
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(root)
            if SKIPPED_PARTS & set(rel.parts) or path.name.endswith(SKIPPED_SUFFIXES) or path.is_dir():
                continue
            if path.is_symlink() or not path.is_file():
                raise SourceProblem(f"{path} is not a regular file; the skill holds regular files only")
            found.append(rel.as_posix())
    return sorted(found)


def is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


def byte_code_of(base: Path, modules) -> list:
    """The byte-code Python wrote for the given installed modules (relative paths; the .py ones count) when
    the installed scripts ran: <dir>/__pycache__/<stem>.<tag>.pyc. Derived from our files, so it goes
    when they go (an uninstall would otherwise leave __pycache__ directories, and their parents, behind)."""
    stems = {}
    for rel in modules:
        parent, _, name = rel.rpartition("/")
        if name.endswith(".py"):
            stems.setdefault(parent, set()).add(name[:-3])
    found = []
    for parent, names in stems.items():
        cache = base / parent / "__pycache__"
        if cache.is_symlink() or not cache.is_dir():
            continue
        for child in cache.iterdir():
            if (child.name.endswith(".pyc") and child.name.split(".", 1)[0] in names
                    and child.is_file() and not child.is_symlink()):
                found.append(f"{parent}/__pycache__/{child.name}")
    return sorted(found)
