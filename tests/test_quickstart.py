"""The quickstart as the README runs it (examples/quickstart/run.sh, with this interpreter instead of
a fresh venv): the heuristic campaign completes, its best configuration beats the training
program's own default configuration, a report is written, and no file of the repository changes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support

QUICKSTART = support.ROOT / "examples" / "quickstart"


def _available() -> bool:
    try:
        import optuna  # noqa: F401
        import sklearn  # noqa: F401
        import wandb  # noqa: F401
    except ImportError:
        return False
    return True


def default_metric(workdir: Path) -> float:
    """val_accuracy of the program's DEFAULTS, run as a person would run it (wandb offline)."""
    env = dict(os.environ, WANDB_MODE="offline", WANDB_DIR=str(workdir), WANDB_SILENT="true")
    done = subprocess.run([sys.executable, str(QUICKSTART / "train.py")], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300, check=True)
    return float(re.search(r"^val_accuracy=([0-9.]+)$", done.stdout, re.M).group(1))


def tracked_changes() -> str:
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=support.ROOT,
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


@unittest.skipUnless(_available(), "needs optuna, scikit-learn and wandb")
class Quickstart(unittest.TestCase):
    def test_the_quickstart_completes_and_beats_the_default_configuration(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        work = Path(tmp.name).resolve()
        before = tracked_changes()
        done = subprocess.run(["bash", str(QUICKSTART / "run.sh"), str(work), "--json"], capture_output=True,
                              text=True, timeout=900, env=dict(os.environ, QUICKSTART_PYTHON=sys.executable))
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        document = json.loads(done.stdout)
        self.assertEqual(document["machine_state"], "COMPLETE")
        self.assertEqual(document["report_path"], str(work / "project" / ".ml-metaopt" / "reports" / "final.md"))
        self.assertIn(f"Report: {document['report_path']}", done.stderr)
        self.assertIn("trials finished", done.stderr, "the sweep's progress is shown")
        state = support.campaign_view(work / "project")
        self.assertEqual(len(state["completed_iterations"]), 3)
        best = state["baseline"]["metric_value"]
        self.assertGreater(best, default_metric(work), "the campaign beats the program's default configuration")
        self.assertEqual(tracked_changes(), before, "the quickstart changed files of the repository")


if __name__ == "__main__":
    unittest.main()
