"""Issue 12's generated fuzz suite: every reader and every command that reads it, against malformed
bytes, values and file types (tests/fuzz_cases.py generates the cases and says what each command
must do with them). Zero tracebacks, one JSON document on stdout, nothing changed by a rejection,
nothing written outside the project, and every case finishes within its bound.

Cases run in-process on a project put back after each case (fuzz_cases.Restorable); the device
cases run in one memory-capped child; LinksInside checks that a link staying inside the project is
read as the file itself by every command (or refused by all); ScriptRuns runs the real scripts on
the nastiest cases to show that no traceback reaches stderr. FUZZ_CASE_SECONDS lowers the per-case bound (default 60 s)
for a quick look at a tree that still hangs; FUZZ_REPORT=FILE writes every case's outcome there.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import unittest
from dataclasses import dataclass
from pathlib import Path

import yaml

import support
import sim_host
import bad_input
import fuzz_cases as fz
from metaopt_lib.contract import schemas, validation

INGESTED_FIELDS = ("proposal_pool", "selected_sweep", "current_sweep", "analysis", "baseline", "learnings",
                   "completed_iterations", "spend_ledger")
POLL_BOOKKEEPING = ("poll_failures", "last_poll_at")
VALID_TRIAL_TABLE = {"schema_version": 1, "sweep_identity": "sim-campaign-iter-1", "backend": "local", "space": None,
                     "updated_at": "2026-11-22T08:00:00Z", "trials": []}
RESULTS = []  # every case's outcome, for FUZZ_REPORT


_REAL_EXECUTOR_PRESENT = None


def setUpModule():
    # The preflight's executor-present check starts `skypilot_wandb_worker.py run --help`, a process of
    # 0.1 s, on each of the hundreds of preflight cases; it reads no input, so the cases take the answer
    # of one real run (tests/test_preflight.py checks the probe itself).
    from metaopt_lib.preflight import checks

    global _REAL_EXECUTOR_PRESENT
    _REAL_EXECUTOR_PRESENT = checks.executor_present
    present = _REAL_EXECUTOR_PRESENT()
    checks.executor_present = lambda: present


def tearDownModule():
    from metaopt_lib.preflight import checks

    checks.executor_present = _REAL_EXECUTOR_PRESENT
    report = os.environ.get("FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(RESULTS, indent=1))


# -- the bases: one project per target, put back after every case -------------------------------------

@dataclass
class Base:
    restorable: fz.Restorable
    rel: str
    valid: bytes
    state: dict | None


_BASES = {}


def _work() -> Path:
    return bad_input.work_dir()


def _fresh_project(name) -> Path:
    root = _work() / f"fuzz-{name}"
    root.mkdir(parents=True)
    sim_host.write_project(root)
    return root


def _load_project(name) -> Path:
    """A fresh project whose state was just created: LOAD_CAMPAIGN, before its handoff ran."""
    from metaopt_lib.contract.campaign import apply_defaults, identity_hash, runtime_config_hash
    from metaopt_lib.control import engine
    from metaopt_lib.control.state_store import CampaignDir

    root = _fresh_project(name)
    campaign = apply_defaults(sim_host.campaign_document())
    CampaignDir(root).write_state(engine.initial_state(campaign, identity_hash(campaign),
                                                       runtime_config_hash(campaign), sim_host.START))
    return root


def _mechanical_project() -> Path:
    """ROLL_ITERATION right after its envelope applied, before the mechanical directive ran (a crash
    there): the next step reads the emit_iteration_report directive's spec file."""
    from metaopt_lib.control import driver

    root = bad_input.fresh_copy(fz.ROLL)
    real = driver.run_mechanical
    driver.run_mechanical = lambda cdir, state, now: state
    try:
        outcome = fz.invoke(*fz.command_line("step", None, root, None))
    finally:
        driver.run_mechanical = real
    assert outcome.code == 0 and outcome.error is None, (outcome.error, outcome.out)
    return root


