"""Bad input in the campaign's other files (mechanical directive specs, the journal, the preflight
artifact), and the count of generated malformed inputs across every bad-input suite."""
import unittest

import support  # noqa: F401
import sim_host

from bad_input import (EXECUTOR_GATES, IDEATION_GATE, WORKER_LANES, DriverCase, dumps, fresh_copy, position,
                       read_state, tree, work_dir, write_bytes)
from metaopt_lib.contract import validation
from metaopt_lib.control import driver
from test_bad_campaign import campaign_cases
from test_bad_envelopes import envelope_cases
from test_bad_executor_results import executor_cases
from test_bad_state import STATE_POSITIONS, state_cases
from test_bad_worker_results import worker_cases


class FilesOnDisk(DriverCase):
    """Spec files, the journal and the preflight artifact: unusable files are reported, never a traceback."""

    def test_corrupt_mechanical_directive_file_is_an_error_not_a_traceback(self):
        root = fresh_copy((1, "ROLL_ITERATION", "roll_iteration"))
        real = driver.run_mechanical
        driver.run_mechanical = lambda cdir, state, now: state  # a crash right after the state write
        try:
            code, document, _ = self.drive(root)
        finally:
            driver.run_mechanical = real
        self.assert_progress(code, document)
        record = next(r for r in read_state(root)["pending"] if r["name"] == "emit_iteration_report")
        spec = root / record["spec_path"]
        write_bytes(spec, spec.read_bytes()[:40])
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
        if code != 0:
            self.assertEqual(tree(root), before)

    def test_journal_that_is_a_directory_is_an_error_not_a_traceback(self):
        root = fresh_copy(IDEATION_GATE)
        journal = root / ".ml-metaopt" / "journal.jsonl"
        journal.unlink()
        journal.mkdir()
        for command in ("status", "step"):
            code, document, _ = self.drive(root, command)
            if command == "step":
                self.assertEqual(validation.validate_document("step-output", document, "step output"), [])

    def test_a_corrupt_trial_table_is_named_and_changes_nothing(self):
        valid = {"schema_version": 1, "sweep_identity": "sim-campaign-iter-1", "backend": "local", "space": None,
                 "updated_at": "2026-11-22T08:00:00Z", "trials": []}
        cases = {"truncated": b'{"schema_version": 1, "sweep_ident',
                 "another sweep": dumps(dict(valid, sweep_identity="sim-campaign-iter-2")),
                 "a bad row": dumps(dict(valid, trials=[{"run_id": "t0", "state": "exploded", "params": {},
                                                          "metric_value": None}]))}
        for name, data in cases.items():
            with self.subTest(name):
                root = fresh_copy((2, "IDEATE", "plan_ideation"))
                table = root / ".ml-metaopt" / "trials" / "sim-campaign-iter-1.json"
                write_bytes(table, data)
                before = tree(root)
                code, document, _ = self.drive(root)
                self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
                self.assertEqual((code, document["error"]["code"]), (1, "input-invalid"))
                self.assertIn(".ml-metaopt/trials/sim-campaign-iter-1.json", document["error"]["message"])
                self.assertEqual(tree(root), before)
                table.unlink()  # the fix the error names: the workers then get that sweep's best run only
                code, document, _ = self.drive(root)
                self.assert_progress(code, document)

    def test_corrupt_preflight_blocks_config_before_anything_runs(self):
        root = work_dir() / "corrupt-preflight"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        write_bytes(root / ".ml-metaopt" / "preflight-readiness.json", b'{"schema_version": 1, "status": NaN}')
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(document["machine_state"], "BLOCKED_CONFIG")
        self.assertEqual(read_state(root)["block"]["code"], "preflight-invalid")
        self.assertIsNone(read_state(root)["hydration"])


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
