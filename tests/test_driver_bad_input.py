"""Bad input through the real driver: generated malformed inputs for every reader (state, campaign,
envelopes, worker and executor results) give clear errors and never a traceback, and what must not
change does not change.

A simulated two-iteration campaign runs once (setUpModule) and keeps a copy of the project at every
position; each case works on a copy of one position, corrupts ONE input and steps with `metaopt.main`
in-process (a few run scripts/metaopt.py in a subprocess to show that no traceback reaches stderr).
Bugs found here were fixed; their tests now guard against regressions.
"""
import contextlib
import copy
import io
import json
import shutil
import subprocess
import sys
import tempfile
import traceback
import unittest
from pathlib import Path

import yaml

import support
import sim_host
import metaopt

from metaopt_lib.contract import schemas, validation
from metaopt_lib.contract.issues import ContractError
from metaopt_lib.control import driver, engine

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

_WORLD = {}


def setUpModule():
    tmp = tempfile.TemporaryDirectory()
    _WORLD["tmp"] = tmp
    root = Path(tmp.name) / "run"
    root.mkdir()
    sim_host.write_project(root, **{"stop_conditions.max_iterations": ITERATIONS})
    _WORLD["positions"] = sim_host.checkpoints(root, Path(tmp.name) / "positions")
    _WORLD["work"] = Path(tmp.name) / "work"
    _WORLD["count"] = 0


def tearDownModule():
    _WORLD.pop("tmp").cleanup()


# -- helpers ---------------------------------------------------------------------------------------

def position(key) -> Path:
    return _WORLD["positions"][key]


def fresh_copy(key) -> Path:
    """A private copy of the project at one position of the simulated campaign."""
    _WORLD["count"] += 1
    target = _WORLD["work"] / f"case-{_WORLD['count']}"
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
    return json.loads((Path(root) / STATE).read_text(encoding="utf-8"))


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


# == state.json ======================================================================================

STATE_POSITIONS = (IDEATION_GATE_2, POLL_GATE_2)