def _records_project(name) -> Path:
    """A project with a finished local sweep's records (nothing runs), and poll and teardown directives."""
    from local_sweep_support import IDENTITY, Project
    from metaopt_lib.executor.local import backend as local_backend

    assert IDENTITY == fz.SWEEP_IDENTITY
    project = Project()
    try:
        launch = project.launch_directive({"x": {"min": -1.0, "max": 1.0}}, method="random", run_cap=2, agents=1)
        spec = local_backend.new_spec(launch, project.ctx)
        directives = {"poll": project.poll_directive(), "teardown": project.teardown_directive()}
    finally:
        project.close()
    status = {"schema_version": 1, "sweep_identity": IDENTITY, "generation": 1, "runner_pid": 4_000_000,
              "state": "finished", "stop_reason": "run_cap", "updated_at": sim_host.START, "ended_at": sim_host.START,
              "spend_usd": 0.0, "message": "finished: run cap reached"}
    for schema, document in (("local-sweep", spec), ("local-sweep-status", status)):
        assert schemas.schema_issues(schema, document, schema) == [], schema
    root = _work() / f"fuzz-{name}"
    sweep = root / fz.SWEEP_DIR
    sweep.mkdir(parents=True)
    (sweep / "sweep.json").write_text(json.dumps(spec, indent=2))
    (sweep / "status.json").write_text(json.dumps(status, indent=2))
    for kind, directive in directives.items():
        (root / f"{kind}.directive.json").write_text(json.dumps(directive, indent=2))
    return root


def stop_sweep_processes(root) -> list:
    """Kill the processes a case started for the records project's sweep (found by the sweep's own
    environment marker, so nothing else is touched); returns their pids."""
    from metaopt_lib.executor.local.processes import kill_pids, sweep_pids
    from metaopt_lib.executor.local.sweep import SweepFiles

    pids = sweep_pids(SweepFiles(Path(root) / fz.SWEEP_DIR))
    kill_pids(pids)
    return pids


def _valid_bytes(target, root, rel) -> bytes:
    path = root / rel
    if path.is_file():
        return path.read_bytes()
    if target.name == "trial-table":
        return json.dumps(VALID_TRIAL_TABLE, indent=2).encode()
    record = next(r for r in bad_input.read_state(root)["pending"] if r["result_path"] == rel)
    if record["kind"] == "worker_task":
        return json.dumps(bad_input.valid_worker_result(record["name"]), indent=2).encode()
    return json.dumps(bad_input.valid_executor_result(record["name"]), indent=2).encode()


def _assert_valid(target, valid: bytes) -> None:
    """The file a symlink or a BOM case carries must be valid: accepting it elsewhere proves something."""
    if target.fmt == "jsonl":
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("valid.yaml" if target.fmt == "yaml" else "valid.json")
        path.write_bytes(valid)
        if target.base == "records":
            schema = "local-sweep" if target.name.endswith("spec") else "local-sweep-status"
            issues = schemas.schema_issues(schema, json.loads(valid), target.name)
        else:
            issues = validation.load_and_validate(target.kind, path)[1]
    assert not issues, f"{target.name}: the valid file is invalid: {issues[0].message}"


def base(target) -> Base:
    if target.name not in _BASES:
        if target.base in ("fresh", "load"):
            root = (_fresh_project if target.base == "fresh" else _load_project)(target.name)
        elif target.base == "records":
            root = _records_project(target.name)
        elif target.base == "mechanical":
            root = _mechanical_project()
        else:
            root = bad_input.fresh_copy(target.base)
        if target.campaign_changes:
            document = yaml.safe_load((root / fz.CAMPAIGN).read_text())
            (root / fz.CAMPAIGN).write_text(yaml.safe_dump(support.set_dotted(document, target.campaign_changes),
                                                           sort_keys=False))
        state = bad_input.read_state(root) if (root / fz.STATE).is_file() else None
        rel = target.rel if isinstance(target.rel, str) else target.rel(state)
        valid = _valid_bytes(target, root, rel)
        _assert_valid(target, valid)
        _BASES[target.name] = Base(fz.Restorable(root), rel, valid, state)
    return _BASES[target.name]


@dataclass
class Prepared:
    case: fz.Case
    target: fz.Target
    rule: str
    root: Path
    rel: str
    before: dict
    state: dict | None
    outside: Path | None
    outside_bytes: bytes | None

    @property
    def path(self) -> Path:
        return self.root / self.rel


def prepare(case, root=None) -> Prepared:
    """Put the case's mutation in place on its (reset) base, or on `root`, a private copy of it."""
    target = fz.TARGETS_BY_NAME[case.target]
    found = base(target)
    root = found.restorable.reset() if root is None else root
    outside = fz.place(root / found.rel, case.mutation, found.valid, target, _work() / "fuzz-outside")
    return Prepared(case, target, fz.rule_for(target, case.command, case.mutation), root, found.rel,
                    fz.entries(root), found.state, outside, outside.read_bytes() if outside else None)


