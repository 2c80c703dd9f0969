"""Crash injection: SIGKILL the host at step boundaries and inside atomic writes, restart it, and
compare the outcome with an uninterrupted run: same iterations, baseline and spend, no second launch."""
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support  # noqa: F401
from sim_host import Host, write_project

RUNNER = Path(__file__).with_name("crash_runner.py")


def outcome(root):
    """What must not depend on crashes (timestamps, sequence numbers and ids excluded)."""
    state = json.loads((Path(root) / ".ml-metaopt" / "state.json").read_text())
    sweeps = json.loads((Path(root) / ".sim" / "sweeps.json").read_text())
    return {
        "machine_state": state["machine_state"], "iteration": state["iteration"],
        "baseline": state["baseline"]["metric_value"] if state["baseline"] else None,
        "spend": state["spend_ledger"]["total_usd"],
        "ledger": [(e["sweep_identity"], e["usd"]) for e in state["spend_ledger"]["entries"]],
        "iterations": [(r["iteration"], r["sweep_identity"], r["improved"], r["baseline_after"], r["spend_usd"])
                       for r in state["completed_iterations"]],
        "learnings": [l["text"] for l in state["learnings"]],
        "launches": {k: v["launches"] for k, v in sweeps.items() if k != "_results"},
        "pending": state["pending"],
    }


class CrashRecovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.reference_root = Path(cls.tmp.name) / "reference"
        cls.reference_root.mkdir()
        write_project(cls.reference_root, **{"stop_conditions.max_iterations": 3})
        Host(cls.reference_root).run()
        cls.reference = outcome(cls.reference_root)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def crash_repeatedly(self, mode, first, growth):
        """Kill the host at the first+growth*k-th event of `mode` in its k-th life, until it stops.

        Each life gets further than the last, so every step eventually completes, and the kills land
        at a different point of the work each time."""
        root = Path(self.tmp.name) / mode
        root.mkdir()
        write_project(root, **{"stop_conditions.max_iterations": 3})
        crashes = 0
        for life in range(400):
            run = subprocess.run([sys.executable, str(RUNNER), str(root), mode, str(first + growth * life)],
                                 capture_output=True, text=True, timeout=300)
            if run.returncode == 0:
                break
            self.assertEqual(run.returncode, -9, run.stderr[-2000:])
            self.assertNotIn("Traceback", run.stderr)
            crashes += 1
        else:
            self.fail("the campaign never finished")
        self.assertGreater(crashes, 3)
        return root

    def test_kills_at_step_boundaries(self):
        root = self.crash_repeatedly("after-step", 1, 1)
        self.assertEqual(outcome(root), self.reference)

    def test_a_kill_at_every_boundary_between_an_action_and_the_next_step(self):
        # Every life carries out one action and dies: the campaign crosses each boundary by a restart.
        root = self.crash_repeatedly("after-act", 1, 0)
        self.assertEqual(outcome(root), self.reference)

    def test_kills_before_a_file_is_renamed_into_place(self):
        root = self.crash_repeatedly("before-replace", 1, 2)
        self.assertEqual(outcome(root), self.reference)

    def test_kills_right_after_a_file_is_renamed_into_place(self):
        root = self.crash_repeatedly("after-replace", 2, 2)
        self.assertEqual(outcome(root), self.reference)


if __name__ == "__main__":
    unittest.main()
