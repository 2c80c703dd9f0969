"""The library's packages import one way: contract at the bottom, docs and the scripts on top.

A new import that points the wrong way (the contract reaching into the control plane, a handoff
starting the executor, the local backend using the cloud one) fails here, naming the module and
the import, so the layering cannot erode silently.
"""
import ast
import tempfile
import unittest
from pathlib import Path

import support

LIB = support.SCRIPTS / "metaopt_lib"
# package -> the packages it may import (besides itself)
ALLOWED = {
    "contract": set(),
    "handoffs": {"contract"},
    "control": {"contract", "handoffs", "dispatch", "report"},
    "report": {"contract", "heuristic"},
    "executor": {"contract"},
    "preflight": {"contract"},
    "heuristic": {"contract"},
    "dispatch": {"contract", "heuristic"},
    "hosts": {"contract"},
    "docs": {"contract", "handoffs", "control", "executor", "preflight", "heuristic", "dispatch", "report", "hosts"},
}
# sub-packages that must not know each other
SIBLINGS_APART = {("executor", "local"): ("executor", "cloud"), ("executor", "cloud"): ("executor", "local")}


def module_parts(lib, path):
    parts = list(path.relative_to(lib).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(lib, path):
    """(line, dotted parts relative to metaopt_lib) of every metaopt_lib import in one file, lazy ones too."""
    here = module_parts(lib, path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            elif (node.module or "").split(".")[0] == "metaopt_lib":
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                candidate = target + [alias.name]
                is_module = (lib.joinpath(*candidate).with_suffix(".py").exists()
                             or lib.joinpath(*candidate).is_dir())
                found.append((node.lineno, candidate if is_module else target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[1:]) for a in node.names
                      if a.name.split(".")[0] == "metaopt_lib"]
    return found


def violations(lib):
    problems = []
    for path in sorted(lib.rglob("*.py")):
        here = module_parts(lib, path)
        if len(here) < 1:
            continue
        if here[0] not in ALLOWED:
            problems.append(f"{path.relative_to(lib)}: not inside a package ({', '.join(sorted(ALLOWED))})")
            continue
        for line, target in imported_modules(lib, path):
            if not target or target[0] == here[0]:
                if tuple(here[:2]) in SIBLINGS_APART and tuple(target[:2]) == SIBLINGS_APART[tuple(here[:2])]:
                    problems.append(f"{path.relative_to(lib)}:{line} imports {'.'.join(target)}")
                continue
            if target[0] not in ALLOWED[here[0]]:
                problems.append(f"{path.relative_to(lib)}:{line} imports {'.'.join(target)} "
                                f"({here[0]}/ may import only {sorted(ALLOWED[here[0]]) or 'nothing else'})")
    return problems


class Layering(unittest.TestCase):
    def test_imports_point_only_down_the_layers(self):
        self.assertEqual(violations(LIB), [])

    def test_every_package_says_what_it_owns(self):
        for package in ALLOWED:
            init = LIB / package / "__init__.py"
            with self.subTest(package=package):
                tree = ast.parse(init.read_text(encoding="utf-8"))
                self.assertGreater(len(ast.get_docstring(tree) or ""), 100)

    def test_a_wrong_way_import_is_found(self):
        """The checker itself: plant upward, sideways and flat imports in a copy-shaped tree."""
        with tempfile.TemporaryDirectory() as tmp:
            lib = Path(tmp) / "metaopt_lib"
            files = {
                "__init__.py": "", "loose.py": "",
                "contract/__init__.py": "", "contract/machine.py": "from ..control import engine\n",
                "control/__init__.py": "", "control/engine.py": "from ..contract import machine\n",
                "handoffs/__init__.py": "", "handoffs/x.py": "def f():\n    from ..executor import core\n",
                "executor/__init__.py": "", "executor/core.py": "",
                "executor/local/__init__.py": "", "executor/local/poll.py": "from ..cloud import spend\n",
                "executor/cloud/__init__.py": "", "executor/cloud/spend.py": "from ...contract import machine\n",
                "preflight/__init__.py": "", "preflight/checks.py": "from metaopt_lib.control.engine import x\n",
                "docs/__init__.py": "", "docs/gen.py": "from ..control import engine\n",
            }
            for name, text in files.items():
                (lib / name).parent.mkdir(parents=True, exist_ok=True)
                (lib / name).write_text(text)
            found = violations(lib)
        self.assertEqual(len(found), 5, found)
        for where in ("loose.py", "contract/machine.py:1 imports control.engine", "handoffs/x.py:2 imports executor.core",
                      "executor/local/poll.py:1 imports executor.cloud.spend", "preflight/checks.py:1 imports control"):
            self.assertTrue(any(line.startswith(where) for line in found), (where, found))


if __name__ == "__main__":
    unittest.main()