def command_of(prepared) -> tuple:
    return fz.command_line(prepared.case.command, prepared.target, prepared.root, prepared.path)


# -- the checks -------------------------------------------------------------------------------------

def _tail(text, size=600) -> str:
    return (text or "").strip()[-size:]


def _brief(document) -> str:
    return json.dumps(document)[:500]


def _error_text(document) -> str:
    error = document.get("error") or {}
    return " ".join([str(error.get("message", ""))] + [str(i.get("message", "")) for i in error.get("issues") or []])


class FuzzHarness(unittest.TestCase):
    maxDiff = 4000

    def run_cases(self, target_name):
        selected = [c for c in fz.cases({target_name}) if not c.in_child]
        for case in selected:
            with self.subTest(case=case.label):
                prepared = prepare(case)
                self.verify(prepared, fz.invoke(*command_of(prepared)))
        return len(selected)

    def verify(self, prepared, outcome):
        entry = {"case": prepared.case.label, "target": prepared.case.target, "command": prepared.case.command,
                 "mutation": prepared.case.mutation, "rule": prepared.rule, "code": outcome.code,
                 "seconds": round(outcome.seconds, 3), "error_code": None, "summary": None}
        try:
            document = json.loads(outcome.out)
            if isinstance(document, dict):
                entry["error_code"] = (document.get("error") or {}).get("code") if isinstance(
                    document.get("error"), dict) else None
                entry["summary"] = (document.get("summary") or _error_text(document) or "")[:200]
        except ValueError:
            pass
        try:
            self.check(prepared, outcome)
        except AssertionError as exc:
            entry.update(verdict="fail", why=str(exc)[:1500], exception=_tail(outcome.error, 1500) or None,
                         stderr=_tail(outcome.err, 400))
            RESULTS.append(entry)
            raise
        entry["verdict"] = "pass"
        RESULTS.append(entry)

    def check(self, p, o):
        if o.error is not None:
            self.fail(("hung: " if o.error.startswith("hang") else "raised:\n") + _tail(o.error, 1500))
        self.assertNotIn("Traceback", o.err, _tail(o.err))
        self.assertIsInstance(o.code, int, f"exit {o.code}: {_tail(o.err)}")
        document = self.one_document(o.out, o.err)
        self.check_contract(p.case.command, document)
        if p.outside is not None:
            self.assertEqual(p.outside.read_bytes(), p.outside_bytes, "a file outside the project was written")
            self.assertNotIn(fz.OUTSIDE_MARKER, o.out, "a file outside the project was read")
        if p.target.base == "records":
            self.assertEqual(stop_sweep_processes(p.root), [], "the case started processes of the sweep")
        after = fz.entries(p.root)
        if p.case.command in ("status", "validate"):  # read-only commands, whatever they answer
            self.assert_unchanged(p.before, after)
        elif p.case.command == "handoff":  # computes an envelope without applying it
            self.assert_state_and_journal_unchanged(p.before, after)
        getattr(self, "rule_" + p.rule.replace("-", "_"))(p, o, document, after)

    def one_document(self, out, err):
        text = out.strip()
        self.assertTrue(text, f"nothing on stdout; stderr: {_tail(err)}")
        try:
            return json.loads(text)
        except ValueError as exc:
            self.fail(f"stdout is not one JSON document ({exc}): {text[:300]}")

    def check_contract(self, command, document):
        self.assertIsInstance(document, dict, _brief(document))
        driver_like = command in ("step", "resume", "reset", "status", "run", "handoff")
        if driver_like and "error" in document or command in ("step", "resume", "reset"):
            issues = validation.validate_document("step-output", document, "stdout")
        elif command == "status":
            issues = validation.validate_document("status-output", document, "stdout")
        elif command == "run":
            issues = validation.validate_document("run-output", document, "stdout")
        elif command == "handoff":
            issues = schemas.schema_issues("handoff-envelope", document, "stdout")
        elif command == "validate":
            issues = [] if {"file", "kind", "valid", "errors"} <= set(document) and all(
                {"path", "rule", "message"} <= set(e) for e in document["errors"]) else ["not a validate.py report"]
        elif command == "preflight":
            if document.get("artifact", "") is None:
                issues = [] if {"code", "message", "fix"} <= set(document.get("error") or {}) else ["no error"]
            else:
                issues = validation.validate_document("preflight-readiness", document, "stdout")
        elif "ok" in document:  # the executor refused the directive
            error = document.get("error") or {}
            issues = [] if document["ok"] is False and error.get("code") and error.get("message") else ["bad refusal"]
        else:
            issues = validation.validate_document("executor-result", document, "stdout")
        first = issues[0] if issues else None
        self.assertEqual(issues, [], f"stdout breaks its contract: {getattr(first, 'message', first)}: "
                                     f"{_brief(document)}")

    # -- rules ------------------------------------------------------------------------------------
    def assert_unchanged(self, before, after, ignore=()):
        self.assertEqual(fz.differences(before, after, ignore), [], "the project changed although the input "
                                                                    "was rejected")

    def assert_state_and_journal_unchanged(self, before, after):
        self.assertEqual(fz.differences({k: v for k, v in before.items() if k in (fz.STATE, fz.JOURNAL)},
                                        {k: v for k, v in after.items() if k in (fz.STATE, fz.JOURNAL)}), [],
                         "state.json or the journal changed although the input was rejected")

    def rule_reject(self, p, o, document, after):
        self.assertEqual(o.code, 1, _brief(document))
        self.assertIn("error", document, _brief(document))
        codes = set(p.target.codes) | ({"input-invalid"} if fz.family(p.case.mutation) == "type" else set())
        self.assertIn(document["error"]["code"], codes, _brief(document))
        if p.target.named:
            self.assertIn(p.rel, _error_text(document), "the error does not name the file")
        self.assert_unchanged(p.before, after)

    def rule_either(self, p, o, document, after):
        self.assertIn(o.code, (0, 1), _brief(document))
        if o.code != 0 or "error" in document:
            self.assert_state_and_journal_unchanged(p.before, after)

    def _retry(self, p, o, document, fields, executor):
        self.assertEqual(o.code, 0, _brief(document))
        self.assertNotIn("error", document, _brief(document))
        state = bad_input.read_state(p.root)
        self.assertEqual(state["machine_state"], p.state["machine_state"], _brief(document))
        record = next(r for r in p.state["pending"] if r["result_path"] == p.rel)
        self.assertNotIn(record["id"], {r["id"] for r in state["pending"]}, "the bad result was not retired")
        for name in fields:
            self.assertEqual(state[name], p.state[name], f"{name} changed: the bad result was ingested")
        if executor and p.state["current_sweep"] is not None:
            self.assertEqual({k: v for k, v in state["current_sweep"].items() if k not in POLL_BOOKKEEPING},
                             {k: v for k, v in p.state["current_sweep"].items() if k not in POLL_BOOKKEEPING},
                             "the current sweep changed: the bad result was ingested")

    def rule_retry(self, p, o, document, after):
        self._retry(p, o, document, INGESTED_FIELDS, executor=False)

    def rule_retry_or_reject(self, p, o, document, after):
        if o.code == 1:
            return self.rule_reject(p, o, document, after)
        self.rule_retry(p, o, document, after)

    def rule_retry_exec(self, p, o, document, after):
        self._retry(p, o, document, ("spend_ledger",), executor=True)

    def rule_retry_exec_or_reject(self, p, o, document, after):
        if o.code == 1:
            return self.rule_reject(p, o, document, after)
        self.rule_retry_exec(p, o, document, after)

    def rule_block(self, p, o, document, after, strict=True):
        self.assertEqual(o.code, 0, _brief(document))
        self.assertEqual(document.get("machine_state"), "BLOCKED_CONFIG", _brief(document))
        block = bad_input.read_state(p.root)["block"]
        if strict:
            self.assertEqual(block["code"], "preflight-invalid", block)
        else:
            self.assertTrue(block["code"].startswith("preflight-"), block)
        self.assertIn(p.rel, block["reason"], "the block does not name the file")

    def rule_block_or_reject(self, p, o, document, after):
        if o.code == 1:
            return self.rule_reject(p, o, document, after)
        self.rule_block(p, o, document, after, strict=False)

    def rule_invalid(self, p, o, document, after):
        self.assertEqual(o.code, 1, _brief(document))
        self.assertIs(document["valid"], False, _brief(document))
        self.assertTrue(document["errors"], _brief(document))
        self.assertEqual((document["file"], document["kind"]), (str(p.path), p.target.kind))
        self.assert_unchanged(p.before, after)

    def rule_preflight(self, p, o, document, after):
        self.assertEqual(o.code, 1, _brief(document))
        if document.get("artifact", "") is None:
            text = json.dumps(document["error"])
        else:
            self.assertEqual(document["status"], "FAILED", _brief(document))
            text = json.dumps(document["failures"])
        self.assertIn(fz.CAMPAIGN, text, "the report does not name the campaign file")
        self.assert_unchanged(p.before, after, ignore=(fz.PREFLIGHT,))

    def rule_handoff(self, p, o, document, after, reject=False):
        self.assertEqual(o.code, 1, _brief(document))
        if "error" in document:
            self.assertIn(p.rel, _error_text(document), "the error does not name the file")
            if reject:
                codes = set(p.target.codes) | ({"input-invalid"} if fz.family(p.case.mutation) == "type" else set())
                self.assertIn(document["error"]["code"], codes, _brief(document))
        else:
            self.assertFalse(reject, "an envelope was computed from an invalid state")
            self.assertIn(p.rel, o.err, "stderr does not name the bad file")
        created = {k for k, v in after.items() if k == fz.HANDOFFS and v == ("dir",) and k not in p.before}
        self.assert_unchanged(p.before, {k: v for k, v in after.items() if k not in created}, ignore=(fz.PREVIEWS,))

    def rule_handoff_reject(self, p, o, document, after):
        self.rule_handoff(p, o, document, after, reject=True)

    def rule_exec_refused(self, p, o, document, after):
        self.assertEqual(o.code, 1, _brief(document))
        self.assertIs(document.get("ok"), False, f"the directive was not refused: {_brief(document)}")
        self.assertIn(p.rel, document["error"]["message"], "the refusal does not name the directive")
        self.assert_unchanged(p.before, after)

    def rule_exec_failed(self, p, o, document, after):
        self.assertEqual(o.code, 1, _brief(document))
        self.assertNotIn("ok", document, _brief(document))
        self.assertEqual(document["status"], "failed", _brief(document))
        self.assertIn(document["error"]["code"], p.target.codes, _brief(document))
        if p.target.named:
            self.assertIn(Path(p.rel).name, document["error"]["message"], "the error does not name the record")
        self.assertEqual(after.get(p.rel), p.before.get(p.rel), "the bad record was overwritten")


