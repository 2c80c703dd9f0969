"""The shared world of the bad-input suites (tests/test_bad_*.py): a simulated two-iteration campaign
run once per test process, a copy of the project kept at every position, and the helpers that
corrupt one input and step the real driver in-process.

Each suite works on a copy of one position, corrupts ONE input of the reader it attacks and steps
with `metaopt.main`; a few run scripts/metaopt.py in a subprocess to show that no traceback reaches
stderr. Bugs found this way were fixed; their tests now guard against regressions.
"""
import atexit
import contextlib
import copy
import io
import json
import subprocess
import shutil
import sys
import tempfile
import traceback
import unittest
from pathlib import Path

import support
import sim_executor
import sim_host
import metaopt

from metaopt_lib.contract import validation

METAOPT = support.SCRIPTS / "metaopt.py"
STATE = ".ml-metaopt/state.json"
CAMPAIGN = "ml_metaopt_campaign.yaml"
ITERATIONS = 2

# Positions of the simulated campaign: (iteration, machine_state, phase).
IDEATION_GATE = (1, "WAIT_FOR_PROPOSALS", "gate_ideation")
IDEATION_GATE_2 = (2, "WAIT_FOR_PROPOSALS", "gate_ideation")
SELECTION_GATE = (1, "SELECT_AND_DESIGN_SWEEP", "finalize_selection")
SELECTION_GATE_2 = (2, "SELECT_AND_DESIGN_SWEEP", "finalize_selection")
SMOKE_GATE = (1, "LOCAL_SANITY", "gate_smoke_test")
SMOKE_GATE_2 = (2, "LOCAL_SANITY", "gate_smoke_test")
LAUNCH_GATE = (1, "LAUNCH_SWEEP", "confirm_launch")
POLL_GATE = (1, "WAIT_FOR_SWEEP", "gate_poll")
POLL_GATE_2 = (2, "WAIT_FOR_SWEEP", "gate_poll")
ANALYSIS_GATE = (1, "ANALYZE", "finalize_analysis")
ANALYSIS_GATE_2 = (2, "ANALYZE", "finalize_analysis")

WORKER_LANES = {
    "metaopt-ideation-worker": IDEATION_GATE,
    "metaopt-selection-worker": SELECTION_GATE,
    "metaopt-analysis-worker": ANALYSIS_GATE,
}
RESULT_KIND = {"metaopt-ideation-worker": "ideation-result", "metaopt-selection-worker": "selection-result",
               "metaopt-analysis-worker": "analysis-result"}
EXECUTOR_GATES = {"run_smoke_test": SMOKE_GATE, "launch_sweep": LAUNCH_GATE, "poll_sweep": POLL_GATE}

_WORLD = {}


def world() -> dict:
    """The simulated campaign's positions, built once per process and removed at exit."""
    if not _WORLD:
        tmp = tempfile.TemporaryDirectory()
        atexit.register(tmp.cleanup)
        root = Path(tmp.name) / "run"
        root.mkdir()
        sim_host.write_project(root, **{"stop_conditions.max_iterations": ITERATIONS})
        _WORLD.update(tmp=tmp, positions=sim_host.checkpoints(root, Path(tmp.name) / "positions"),
                      work=Path(tmp.name) / "work", count=0)
    return _WORLD


def work_dir() -> Path:
    """Where a case may create a project of its own."""
    return world()["work"]


def position(key) -> Path:
    return world()["positions"][key]


def fresh_copy(key) -> Path:
    """A private copy of the project at one position of the simulated campaign."""
    world()["count"] += 1
    target = work_dir() / f"case-{_WORLD['count']}"
    shutil.copytree(position(key), target, symlinks=True)
    return target


class Scratch:
    """One working copy of a position, put back byte for byte after every case (cheaper than a copy)."""

    def __init__(self, key):
        self.root = fresh_copy(key)
        self.snapshot = tree(self.root)

    def reset(self) -> Path:
        for path in [p for p in self.root.rglob("*") if p.is_file() and p.name != "lock"]:
            if path.relative_to(self.root).as_posix() not in self.snapshot:
                path.unlink()
        for rel, data in self.snapshot.items():
            path = self.root / rel
            if not path.is_file() or path.read_bytes() != data:
                write_bytes(path, data)
        return self.root


def read_state(root) -> dict:
    """The campaign's state with its history inline (completed iterations, learnings, every spend entry)."""
    return support.campaign_view(root)


def journal(root) -> list:
    return [json.loads(line) for line in (Path(root) / ".ml-metaopt" / "journal.jsonl").read_text().splitlines()]


def clock(root) -> str:
    return (Path(root) / ".sim" / "clock").read_text().strip()


