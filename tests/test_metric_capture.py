"""The metric capture: an unchanged training script's wandb.log calls reach the runner's metric file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support  # noqa: F401
from local_sweep_support import optuna_and_wandb
from metaopt_lib.executor.local.trials import MetricTail
from metaopt_lib.executor.trial_env import CAPTURE_DIR

SCRIPT = """
import wandb
run = wandb.init(config={"lr": 0.1})
wandb.log({"loss": 0.5, "acc": 0.9, "note": "text", "flag": True, "bad": float("nan")})
run.log({"loss": 0.25})
wandb.log({"images": []})
run.finish()
print("lr", run.config.lr)
"""


def run_python(code, cwd, **env_changes):
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(cwd), **env_changes)
    env["PYTHONPATH"] = os.pathsep.join([str(CAPTURE_DIR)] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


class MetricCaptureTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        self.metrics = self.dir / "metrics.jsonl"

    @unittest.skipUnless(optuna_and_wandb(), "needs wandb")
    def test_numeric_logs_of_an_unchanged_script_are_captured_and_wandb_still_works(self):
        params = self.dir / "params.yaml"
        params.write_text("wandb_version: 1\n\nlr:\n  value: 0.5\n")
        done = run_python(SCRIPT, self.dir, METAOPT_METRICS_FILE=str(self.metrics),
                          WANDB_SWEEP_PARAM_PATH=str(params))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("lr 0.5", done.stdout)  # the sweep parameter file still overrides init(config=...)
        lines = [json.loads(line) for line in self.metrics.read_text().splitlines()]
        records = [r for r in lines if "metrics" in r]
        self.assertEqual([r["metrics"] for r in records], [{"loss": 0.5, "acc": 0.9}, {"loss": 0.25}])
        self.assertEqual([r["step"] for r in records], [1, 2])
        # The program's end of its run is recorded too, once, after the last metric.
        self.assertEqual([r.get("finished") for r in lines], [None, None, True])

    def test_without_the_metrics_variable_nothing_is_hooked(self):
        done = run_python("import sys; print(any(type(f).__name__ == '_WandbRunFinder' for f in sys.meta_path))",
                          self.dir)
        self.assertEqual(done.stdout.strip(), "False")

    def test_a_shadowed_sitecustomize_still_runs(self):
        other = self.dir / "other"
        other.mkdir()
        (other / "sitecustomize.py").write_text("import builtins\nbuiltins.OTHER_SITE = 42\n")
        done = run_python("import builtins; print(getattr(builtins, 'OTHER_SITE', None))", self.dir,
                          PYTHONPATH=str(other), METAOPT_METRICS_FILE=str(self.metrics))
        self.assertEqual(done.stdout.strip(), "42", done.stderr)

    def test_metric_tail_reads_only_complete_new_lines(self):
        tail = MetricTail(self.metrics)
        self.assertEqual(tail.read_new(), [])
        with open(self.metrics, "w") as handle:
            handle.write('{"t": 1, "step": 1, "metrics": {"loss": 1}}\n{"t": 2, "st')
        self.assertEqual([r["metrics"] for r in tail.read_new()], [{"loss": 1}])
        with open(self.metrics, "a") as handle:
            handle.write('ep": 2, "metrics": {"loss": 0.5}}\nnot json\n')
        self.assertEqual([r["metrics"] for r in tail.read_new()], [{"loss": 0.5}])
        self.assertEqual(tail.read_new(), [])


if __name__ == "__main__":
    unittest.main()