class Count(unittest.TestCase):
    def test_at_least_five_hundred_cases_across_every_reader_and_command(self):
        every = fz.cases()
        self.assertGreaterEqual(len(every), 500)
        per_target = {}
        for case in every:
            per_target[case.target] = per_target.get(case.target, 0) + 1
        self.assertEqual(set(per_target), set(fz.TARGETS_BY_NAME))
        self.assertGreaterEqual(min(per_target.values()), 25, per_target)
        commands = {c.command for c in every}
        self.assertLessEqual({"step", "status", "resume", "reset", "run", "validate", "preflight", "handoff",
                              "executor"}, commands)
        handoffs = {fz.TARGETS_BY_NAME[c.target].handoff for c in every if c.command == "handoff"}
        self.assertEqual(handoffs, {p.stem for p in support.SCRIPTS.glob("*_handoff.py")})
        mutations = {c.mutation for c in every}
        for required in ("nan", "infinity", "integer-5000-digits", "float-1e400", "string-10mb", "nesting-10000",
                         "nul-bytes", "invalid-utf8", "alias-bomb", "merge-key-valid", "duplicate-key",
                         "utf8-bom-valid", "fifo", "symlink-inside", "symlink-outside", "dev-zero", "dev-null",
                         "directory", "empty", "truncated-half", "above-size-bound", "proposals-100000"):
            self.assertIn(required, mutations)


