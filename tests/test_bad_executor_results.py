"""Bad input for the executor-result reader (smoke test, launch, poll): a malformed result is rejected
and retried, and changes neither the spend ledger nor the current sweep."""
import unittest

import support  # noqa: F401

from bad_input import (EXECUTOR_GATES, POLL_GATE, DriverCase, Scratch, clock, dumps, fresh_copy, generic_json_cases,
                       latest_envelope, pending_directive, read_state, replaced, valid_executor_result, with_value,
                       write_bytes)
from metaopt_lib.contract import schemas


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
                    # The backoff: under a frozen clock the step hands the wait back instead of sleeping.
                    self.assertEqual(document["action"]["kind"], "step")
                    self.assertGreater(document["action"]["until"], clock(root))
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

    def test_huge_integer_in_an_executor_result(self):
        root = fresh_copy(POLL_GATE)
        good = valid_executor_result("poll_sweep")
        record = pending_directive(root, "poll_sweep")
        write_bytes(root / record["result_path"], dumps(with_value(good, ("details", "spend", "sweep_spend_usd"),
                                                                   10 ** 400)))
        before = read_state(root)
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(read_state(root)["spend_ledger"], before["spend_ledger"])

    def test_malformed_executor_result_through_the_script(self):
        for key, name, data in [(POLL_GATE, "poll_sweep", "\u00e9t\u00e9".encode("latin-1"))]:
            with self.subTest(reader=name):
                root = fresh_copy(key)
                record = next(r for r in read_state(root)["pending"] if r["name"] == name)
                write_bytes(root / record["result_path"], data)
                code, document, _ = self.run_script(root)
                self.assertEqual(code, 0)
                self.assertEqual(document["machine_state"], key[1])


if __name__ == "__main__":
    unittest.main()
