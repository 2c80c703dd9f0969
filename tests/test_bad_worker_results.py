"""Bad input for the worker-result readers (ideation, selection, analysis): a malformed result is
never ingested; it is rejected and retried with a new task id, or blocks once attempts run out."""
import unittest

import support  # noqa: F401
import sim_host

from bad_input import (CAMPAIGN, IDEATION_GATE, RESULT_KIND, SELECTION_GATE, WORKER_LANES, DriverCase, Scratch,
                       dumps, first_task, fresh_copy, generic_json_cases, latest_envelope, read_state, replaced,
                       valid_worker_result, with_value, work_dir, write_bytes)
from metaopt_lib.contract import schemas, validation


INGESTED_FIELDS = ("proposal_pool", "selected_sweep", "current_sweep", "analysis", "baseline", "learnings",
                   "completed_iterations", "spend_ledger")


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
                self.assertIn(retries[0]["spec_path"], [w["task_path"] for w in document["action"]["workers"]])
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

    def test_huge_integer_in_a_worker_result(self):
        root = fresh_copy(IDEATION_GATE)
        good = valid_worker_result("metaopt-ideation-worker")
        record = first_task(root, "metaopt-ideation-worker")
        write_bytes(root / record["result_path"],
                    dumps(with_value(good, ("proposals", 0, "sweep_config", "parameters", "lr", "min"), 10 ** 400)))
        before = read_state(root)
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(read_state(root)["proposal_pool"], before["proposal_pool"])

    def test_worker_result_that_is_a_directory_is_rejected(self):
        root = fresh_copy(SELECTION_GATE)
        record = first_task(root, "metaopt-selection-worker")
        (root / record["result_path"]).mkdir(parents=True)
        before = read_state(root)
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(read_state(root)["selected_sweep"], before["selected_sweep"])
        self.assertNotIn(record["id"], {r["id"] for r in read_state(root)["pending"]})

    def test_results_directory_linked_outside_metaopt_is_an_error_not_a_traceback(self):
        root = fresh_copy(IDEATION_GATE)
        outside = work_dir() / "outside-results"
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

    def test_malformed_worker_result_through_the_script(self):
        for key, name, data in [(IDEATION_GATE, "metaopt-ideation-worker", b'{"proposals": [NaN')]:
            with self.subTest(reader=name):
                root = fresh_copy(key)
                record = next(r for r in read_state(root)["pending"] if r["name"] == name)
                write_bytes(root / record["result_path"], data)
                code, document, _ = self.run_script(root)
                self.assertEqual(code, 0)
                self.assertEqual(document["machine_state"], key[1])


if __name__ == "__main__":
    unittest.main()