class FuzzInputs(FuzzHarness):
    """Every target's cases but the devices, in-process, one subTest per case."""

    def test_campaign_on_a_fresh_project(self):
        self.run_cases("campaign")

    def test_campaign_of_a_complete_campaign_on_resume(self):
        self.run_cases("campaign@complete")

    def test_campaign_in_the_load_campaign_handoff(self):
        self.run_cases("campaign@load")

    def test_campaign_in_the_background_control_handoff(self):
        self.run_cases("campaign@ideation-gate")

    def test_state(self):
        self.run_cases("state")

    def test_state_in_run(self):
        self.run_cases("state@run")

    def test_state_in_the_hydrate_state_handoff(self):
        self.run_cases("state@hydrate")

    def test_state_in_the_iteration_close_handoff(self):
        self.run_cases("state@roll")

    def test_journal(self):
        self.run_cases("journal")

    def test_preflight_artifact_on_a_fresh_project(self):
        self.run_cases("preflight")

    def test_preflight_artifact_in_the_load_campaign_handoff(self):
        self.run_cases("preflight@load")

    def test_preflight_artifact_mid_campaign(self):
        self.run_cases("preflight@ideation-gate")

    def test_pending_worker_task(self):
        self.run_cases("ideation-task")

    def test_ideation_result(self):
        self.run_cases("ideation-result")

    def test_selection_result(self):
        self.run_cases("selection-result")

    def test_analysis_result(self):
        self.run_cases("analysis-result")

    def test_smoke_test_result(self):
        self.run_cases("smoke-result")

    def test_launch_result(self):
        self.run_cases("launch-result")

    def test_poll_result(self):
        self.run_cases("poll-result")

    def test_executor_directive(self):
        self.run_cases("executor-directive")

    def test_mechanical_directive(self):
        self.run_cases("mechanical-directive")

    def test_trial_table(self):
        self.run_cases("trial-table")

    def test_local_sweep_spec(self):
        self.run_cases("local-sweep-spec")

    def test_local_sweep_status(self):
        self.run_cases("local-sweep-status")