def tree(root) -> dict:
    """Every file of the project (bytes), the lock file aside: to prove that nothing changed."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "lock"}


def dumps(document) -> bytes:
    return json.dumps(document, indent=2, allow_nan=True).encode("utf-8")


def with_value(document, parts, value=None, delete=False):
    """A deep copy of document with the value at parts replaced (or deleted)."""
    result = copy.deepcopy(document)
    node = result
    for part in parts[:-1]:
        node = node[part]
    if delete:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return result


def value_paths(value, parts=(), depth=0, max_depth=4):
    """Paths into a document (first item of every list), skipping free-form run configs."""
    if depth >= max_depth:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if parts and parts[-1] == "config":
                continue
            yield parts + (key,)
            yield from value_paths(item, parts + (key,), depth + 1, max_depth)
    elif isinstance(value, list) and value:
        yield parts + (0,)
        yield from value_paths(value[0], parts + (0,), depth + 1, max_depth)


def wrong_type(value):
    """A value of another JSON type than value."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "12"
    if isinstance(value, str):
        return 12
    if value is None:
        return [[]]
    return "x"


def generic_json_cases(document, required) -> list:
    """(name, bytes) variants that no JSON reader may accept."""
    data = json.dumps(document, indent=2).encode("utf-8")
    text = data.decode("utf-8")
    first_key = next(iter(document))
    cases = [(f"truncated-at-{cut}", data[:cut]) for cut in sorted({1, len(data) // 4, len(data) // 2, len(data) - 2})]
    cases += [
        ("empty-file", b""),
        ("whitespace-only", b" \n\t \n"),
        ("utf-16", text.encode("utf-16")),
        ("invalid-utf8-bytes", data[:12] + b"\xff\xfe\xfd" + data[12:]),
        ("latin-1", text.replace(f'"{first_key}"', f'"{first_key}\u00e9"', 1).encode("latin-1")),
        ("top-level-array", b"[]"),
        ("top-level-string", b'"ok"'),
        ("top-level-null", b"null"),
        ("top-level-number", b"42"),
        ("nested-too-deep", b"[" * 50000 + b"]" * 50000),
        ("unknown-key", dumps({**document, "unexpected_key": 1})),
        ("duplicate-key", ("{" + json.dumps(first_key) + ": " + json.dumps(document[first_key]) + ", "
                           + text.lstrip()[1:]).encode("utf-8")),
    ]
    for key in required:
        cases.append((f"missing-{key}", dumps(with_value(document, (key,), delete=True))))
    for key in document:
        cases.append((f"wrong-type-{key}", dumps(with_value(document, (key,), [[]]))))
    return cases


def replaced(data: bytes, old: bytes, new: bytes) -> bytes:
    if old not in data:
        raise AssertionError(f"case generator: {old!r} not found")
    return data.replace(old, new, 1)


def write_bytes(path, data) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def first_task(root, worker) -> dict:
    return next(r for r in read_state(root)["pending"] if r["name"] == worker)


def valid_worker_result(worker) -> dict:
    root = fresh_copy(WORKER_LANES[worker])  # never write into the shared position
    record = first_task(root, worker)
    sim_host.run_worker(root, record["spec_path"], sim_host.Scenario())
    return json.loads((root / record["result_path"]).read_text())


def pending_directive(root, kind) -> dict:
    return next(r for r in read_state(root)["pending"] if r["name"] == kind)


def valid_executor_result(kind) -> dict:
    root = fresh_copy(EXECUTOR_GATES[kind])
    record = pending_directive(root, kind)
    sim_executor.run_executor(root, root / record["spec_path"], sim_host.Scenario())
    return json.loads((root / record["result_path"]).read_text())


def latest_envelope(root, state_before) -> dict:
    handoffs = sorted((Path(root) / ".ml-metaopt" / "handoffs").glob(f"{state_before['step_seq'] + 1:06d}-*.json"))
    return json.loads(handoffs[-1].read_text())


class DriverCase(unittest.TestCase):
    """Runs the real driver in-process; a Python exception escaping it fails the case."""

    def drive(self, root, command="step", now=None, json_output=True):
        argv = [command, "--project-root", str(root)] + (["--json"] if json_output else [])
        if command != "status":
            argv += ["--now", now or clock(root)]
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                code = metaopt.main(argv, out=out)
        except SystemExit as exc:  # argparse; never expected here
            self.fail(f"usage error {exc.code}: {err.getvalue()}")
        except Exception:  # noqa: BLE001 - the point: nothing may escape
            self.fail("the driver raised instead of reporting:\n" + traceback.format_exc())
        self.assertNotIn("Traceback", err.getvalue())
        document = json.loads(out.getvalue()) if json_output else out.getvalue()
        return code, document, err.getvalue()

    def assert_error_report(self, code, document, error_code):
        self.assertEqual(code, 1, document)
        self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
        self.assertEqual(document["error"]["code"], error_code, document)
        self.assertTrue(document["error"]["message"] and document["error"]["fix"])

    def assert_progress(self, code, document):
        self.assertEqual(code, 0, document)
        self.assertEqual(validation.validate_document("step-output", document, "step output"), [])

    def run_script(self, root, *args):
        """scripts/metaopt.py step in a subprocess: no traceback may reach stderr."""
        proc = subprocess.run([sys.executable, str(METAOPT), "step", "--project-root", str(root), "--json",
                               "--now", clock(root), *args], capture_output=True, text=True, timeout=60)
        self.assertNotIn("Traceback", proc.stderr)
        document = json.loads(proc.stdout)
        self.assertEqual(validation.validate_document("step-output", document, "stdout"), [])
        return proc.returncode, document, proc.stderr
