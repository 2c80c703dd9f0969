"""One install's target: a host and a scope resolved to directories, and what is at a path there now."""
from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from ..contract.conventions import one_line
from .layout import HOSTS, agent_dir, skill_dir

MANIFEST_NAME = "install-manifest.json"
# A file in the way larger than this is certainly not one the install wrote: not read, a conflict.
MAX_COMPARED_BYTES = 16 * 1024 * 1024


class InstallProblem(Exception):
    """The install cannot be planned: a bad base directory, or a manifest that cannot be trusted."""

    def __init__(self, path, message, fix):
        super().__init__(message)
        self.problem = {"path": None if path is None else str(path), "message": one_line(message),
                        "fix": one_line(fix)}


@dataclass(frozen=True)
class Target:
    """One host and scope, resolved to directories: base/skill_rel, base/agent_rel."""

    host: str
    scope: str
    base: Path

    @property
    def skill_rel(self) -> str:
        return skill_dir(HOSTS[self.host], self.scope)

    @property
    def agent_rel(self) -> str | None:
        return agent_dir(HOSTS[self.host], self.scope)

    @property
    def skill_path(self) -> Path:
        return self.base / self.skill_rel

    @property
    def manifest_rel(self) -> str:
        return f"{self.skill_rel}/{MANIFEST_NAME}"

    def command(self, *flags) -> str:
        """The install.py command of the installed copy for this target, with these flags."""
        script = f"{self.skill_path}/scripts/install.py"
        where = ["--project", str(self.base)] if self.scope == "project" else ["--scope", "user"]
        return shlex.join(["python3", script, "--host", self.host, *where, *flags])


def target_for(host: str, scope: str, project=None, home=None) -> Target:
    """The target of one install; raises InstallProblem when its base is not a directory."""
    if scope == "project":
        base = Path(project).expanduser()
        what, fix = "the project", "Pass --project the root directory of an existing project."
    else:
        base = Path(home if home is not None else os.path.expanduser("~"))
        what, fix = "the home directory ($HOME)", "Set HOME to your home directory, or install with --project."
    if not base.is_dir():
        raise InstallProblem(base, f"{base} ({what}) is not a directory", fix)
    return Target(host, scope, base.resolve())


def look(path: Path):
    """("missing" | "file" | "other", bytes or None) of what is at path now."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing", None
    except NotADirectoryError:
        return "other", None  # a parent is a file
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_COMPARED_BYTES:
        return "other", None
    try:
        return "file", path.read_bytes()
    except OSError:
        return "other", None