def _error_code(out):
    try:
        document = json.loads(out)
    except ValueError:
        return "no JSON"
    error = document.get("error") if isinstance(document, dict) else None
    return error.get("code") if isinstance(error, dict) else None


class LinksInside(unittest.TestCase):
    def test_a_link_inside_the_project_reads_as_the_file_itself_everywhere_or_nowhere(self):
        """A symlink to a valid copy inside the project: either every command treats it as the file it
        points to (same exit and error code as the file itself), or every command refuses it."""
        answers = {}
        for target in fz.TARGETS:
            found = base(target)
            for command in target.commands:
                if command == "run":
                    continue
                pair = []
                for link in (False, True):
                    root = found.restorable.reset()
                    path = root / found.rel
                    if link:
                        fz.place(path, "symlink-inside", found.valid, target, None)
                    else:
                        fz.remove(path)
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(found.valid)
                    outcome = fz.invoke(*fz.command_line(command, target, root, path))
                    if target.base == "records":
                        stop_sweep_processes(root)
                    pair.append((outcome.code, _error_code(outcome.out),
                                 "raised" if outcome.error else "returned"))
                answers[f"{target.name} / {command}"] = pair
        if all(link[0] == 1 for _, link in answers.values()):
            return  # refused everywhere: a rule, consistently kept
        for name, (file, link) in answers.items():
            with self.subTest(case=name):
                self.assertEqual(link, file, "the link is not read as the file it points to")


class Devices(FuzzHarness):
    def test_device_links_in_a_memory_capped_child(self):
        """/dev/zero and /dev/urandom never end: a reader without a bound fails here with MemoryError
        (or the bound) instead of reading forever."""
        selected = [c for c in fz.cases() if c.in_child]
        self.assertGreaterEqual(len(selected), 40)
        work = _work() / "fuzz-devices"
        prepared = []
        for index, case in enumerate(selected):
            target = fz.TARGETS_BY_NAME[case.target]
            prepared.append(prepare(case, base(target).restorable.copy_to(work / f"case-{index}")))
        manifest = []
        for index, item in enumerate(prepared):
            module, argv = command_of(item)
            manifest.append({"id": str(index), "module": module, "argv": argv})
        outcomes = fz.run_child(manifest, work)
        for index, item in enumerate(prepared):
            with self.subTest(case=item.case.label):
                self.verify(item, outcomes[str(index)])