def state_cases(state) -> list:
    """(name, bytes) for one state: every one is an invalid state.json."""
    # A literal null and paths with a trailing newline are known bugs with tests of their own below.
    cases = [c for c in generic_json_cases(state, schemas.load_schema("state")["required"])
             if c[0] != "top-level-null"]
    data = json.dumps(state, indent=2).encode("utf-8")
    cases += [(f"truncated-at-{cut}", data[:cut]) for cut in (2, 100, len(data) // 3, len(data) - 1)]
    cases += [("bom-utf-16", b"\xff\xfe" + json.dumps(state).encode("utf-16-le")),
              ("literal-null-in-list", replaced(data, b'"pending": [', b'"pending": [null, '))]
    for parts, value in [(("step_seq",), float("nan")), (("spend_ledger", "total_usd"), float("inf")),
                         (("spend_ledger", "max_budget_usd"), float("-inf")), (("iteration",), float("nan")),
                         (("pending", 0, "attempt"), float("inf"))]:
        cases.append(("non-finite-" + "-".join(map(str, parts)), dumps(with_value(state, parts, value))))
    cases.append(("number-overflow", replaced(data, b'"no_improve_streak": 0', b'"no_improve_streak": 1e400')))
    for parts in value_paths(state):
        current = state
        for part in parts:
            current = current[part]
        cases.append(("wrong-type-" + "-".join(map(str, parts)), dumps(with_value(state, parts, wrong_type(current)))))
    for key in state["pending"][0]:
        cases.append((f"pending-missing-{key}", dumps(with_value(state, ("pending", 0, key), delete=True))))
    for parts in [("pending", 0, "unexpected"), ("campaign", "unexpected"), ("spend_ledger", "unexpected"),
                  ("hydration", "unexpected")]:
        cases.append(("unknown-key-" + "-".join(map(str, parts)), dumps(with_value(state, parts, True))))
    iteration = state["iteration"]
    for key in ("result_path", "spec_path"):
        for escape in (".ml-metaopt/../x.json", "/etc/passwd", "../../x.json", "~/.ssh/id_rsa",
                       f".ml-metaopt/results/iter-{iteration}/../../../../x.json",
                       f".ml-metaopt/results/iter-{iteration}/../../state.json",
                       f"/tmp/.ml-metaopt/results/iter-{iteration}/x.json",
                       f" .ml-metaopt/results/iter-{iteration}/x.json", "", "."):
            cases.append((f"escaping-{key}-{escape!r}", dumps(with_value(state, ("pending", 0, key), escape))))
    for parts, value in [(("step_seq",), 10 ** 12), (("iteration",), 10 ** 9), (("spend_ledger", "total_usd"), 1e300),
                         (("spend_ledger", "max_budget_usd"), 10 ** 400), (("no_improve_streak",), 10 ** 6),
                         (("pending", 0, "attempt"), 10 ** 9), (("pending", 0, "created_seq"), -1),
                         (("step_seq",), -1), (("campaign", "name"), "x" * 100000)]:
        cases.append(("huge-" + "-".join(map(str, parts)), dumps(with_value(state, parts, value))))
    others = {"machine_state": "BLOCKED_CONFIG", "status": "COMPLETE", "phase": "roll_iteration",
              "schema_version": 3, "updated_at": "2020-01-01T00:00:00Z", "created_at": "2026-13-45T00:00:00Z",
              "block": {"code": "x", "reason": "x", "fix": "x"}, "terminal": {"state": "COMPLETE", "reason": "x",
                                                                             "at": state["updated_at"]}}
    for key, value in others.items():
        cases.append((f"inconsistent-{key}", dumps(with_value(state, (key,), value))))
    cases.append(("duplicate-pending-id", dumps(with_value(state, ("pending",),
                                                           state["pending"] + [dict(state["pending"][0])]))))
    cases.append(("ledger-total-mismatch", dumps(with_value(state, ("spend_ledger", "total_usd"),
                                                            state["spend_ledger"]["total_usd"] + 1))))
    return cases


class StateReader(DriverCase):
    """A corrupted state.json: exit 1, state-invalid, and not one byte of the project changes."""

    def test_every_corrupted_state_is_refused_and_nothing_is_written(self):
        total = 0
        for key, every in zip(STATE_POSITIONS, (1, 3)):
            root = fresh_copy(key)
            good = (root / STATE).read_bytes()
            snapshot = tree(root)
            cases = state_cases(json.loads(good))[::every]
            total += len(cases)
            for index, (name, data) in enumerate(cases):
                with self.subTest(position=key, case=name):
                    write_bytes(root / STATE, data)
                    before = dict(snapshot, **{STATE: data})
                    commands = ("step", "status", "resume") if index % 10 == 0 else ("step",)
                    for command in commands:
                        code, document, err = self.drive(root, command)
                        self.assert_error_report(code, document, "state-invalid")
                        self.assertIn("state.json", document["error"]["message"])
                        self.assertTrue(document["error"]["issues"], "the report names the problems")
                        self.assertIn(document["error"]["message"], err)
                    self.assertEqual(tree(root), before, "the project changed")
            write_bytes(root / STATE, good)
        self.assertGreaterEqual(total, 300)

    def test_reset_puts_a_scratch_project_back(self):
        scratch = Scratch(POLL_GATE)
        before = tree(scratch.root)
        write_bytes(scratch.root / STATE, b"{")
        write_bytes(scratch.root / ".ml-metaopt" / "results" / "iter-1" / "extra.json", b"{}")
        self.assertEqual(tree(scratch.reset()), before)

    def test_text_output_of_a_refused_state_is_a_short_error(self):
        root = fresh_copy(IDEATION_GATE)
        write_bytes(root / STATE, b"{")
        code, text, _ = self.drive(root, json_output=False)
        self.assertEqual(code, 1)
        self.assertTrue(text.startswith("error (state-invalid): "), text)
        self.assertIn("fix: ", text)

    def test_pending_record_created_at_the_end_of_time_is_an_error_not_a_traceback(self):
        root = fresh_copy(IDEATION_GATE)
        state = read_state(root)
        state["pending"][0]["created_at"] = "9999-12-31T23:59:59Z"
        write_bytes(root / STATE, dumps(state))
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
        if code != 0:
            self.assertEqual(tree(root), before)


# == campaign file ===================================================================================

def campaign_cases() -> list:
    """(name, bytes) for ml_metaopt_campaign.yaml: every one is an invalid campaign."""
    document = sim_host.campaign_document()
    text = yaml.safe_dump(document, sort_keys=False)
    last_section = text.index("stop_conditions:")
    cases = [(f"truncated-at-{cut}", text[:cut].encode()) for cut in (1, 10, last_section // 4, last_section // 2,
                                                                      last_section - 1)]
    cases += [
        # A YAML null document (null, ~, a bare ---) is a known bug with a test of its own below.
        ("empty-file", b""), ("top-level-list", b"- a\n- b\n"),
        ("top-level-string", b"just a string\n"), ("top-level-number", b"42\n"),
        ("invalid-utf8-bytes", text.encode()[:20] + b"\xff\xfe" + text.encode()[20:]),
        ("utf-16", text.encode("utf-16")),
        ("latin-1", text.replace("sim-campaign", "sim-caf\u00e9").encode("latin-1")),
        ("tab-indentation", text.replace("  name: sim-campaign", "\tname: sim-campaign").encode()),
        ("unclosed-flow", text.replace("name: sim-campaign", "name: [sim-campaign").encode()),
        ("python-tag", text.replace("name: sim-campaign", "name: !!python/object:os.system x").encode()),
        ("duplicate-key", text.replace("compute:\n", "compute:\n  run_cap: 3\n", 1).encode()),
        ("alias-bomb", ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(8))).encode()),
    ]
    for key in schemas.load_schema("campaign")["required"]:
        cases.append((f"missing-{key}", yaml.safe_dump({k: v for k, v in document.items() if k != key}).encode()))
    replacements = [
        ("campaign.name", 123), ("campaign.name", "Not A Slug!"), ("compute.max_budget_usd", "five"),
        ("compute.run_cap", "4"), ("objective.direction", 1), ("objective.direction", "sideways"),
        ("stop_conditions.max_iterations", [1]), ("proposal_policy", "x"), ("wandb", ["sim"]),
        ("compute.max_budget_usd", -5.0), ("compute.run_cap", 0), ("compute.run_cap", 10 ** 12),
        ("stop_conditions.max_iterations", 10 ** 9), ("compute.max_budget_usd", 10 ** 30),
        ("project.repo", "../outside"), ("project.repo", "/etc"), ("project.program", "../../evil.py"),
        ("project.program", "/usr/bin/python3"), ("project.smoke_test_command", ""),
        ("campaign.unexpected", True), ("unexpected_section", {"a": 1}), ("compute.local.unexpected", 1),
    ]
    for dotted, value in replacements:
        cases.append((f"set-{dotted}={value!r}"[:80], yaml.safe_dump(sim_host.campaign_document(**{dotted: value}),
                                                                    sort_keys=False).encode()))
    for token in (".nan", ".inf", "-.inf", "1.0e+400", "1e-5"):
        cases.append((f"number-{token}", text.replace("max_budget_usd: 5.0", f"max_budget_usd: {token}").encode()))
    cases.append(("threshold-nan", text.replace("improvement_threshold: 0.005",
                                                "improvement_threshold: .nan").encode()))
    cases.append(("date-as-name", text.replace("name: sim-campaign", "name: 2026-01-01").encode()))
    return cases


class CampaignReader(DriverCase):
    def test_malformed_campaign_on_a_fresh_project_creates_no_state(self):
        root = _WORLD["work"] / "fresh-campaign"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        cases = campaign_cases()
        for name, data in cases:
            with self.subTest(case=name):
                write_bytes(root / CAMPAIGN, data)
                self.assertTrue(validation.load_and_validate("campaign", root / CAMPAIGN)[1], "not malformed")
                before = tree(root)
                code, document, _ = self.drive(root)
                self.assert_error_report(code, document, "campaign-invalid")
                self.assertIn(CAMPAIGN, document["error"]["message"])
                self.assertTrue(document["error"]["issues"])
                self.assertFalse((root / STATE).exists(), "no state.json may be created")
                self.assertFalse((root / ".ml-metaopt" / "journal.jsonl").exists())
                self.assertEqual(tree(root), before)
        self.assertGreaterEqual(len(cases), 40)

    def _block_and_resume(self, key, corrupt):
        """Corrupt the campaign at a position, step until stopped, restore it, resume; returns the root."""
        root = fresh_copy(key)
        host = sim_host.Host(root)
        good = (root / CAMPAIGN).read_bytes()
        before = read_state(root)
        write_bytes(root / CAMPAIGN, corrupt(good))
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(document["machine_state"], "BLOCKED_CONFIG")
        self.assertEqual(document["applied"]["outcome"], "blocked")
        for _ in range(5):  # the terminal cleanup (teardown of a live sweep) may need the executor
            if document["action"]["kind"] == "stop":
                break
            self.assertEqual(document["action"]["kind"], "run_executor", document)
            host.act(document["action"])
            code, document, _ = self.drive(root)
            self.assert_progress(code, document)
        self.assertEqual(document["action"]["kind"], "stop")
        blocked = read_state(root)
        self.assertEqual(blocked["block"]["code"], "campaign-invalid")
        self.assertEqual((blocked["block"]["resume_state"], blocked["block"]["resume_phase"]), key[1:])
        for field in ("completed_iterations", "spend_ledger", "baseline", "learnings", "iteration", "campaign"):
            self.assertEqual(blocked[field], before[field], field)
        code, document, _ = self.drive(root, "resume")
        self.assert_error_report(code, document, "campaign-invalid")  # still broken: resume refuses
        self.assertEqual(read_state(root), blocked)
        write_bytes(root / CAMPAIGN, good)
        code, document, _ = self.drive(root, "resume")
        self.assert_progress(code, document)
        self.assertEqual((document["machine_state"], document["phase"]), key[1:])
        return root

    def test_malformed_campaign_mid_campaign_blocks_config_and_resume_continues(self):
        corruptions = {
            IDEATION_GATE_2: lambda good: good[: len(good) // 2],
            SELECTION_GATE_2: lambda good: good.replace(b"max_budget_usd: 5.0", b"max_budget_usd: .nan"),
            SMOKE_GATE_2: lambda good: good.replace(b"program: train.py", b"program: ../train.py"),
            POLL_GATE_2: lambda good: good[:30] + b"\xff" + good[30:],
            ANALYSIS_GATE_2: lambda good: good.replace(b"run_cap: 4", b"run_cap: four"),
        }
        for key, corrupt in corruptions.items():
            with self.subTest(position=key):
                root = self._block_and_resume(key, corrupt)
                final = sim_host.Host(root).run()
                self.assertEqual(final["action"]["terminal_state"], "COMPLETE", final)
                self.assertEqual(len(read_state(root)["completed_iterations"]), ITERATIONS)

    def test_campaign_fixed_during_first_ideation_resumes_without_a_protocol_block(self):
        root = self._block_and_resume(IDEATION_GATE, lambda good: good.replace(b"run_cap: 4", b"run_cap: -1"))
        final = sim_host.Host(root).run()
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE", final["action"])


# == worker results ===================================================================================

WORKER_LANES = {
    "metaopt-ideation-worker": IDEATION_GATE,
    "metaopt-selection-worker": SELECTION_GATE,
    "metaopt-analysis-worker": ANALYSIS_GATE,
}
RESULT_KIND = {"metaopt-ideation-worker": "ideation-result", "metaopt-selection-worker": "selection-result",
               "metaopt-analysis-worker": "analysis-result"}
# What a worker result could change if it were ingested.
INGESTED_FIELDS = ("proposal_pool", "selected_sweep", "current_sweep", "analysis", "baseline", "learnings",
                   "completed_iterations", "spend_ledger")


def first_task(root, worker) -> dict:
    return next(r for r in read_state(root)["pending"] if r["name"] == worker)


def valid_worker_result(worker) -> dict:
    root = fresh_copy(WORKER_LANES[worker])  # never write into the shared position
    record = first_task(root, worker)
    sim_host.run_worker(root, record["spec_path"], sim_host.Scenario())
    return json.loads((root / record["result_path"]).read_text())


def worker_cases(worker) -> list:
    """(name, bytes) for one lane's result: every one must be rejected."""
    good = valid_worker_result(worker)
    cases = generic_json_cases(good, schemas.load_schema(RESULT_KIND[worker])["required"])
    cases += [
        ("failed-status", dumps({**{k: good[k] for k in ("schema_version", "task_id", "worker")},
                                 "status": "failed", "failure_reason": "could not think of anything"})),
        ("other-task-id", dumps(dict(good, task_id="ideation-9-99-9"))),
        ("other-worker", dumps(dict(good, worker="metaopt-analysis-worker" if "analysis" not in worker
                                    else "metaopt-ideation-worker"))),
        ("code-patch-top-level", dumps(dict(good, patch="diff --git a/train.py b/train.py\n+import os"))),
        ("schema-version-2", dumps(dict(good, schema_version=2))),
        ("status-unknown", dumps(dict(good, status="done"))),
        ("number-overflow", replaced(dumps(good), b'"schema_version": 1', b'"schema_version": 1e400')),
    ]
    if worker == "metaopt-ideation-worker":
        sweep = ("proposals", 0, "sweep_config")
        cases += [("too-many-proposals", dumps(dict(good, proposals=good["proposals"] * 6))),
                  ("no-proposals", dumps(dict(good, proposals=[]))),
                  ("huge-rationale", dumps(with_value(good, ("proposals", 0, "rationale"), "x" * 200000))),
                  ("code-patch-in-proposal", dumps(with_value(good, ("proposals", 0, "diff"), "--- a/train.py")))]
    elif worker == "metaopt-selection-worker":
        sweep = ("sweep_config",)
        cases += [("unknown-winner", dumps(dict(good, winning_proposal_id="ideation-9-99-9-p1"))),
                  ("winner-wrong-type", dumps(dict(good, winning_proposal_id=["x"]))),
                  ("multi-line-rationale", dumps(dict(good, rationale="a" * 100000)))]
    else:
        sweep = None
        cases += [("improved-as-string", dumps(dict(good, improved="yes"))),
                  ("too-many-learnings", dumps(dict(good, learnings=["x"] * 11))),
                  ("multi-line-learning", dumps(dict(good, learnings=["one\ntwo"]))),
                  ("code-patch-keys", dumps(dict(good, file_edits=[{"path": "train.py", "text": "x"}]))),
                  ("improved-nan", dumps(dict(good, improved=float("nan"))))]
    if sweep is not None:
        for name, parts, value in [
                ("lr-max-nan", sweep + ("parameters", "lr", "max"), float("nan")),
                ("lr-max-inf", sweep + ("parameters", "lr", "max"), float("inf")),
                ("lr-min-huge", sweep + ("parameters", "lr", "min"), 1e300),
                ("wrong-metric-name", sweep + ("metric", "name"), "accuracy"),
                ("wrong-metric-goal", sweep + ("metric", "goal"), "maximize"),
                ("sets-program", sweep + ("program",), "evil.py"),
                ("sets-command", sweep + ("command",), ["bash", "-c", "rm -rf ~"]),
                ("code-changes-in-sweep", sweep + ("code_changes",), ["patch train.py"]),
                ("method-unknown", sweep + ("method",), "exhaustive"),
                ("parameters-empty", sweep + ("parameters",), {})]:
            cases.append((name, dumps(with_value(good, parts, value))))
    return cases


def latest_envelope(root, state_before) -> dict:
    handoffs = sorted((Path(root) / ".ml-metaopt" / "handoffs").glob(f"{state_before['step_seq'] + 1:06d}-*.json"))
    return json.loads(handoffs[-1].read_text())


class WorkerResults(DriverCase):
    """A malformed result is never ingested: the record is rejected and retried with a new task id."""

    def _check_lane(self, worker):
        key = WORKER_LANES[worker]
        cases = worker_cases(worker)
        scratch = Scratch(key)
        for name, data in cases:
            with self.subTest(worker=worker, case=name):
                root = scratch.reset()
                before = read_state(root)
                record = first_task(root, worker)
                write_bytes(root / record["result_path"], data)
                code, document, _ = self.drive(root)
                self.assert_progress(code, document)
                after = read_state(root)
                for field in INGESTED_FIELDS:
                    self.assertEqual(after[field], before[field], f"{field} changed: the result was ingested")
                self.assertEqual(after["machine_state"], key[1])
                pending = {r["id"]: r for r in after["pending"]}
                self.assertNotIn(record["id"], pending)
                retries = [r for r in after["pending"] if r["name"] == worker
                           and r["id"] not in {p["id"] for p in before["pending"]}]
                self.assertEqual(len(retries), 1, after["pending"])
                self.assertEqual(retries[0]["attempt"], record["attempt"] + 1)
                self.assertNotEqual(retries[0]["result_path"], record["result_path"])
                envelope = latest_envelope(root, before)
                self.assertIn({"id": record["id"], "disposition": "rejected"}, envelope["resolved_pending"])
                self.assertFalse((root / record["result_path"]).exists(), "the rejected result is archived")
                self.assertEqual(document["action"]["kind"], "dispatch_workers")
                self.assertIn(retries[0]["id"], [w["task_id"] for w in document["action"]["workers"]])
        return len(cases)

    def test_ideation_results(self):
        self.assertGreaterEqual(self._check_lane("metaopt-ideation-worker"), 30)

    def test_selection_results(self):
        self.assertGreaterEqual(self._check_lane("metaopt-selection-worker"), 30)

    def test_analysis_results(self):
        self.assertGreaterEqual(self._check_lane("metaopt-analysis-worker"), 30)

    def test_out_of_attempts_blocks_protocol_without_ingesting(self):
        for worker, key in WORKER_LANES.items():
            for name, data in worker_cases(worker)[::9]:
                with self.subTest(worker=worker, case=name):
                    root = fresh_copy(key)
                    text = (root / CAMPAIGN).read_text()
                    (root / CAMPAIGN).write_text(text.replace("max_pool_size: 6", "max_pool_size: 6\n"
                                                              "  max_worker_attempts: 1"))
                    before = read_state(root)
                    for record in [r for r in before["pending"] if r["name"] == worker]:
                        write_bytes(root / record["result_path"], data)
                    code, document, _ = self.drive(root)
                    self.assert_progress(code, document)
                    after = read_state(root)
                    self.assertEqual(after["machine_state"], "BLOCKED_PROTOCOL", document)
                    self.assertEqual(after["block"]["code"], "worker-attempts-exhausted")
                    for field in INGESTED_FIELDS:
                        if field != "current_sweep":  # the block tears a live sweep down; none is live here
                            self.assertEqual(after[field], before[field], field)
                    self.assertEqual(document["action"]["kind"], "stop")


# == executor results =================================================================================

EXECUTOR_GATES = {"run_smoke_test": SMOKE_GATE, "launch_sweep": LAUNCH_GATE, "poll_sweep": POLL_GATE}


def pending_directive(root, kind) -> dict:
    return next(r for r in read_state(root)["pending"] if r["name"] == kind)


def valid_executor_result(kind) -> dict:
    root = fresh_copy(EXECUTOR_GATES[kind])
    record = pending_directive(root, kind)
    sim_host.run_executor(root, root / record["spec_path"], sim_host.Scenario(), clock(root))
    return json.loads((root / record["result_path"]).read_text())


def executor_cases(kind) -> list:
    """(name, bytes) for one executor directive's result: every one must be rejected."""
    good = valid_executor_result(kind)
    details = good["details"]
    cases = generic_json_cases(good, schemas.load_schema("executor-result")["required"])
    cases += [
        ("other-directive-id", dumps(dict(good, directive_id="teardown-9-99-9"))),
        ("other-type", dumps(dict(good, type="teardown"))),
        ("ok-with-error", dumps(dict(good, error={"code": "boom", "message": "boom", "retryable": True}))),
        ("failed-without-error", dumps(dict(good, status="failed"))),
        ("completed-at-not-a-time", dumps(dict(good, completed_at="yesterday"))),
        ("completed-at-impossible-date", dumps(dict(good, completed_at="2026-02-30T00:00:00Z"))),
        ("details-list", dumps(dict(good, details=[details]))),
        ("details-unknown-key", dumps(with_value(good, ("details", "unexpected"), 1))),
        ("number-overflow", replaced(dumps(good), b'"schema_version": 1', b'"schema_version": 1e400')),
    ]
    for key in details:
        cases.append((f"details-missing-{key}", dumps(with_value(good, ("details", key), delete=True))))
    if kind == "run_smoke_test":
        cases += [("passed-with-exit-code-1", dumps(with_value(good, ("details", "exit_code"), 1))),
                  ("duration-nan", dumps(with_value(good, ("details", "duration_seconds"), float("nan")))),
                  ("duration-inf", dumps(with_value(good, ("details", "duration_seconds"), float("inf")))),
                  ("stdout-tail-string", dumps(with_value(good, ("details", "stdout_tail"), "epoch 1")))]
    elif kind == "launch_sweep":
        cases += [("ok-without-sweep-id", dumps(with_value(good, ("details", "sweep_id"), None))),
                  ("run-cap-nan", dumps(with_value(good, ("details", "run_cap"), float("nan")))),
                  ("run-cap-huge", dumps(with_value(good, ("details", "run_cap"), 10 ** 400))),
                  ("other-sweep-identity", dumps(with_value(good, ("details", "sweep_identity"), "other-iter-1"))),
                  ("resources-string", dumps(with_value(good, ("details", "resources"), "all of them")))]
    else:
        spend = ("details", "spend", "sweep_spend_usd")
        cases += [("spend-nan", dumps(with_value(good, spend, float("nan")))),
                  ("spend-inf", dumps(with_value(good, spend, float("inf")))),
                  ("spend-huge", dumps(with_value(good, spend, 1e12))),
                  ("spend-overflow", replaced(dumps(good), b'"sweep_spend_usd": 0.05', b'"sweep_spend_usd": 1e400')),
                  ("spend-negative", dumps(with_value(good, spend, -1))),
                  ("spend-incomplete-but-ok", dumps(with_value(good, ("details", "spend", "complete"), False))),
                  ("budget-arithmetic", dumps(with_value(good, ("details", "budget", "remaining_usd"), 4.5))),
                  ("status-unknown", dumps(with_value(good, ("details", "sweep_status"), "exploded"))),
                  ("stop-reason-while-running", dumps(with_value(good, ("details", "stop_reason"), "run_cap"))),
                  ("trials-negative", dumps(with_value(good, ("details", "trials", "finished"), -1))),
                  ("best-metric-nan", dumps(with_value(good, ("details", "best_run", "metric_value"), float("nan")))),
                  ("other-sweep-identity", dumps(with_value(good, ("details", "sweep_identity"), "other-iter-1"))),
                  ("polled-at-garbage", dumps(with_value(good, ("details", "polled_at"), "soon")))]
    return cases


class ExecutorResults(DriverCase):
    """A malformed executor result changes neither the ledger nor the current sweep."""

    def _check(self, kind):
        key = EXECUTOR_GATES[kind]
        cases = executor_cases(kind)
        scratch = Scratch(key)
        for name, data in cases:
            with self.subTest(kind=kind, case=name):
                root = scratch.reset()
                before = read_state(root)
                record = pending_directive(root, kind)
                write_bytes(root / record["result_path"], data)
                code, document, _ = self.drive(root)
                self.assert_progress(code, document)
                after = read_state(root)
                self.assertEqual(after["spend_ledger"], before["spend_ledger"])
                self.assertEqual(after["machine_state"], key[1], document)
                self.assertNotIn(record["id"], {r["id"] for r in after["pending"]})
                envelope = latest_envelope(root, before)
                self.assertIn({"id": record["id"], "disposition": "rejected"}, envelope["resolved_pending"])
                self.assertEqual(envelope["outcome"], "retry")
                if kind == "poll_sweep":
                    bookkeeping = ("poll_failures", "last_poll_at")
                    self.assertEqual({k: v for k, v in after["current_sweep"].items() if k not in bookkeeping},
                                     {k: v for k, v in before["current_sweep"].items() if k not in bookkeeping})
                    self.assertEqual(after["current_sweep"]["poll_failures"],
                                     before["current_sweep"]["poll_failures"] + 1)
                    self.assertEqual(document["action"]["kind"], "wait")
                else:
                    self.assertEqual(after["current_sweep"], before["current_sweep"])
                    again = [r for r in after["pending"] if r["name"] == kind]
                    self.assertEqual([r["attempt"] for r in again], [record["attempt"] + 1])
                    self.assertEqual(document["action"]["kind"], "run_executor")
        return len(cases)

    def test_smoke_test_results(self):
        self.assertGreaterEqual(self._check("run_smoke_test"), 25)

    def test_launch_results(self):
        self.assertGreaterEqual(self._check("launch_sweep"), 25)

    def test_poll_results(self):
        self.assertGreaterEqual(self._check("poll_sweep"), 25)


# == handoff envelopes ================================================================================

ENVELOPES = support.FIXTURES / "handoff-envelope"
NOW = "2026-11-22T10:00:00Z"


def envelope_seeds() -> list:
    """(name, envelope, state) for valid fixtures with the state they apply to."""
    states = {p.stem: json.loads(p.read_text()) for p in (support.FIXTURES / "state" / "valid").glob("*.json")}
    seeds = []
    for path in sorted((ENVELOPES / "valid").glob("*.json")):
        envelope = json.loads(path.read_text())
        for state in states.values():
            if state["machine_state"] != envelope["computed_from_state"]:
                continue
            state = dict(state, step_seq=envelope["computed_against_seq"])
            try:
                engine.apply_envelope(state, envelope, NOW)
            except ContractError:
                continue
            seeds.append((path.stem, envelope, state))
            break
    return seeds


def envelope_cases() -> list:
    """(name, envelope, state): every envelope must be refused against its state."""
    cases = []
    states = {p.stem: json.loads(p.read_text()) for p in (support.FIXTURES / "state" / "valid").glob("*.json")}
    fixture_cases = support.fixture_cases("handoff-envelope")
    for name in sorted(n for n in fixture_cases if n.startswith("invalid/")):
        envelope = json.loads((ENVELOPES / name).read_text())
        named = fixture_cases[name].get("state")
        state = (json.loads((support.ROOT / named).read_text()) if named else
                 next((s for s in states.values() if s["machine_state"] == envelope.get("computed_from_state")),
                      states["wait-for-sweep"]))
        cases.append((name, envelope, state))
    required = schemas.load_schema("handoff-envelope")["required"]
    for seed_name, seed, state in envelope_seeds():
        def add(name, envelope):
            cases.append((f"{seed_name}/{name}", envelope, state))
        for key in required:
            add(f"missing-{key}", with_value(seed, (key,), delete=True))
        for key in seed:
            add(f"wrong-type-{key}", with_value(seed, (key,), 12345 if seed[key] is None else wrong_type(seed[key])))
            add(f"nested-list-{key}", with_value(seed, (key,), [[]]))
        add("unknown-key", dict(seed, unexpected=True))
        add("stale-seq", dict(seed, computed_against_seq=seed["computed_against_seq"] - 1))
        add("huge-seq", dict(seed, computed_against_seq=10 ** 30))
        add("nan-seq", dict(seed, computed_against_seq=float("nan")))
        add("resolves-unknown", dict(seed, resolved_pending=seed["resolved_pending"] + [
            {"id": "ideation-9-99-9", "disposition": "consumed"}]))
        add("patch-nan", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": "/no_improve_streak", "value": float("nan")}]))
        add("patch-path-missing", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": "/current_sweep/nope/deeper", "value": 1}]))
        add("patch-engine-field", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": "/step_seq", "value": 1}]))
        owned = "proposal_pool" if seed["agent"] == "metaopt-background-control" else "current_sweep"
        add("patch-huge-index", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": f"/{owned}/{10 ** 30}", "value": 1}]))
        add("summary-multi-line", dict(seed, summary="one\ntwo"))
        add("summary-huge", dict(seed, summary="x" * 100000))
        for escape in (".ml-metaopt/../x.json", "/etc/passwd", "../../x.json"):
            if seed["directives"]:
                directives = copy.deepcopy(seed["directives"])
                directives[0]["result_path"] = escape
                add(f"directive-result-path-{escape}", dict(seed, directives=directives))
            if seed["worker_launches"]:
                launches = copy.deepcopy(seed["worker_launches"])
                launches[0]["task_path"] = escape
                add(f"task-path-{escape}", dict(seed, worker_launches=launches))
                launches = copy.deepcopy(seed["worker_launches"])
                launches[0]["task"]["result_path"] = escape
                add(f"task-result-path-{escape}", dict(seed, worker_launches=launches))
    return cases


class Envelopes(unittest.TestCase):
    def test_seeds_apply(self):
        self.assertGreaterEqual(len(envelope_seeds()), 3, "valid fixtures to mutate")

    def test_malformed_envelopes_are_refused_and_never_mutate_the_state(self):
        cases = envelope_cases()
        for name, envelope, state in cases:
            with self.subTest(case=name):
                state_copy, envelope_copy = copy.deepcopy(state), copy.deepcopy(envelope)
                with self.assertRaises(ContractError) as caught:
                    engine.apply_envelope(state, envelope, NOW)
                self.assertTrue(caught.exception.issues)
                self.assertEqual(repr(state), repr(state_copy), "apply_envelope mutated its input state")
                self.assertEqual(repr(envelope), repr(envelope_copy), "apply_envelope mutated the envelope")
        self.assertGreaterEqual(len(cases), 150)


# == other readers: spec files and paths on disk ======================================================

class FilesOnDisk(DriverCase):
    def test_results_directory_linked_outside_metaopt_is_an_error_not_a_traceback(self):
        root = fresh_copy(IDEATION_GATE)
        outside = _WORLD["work"] / "outside-results"
        outside.mkdir()
        record = first_task(root, "metaopt-ideation-worker")
        results = (root / record["result_path"]).parent
        results.parent.mkdir(parents=True, exist_ok=True)
        results.symlink_to(outside, target_is_directory=True)
        sim_host.run_worker(root, record["spec_path"], sim_host.Scenario())
        before = read_state(root)
        code, document, _ = self.drive(root)
        self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
        self.assertEqual(read_state(root)["proposal_pool"], before["proposal_pool"], "read outside .ml-metaopt/")

    def test_corrupt_mechanical_directive_file_is_an_error_not_a_traceback(self):
        root = fresh_copy((1, "ROLL_ITERATION", "roll_iteration"))
        real = driver._run_mechanical
        driver._run_mechanical = lambda cdir, state, now: state  # a crash right after the state write
        try:
            code, document, _ = self.drive(root)
        finally:
            driver._run_mechanical = real
        self.assert_progress(code, document)
        record = next(r for r in read_state(root)["pending"] if r["name"] == "emit_iteration_report")
        spec = root / record["spec_path"]
        write_bytes(spec, spec.read_bytes()[:40])
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
        if code != 0:
            self.assertEqual(tree(root), before)

    def test_state_json_that_is_a_directory_is_state_invalid(self):
        root = fresh_copy(IDEATION_GATE)
        (root / STATE).unlink()
        (root / STATE).mkdir()
        before = tree(root)
        for command in ("step", "status", "resume"):
            code, document, _ = self.drive(root, command)
            self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_campaign_file_missing_or_a_directory_on_a_fresh_project(self):
        root = _WORLD["work"] / "no-campaign-file"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        (root / CAMPAIGN).unlink()
        for make in (lambda: None, lambda: (root / CAMPAIGN).mkdir()):
            make()
            code, document, _ = self.drive(root)
            self.assert_error_report(code, document, "campaign-invalid")
            self.assertFalse((root / STATE).exists())

    def test_journal_that_is_a_directory_is_an_error_not_a_traceback(self):
        root = fresh_copy(IDEATION_GATE)
        journal = root / ".ml-metaopt" / "journal.jsonl"
        journal.unlink()
        journal.mkdir()
        for command in ("status", "step"):
            code, document, _ = self.drive(root, command)
            if command == "step":
                self.assertEqual(validation.validate_document("step-output", document, "step output"), [])

    def test_worker_result_that_is_a_directory_is_rejected(self):
        root = fresh_copy(SELECTION_GATE)
        record = first_task(root, "metaopt-selection-worker")
        (root / record["result_path"]).mkdir(parents=True)
        before = read_state(root)
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(read_state(root)["selected_sweep"], before["selected_sweep"])
        self.assertNotIn(record["id"], {r["id"] for r in read_state(root)["pending"]})

    def test_corrupt_preflight_blocks_config_before_anything_runs(self):
        root = _WORLD["work"] / "corrupt-preflight"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        write_bytes(root / ".ml-metaopt" / "preflight-readiness.json", b'{"schema_version": 1, "status": NaN}')
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(document["machine_state"], "BLOCKED_CONFIG")
        self.assertEqual(read_state(root)["block"]["code"], "preflight-invalid")
        self.assertIsNone(read_state(root)["hydration"])


class HugeIntegers(DriverCase):
    """JSON integers beyond float range (10**400) reach math.isfinite in check_util.is_number."""

    def test_in_state(self):
        root = fresh_copy(IDEATION_GATE_2)
        huge = b'"total_usd": 1' + b"0" * 400
        write_bytes(root / STATE, replaced((root / STATE).read_bytes(), b'"total_usd": 0.1', huge))
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_in_a_worker_result(self):
        root = fresh_copy(IDEATION_GATE)
        good = valid_worker_result("metaopt-ideation-worker")
        record = first_task(root, "metaopt-ideation-worker")
        write_bytes(root / record["result_path"],
                    dumps(with_value(good, ("proposals", 0, "sweep_config", "parameters", "lr", "min"), 10 ** 400)))
        before = read_state(root)
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(read_state(root)["proposal_pool"], before["proposal_pool"])

    def test_in_an_executor_result(self):
        root = fresh_copy(POLL_GATE)
        good = valid_executor_result("poll_sweep")
        record = pending_directive(root, "poll_sweep")
        write_bytes(root / record["result_path"], dumps(with_value(good, ("details", "spend", "sweep_spend_usd"),
                                                                   10 ** 400)))
        before = read_state(root)
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(read_state(root)["spend_ledger"], before["spend_ledger"])


class NullDocuments(DriverCase):
    """A file holding only a JSON or YAML null parses without an issue and reaches the driver as None."""

    def test_state_json_null(self):
        root = fresh_copy(IDEATION_GATE)
        write_bytes(root / STATE, b"null")
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_campaign_yaml_null(self):
        root = _WORLD["work"] / "null-campaign"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        for data in (b"null\n", b"~\n", b"---\n"):
            write_bytes(root / CAMPAIGN, data)
            code, document, _ = self.drive(root)
            self.assert_error_report(code, document, "campaign-invalid")
            self.assertFalse((root / STATE).exists())


class TrailingNewlines(DriverCase):
    """Schema patterns end in `$`, which Python's re also matches just before a final newline."""

    def test_pending_path_with_a_trailing_newline(self):
        root = fresh_copy(IDEATION_GATE)
        state = read_state(root)
        state["pending"][0]["result_path"] += "\n"
        write_bytes(root / STATE, dumps(state))
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_campaign_name_with_a_trailing_newline(self):
        root = _WORLD["work"] / "newline-campaign"
        root.mkdir(parents=True)
        sim_host.write_project(root, **{"campaign.name": "sim-campaign\n"})
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "campaign-invalid")
        self.assertFalse((root / STATE).exists())


# == the real script, in a subprocess =================================================================

class Subprocess(unittest.TestCase):
    """The same refusals through scripts/metaopt.py: no traceback reaches stderr."""

    def run_script(self, root, *args):
        proc = subprocess.run([sys.executable, str(METAOPT), "step", "--project-root", str(root), "--json",
                               "--now", clock(root), *args], capture_output=True, text=True, timeout=60)
        self.assertNotIn("Traceback", proc.stderr)
        document = json.loads(proc.stdout)
        self.assertEqual(validation.validate_document("step-output", document, "stdout"), [])
        return proc.returncode, document, proc.stderr

    def test_truncated_state(self):
        root = fresh_copy(POLL_GATE_2)
        write_bytes(root / STATE, (root / STATE).read_bytes()[:333])
        before = tree(root)
        code, document, err = self.run_script(root)
        self.assertEqual((code, document["error"]["code"]), (1, "state-invalid"))
        self.assertEqual(err.strip(), document["error"]["message"])
        self.assertEqual(tree(root), before)

    def test_malformed_campaign_on_fresh_project(self):
        root = _WORLD["work"] / "subprocess-fresh"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        write_bytes(root / CAMPAIGN, b"campaign: {name: [unclosed\n")
        code, document, _ = self.run_script(root)
        self.assertEqual((code, document["error"]["code"]), (1, "campaign-invalid"))
        self.assertFalse((root / STATE).exists())

    def test_malformed_worker_and_executor_results(self):
        for key, name, data in [(IDEATION_GATE, "metaopt-ideation-worker", b'{"proposals": [NaN'),
                                (POLL_GATE, "poll_sweep", "\u00e9t\u00e9".encode("latin-1"))]:
            with self.subTest(reader=name):
                root = fresh_copy(key)
                record = next(r for r in read_state(root)["pending"] if r["name"] == name)
                write_bytes(root / record["result_path"], data)
                code, document, _ = self.run_script(root)
                self.assertEqual(code, 0)
                self.assertEqual(document["applied"]["to_state"], key[1])


# == how many ==========================================================================================

class Count(unittest.TestCase):
    def test_at_least_two_hundred_generated_malformed_inputs(self):
        counts = {
            "state": sum(len(state_cases(read_state(position(k)))) for k in STATE_POSITIONS),
            "campaign": len(campaign_cases()),
            "worker results": sum(len(worker_cases(w)) for w in WORKER_LANES),
            "executor results": sum(len(executor_cases(k)) for k in EXECUTOR_GATES),
            "envelopes": len(envelope_cases()),
        }
        for reader, count in counts.items():
            self.assertGreaterEqual(count, 25, reader)
        self.assertGreaterEqual(sum(counts.values()), 200, counts)


if __name__ == "__main__":
    unittest.main()