class ScriptRuns(unittest.TestCase):
    """The real scripts on the nastiest cases: no traceback reaches stderr, one JSON document on stdout."""

    def script(self, name, *args, memory_cap=False):
        def cap():
            resource.setrlimit(resource.RLIMIT_AS, (fz.CHILD_MEMORY_BYTES, resource.getrlimit(resource.RLIMIT_AS)[1]))

        try:
            proc = subprocess.run([sys.executable, str(support.SCRIPTS / name), *map(str, args)], capture_output=True,
                                  text=True, timeout=fz.BOUND_SECONDS, stdin=subprocess.DEVNULL,
                                  preexec_fn=cap if memory_cap else None,
                                  env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        except subprocess.TimeoutExpired:
            self.fail(f"{name} {' '.join(map(str, args))} did not finish within {fz.BOUND_SECONDS:g} s")
        self.assertNotIn("Traceback", proc.stderr)
        self.assertTrue(proc.stdout.strip(), f"nothing on stdout; stderr: {_tail(proc.stderr)}")
        try:
            document = json.loads(proc.stdout)
        except ValueError as exc:
            self.fail(f"stdout is not one JSON document ({exc}): {proc.stdout[:300]}")
        return proc.returncode, document

    def mutated(self, target_name, mutation, name):
        target = fz.TARGETS_BY_NAME[target_name]
        case = fz.Case(target_name, next(iter(target.commands)), mutation)
        return prepare(case, base(target).restorable.copy_to(_work() / f"fuzz-script-{name}"))

    def test_campaign_with_nul_bytes_or_a_5000_digit_integer(self):
        for mutation in ("nul-bytes", "integer-5000-digits"):
            with self.subTest(mutation=mutation):
                p = self.mutated("campaign", mutation, mutation)
                code, document = self.script("validate.py", p.path)
                self.assertEqual((code, document["valid"]), (1, False))
                code, document = self.script("metaopt.py", "step", "--project-root", p.root, "--json", "--now", fz.START)
                self.assertEqual((code, document["error"]["code"]), (1, "campaign-invalid"))
                self.assertEqual(fz.differences(p.before, fz.entries(p.root)), [])

    def test_state_linked_outside_the_project(self):
        p = self.mutated("state", "symlink-outside", "state-outside")
        for command in ("step", "status"):
            with self.subTest(command=command):
                code, document = self.script("metaopt.py", command, "--project-root", p.root, "--json")
                self.assertEqual(code, 1, document)
                self.assertIn(document["error"]["code"], ("state-invalid", "input-invalid"))
                self.assertEqual(fz.differences(p.before, fz.entries(p.root)), [])
        code, document = self.script("background_control_handoff.py", "--project-root", p.root)
        self.assertEqual(code, 1, document)

    def test_preflight_linked_outside_creates_no_state(self):
        p = self.mutated("preflight", "symlink-outside", "preflight-outside")
        code, document = self.script("metaopt.py", "step", "--project-root", p.root, "--json", "--now", fz.START)
        if code == 1:
            self.assertEqual(fz.differences(p.before, fz.entries(p.root)), [])
        else:
            self.assertEqual(document["machine_state"], "BLOCKED_CONFIG", document)

    def test_fifo_at_a_pending_result_does_not_hold_the_lock(self):
        p = self.mutated("ideation-result", "fifo", "result-fifo")
        code, document = self.script("metaopt.py", "step", "--project-root", p.root, "--json", "--now",
                                     bad_input.clock(p.root))
        self.assertIn(code, (0, 1), document)
        code, document = self.script("metaopt.py", "step", "--project-root", p.root, "--json", "--now",
                                     bad_input.clock(p.root))
        self.assertNotEqual((document.get("error") or {}).get("code"), "busy")

    def test_fifo_directive_in_the_executor(self):
        p = self.mutated("executor-directive", "fifo", "directive-fifo")
        code, document = self.script("skypilot_wandb_worker.py", "run", "--project-root", p.root, "--directive", p.path)
        self.assertEqual((code, document.get("ok")), (1, False), document)

    def test_campaign_linked_to_dev_zero(self):
        p = self.mutated("campaign", "dev-zero", "campaign-zero")
        code, document = self.script("validate.py", p.path, memory_cap=True)
        self.assertEqual((code, document["valid"]), (1, False))
        code, document = self.script("metaopt.py", "step", "--project-root", p.root, "--json", "--now", fz.START,
                                     memory_cap=True)
        self.assertEqual((code, document["error"]["code"]), (1, "campaign-invalid"))
        self.assertEqual(fz.differences(p.before, fz.entries(p.root)), [])


if __name__ == "__main__":
    unittest.main()
