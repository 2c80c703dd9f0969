"""The local backend end to end: real runner, real Optuna study, real training processes using the
real wandb package offline."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import unittest
from unittest import mock

from local_sweep_support import IDENTITY, Project, optuna_and_wandb, wait_until
from metaopt_lib.contract import process_group
from metaopt_lib.executor.local.processes import TRIAL_MARKER, kill_pids, marked_pids, sweep_pids
from metaopt_lib.executor.local.sweep import MAX_RUNNER_GENERATIONS, STATUS_SCHEMA, runner_alive
from metaopt_lib.executor.records import write_record

XY = {"x": {"min": -1.0, "max": 1.0}, "y": {"min": -1.0, "max": 1.0}, "epochs": {"value": 2}}


def best_of(records):
    finished = [r for r in records if r.get("finished")]
    return min(finished, key=lambda r: r["losses"][-1])


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb (pip install -r requirements.txt "
                     "-r requirements-extras.txt)")
class LocalSweepEndToEnd(unittest.TestCase):
    def setUp(self):
        self.project = Project()
        self.addCleanup(self.project.close)

    def test_bayes_sweep_of_four_trials_on_two_agents_reports_the_true_best_trial(self):
        p = self.project
        launch = p.run(p.launch_directive(XY, method="bayes", run_cap=4, agents=2))
        self.assertEqual(launch["status"], "ok")
        self.assertFalse(launch["details"]["reconnected"])
        self.assertEqual(launch["details"]["agents_started"], 2)
        p.wait_finished()
        poll = p.run(p.poll_directive())["details"]
        self.assertEqual(poll["sweep_status"], "finished")
        self.assertEqual(poll["stop_reason"], "run_cap")
        self.assertEqual(poll["trials"], {"finished": 4, "running": 0, "failed": 0, "killed": 0, "interrupted": 0})
        self.assertGreater(poll["trial_seconds"], 0, "the median trial length sets the cloud poll interval")
        records = p.program_records()
        self.assertEqual(len(records), 4)
        best = best_of(records)
        self.assertEqual(poll["best_run"]["metric_value"], best["losses"][-1])
        self.assertEqual(poll["best_run"]["run_id"], best["run_id"])
        self.assertEqual(poll["best_run"]["config"]["x"], best["config"]["x"])
        self.assertEqual(poll["best_run"]["config"]["y"], best["config"]["y"])
        # The program saw the sampled values through wandb.config, not the script's defaults.
        self.assertEqual(len({(r["config"]["x"], r["config"]["y"]) for r in records}), 4)
        self.assertFalse(poll["resources_live"])
        self.assertEqual(poll["idle_killed"], [], "a finished trial is never reported killed by the watchdog")

    def test_grid_sweep_covers_every_point_exactly_once(self):
        p = self.project
        grid = {"x": {"values": [-0.5, 0.5]}, "y": {"values": [0.1, -0.1]}, "epochs": {"value": 1}}
        p.run(p.launch_directive(grid, method="grid", run_cap=4, agents=2))
        p.wait_finished()
        poll = p.run(p.poll_directive())["details"]
        self.assertEqual(poll["trials"]["finished"], 4)
        seen = sorted((r["config"]["x"], r["config"]["y"]) for r in p.program_records())
        self.assertEqual(seen, sorted(itertools.product([-0.5, 0.5], [0.1, -0.1])))
        self.assertEqual(poll["best_run"]["config"]["x"], 0.5)
        self.assertEqual(poll["best_run"]["config"]["y"], -0.1)

    def test_hung_trial_is_killed_by_the_watchdog_and_reported_once(self):
        # One trial that logs once and then hangs. Whether the 2 s watchdog finds it idle after its first
        # log (a quiet machine) or still importing wandb (a loaded one), it is the one trial killed; that
        # a trial that keeps logging is spared is WatchdogRule's, on an injected clock.
        p = self.project
        params = {"behaviour": {"value": "hang"}, "epochs": {"value": 2}}
        p.launch_with_limits(p.launch_directive(params, method="random", run_cap=1, agents=1),
                             idle_timeout_seconds=2)
        p.wait_finished()
        first = p.run(p.poll_directive())["details"]
        self.assertEqual(first["trials"], {"finished": 0, "running": 0, "failed": 0, "killed": 1, "interrupted": 0})
        self.assertEqual(first["idle_killed"], [f"local-{IDENTITY}-t0"])
        self.assertEqual(marked_pids(TRIAL_MARKER, str(p.files.trial_dir(0))), [], "the hung program survived")
        for record in p.program_records():
            self.assertEqual((record["run_id"], _alive(record["pid"])), (f"local-{IDENTITY}-t0", False))
        self.assertEqual(p.run(p.poll_directive())["details"]["idle_killed"], [])

    def test_wall_clock_cap_stops_the_sweep(self):
        p = self.project
        slow = {"epochs": {"value": 1000}, "epoch_seconds": {"value": 0.2}, "x": {"min": 0.0, "max": 1.0}}
        p.launch_with_limits(p.launch_directive(slow, method="random", run_cap=4, agents=1), wall_clock_seconds=2)
        p.wait_finished()
        poll = p.run(p.poll_directive())["details"]
        self.assertEqual((poll["sweep_status"], poll["stop_reason"]), ("finished", "wall_clock"))
        self.assertEqual(sweep_pids(p.files), [])

    def test_runner_stops_at_the_sweep_budget(self):
        p = self.project
        slow = {"epochs": {"value": 1000}, "epoch_seconds": {"value": 0.2}, "x": {"min": 0.0, "max": 1.0}}
        # 1000 $/h is 0.28 $/s; the sweep may spend the 0.25 $ that remained at launch (0.9 s).
        p.run(p.launch_directive(slow, method="random", run_cap=4, agents=1, hourly=1000, budget=(100, 99.75)))
        status = p.wait_finished()
        self.assertEqual(status["stop_reason"], "budget")
        self.assertGreaterEqual(status["spend_usd"], 0.25)
        poll = p.run(p.poll_directive(budget=(100, 99.75)))["details"]
        self.assertEqual(poll["sweep_status"], "budget_exceeded")
        self.assertGreaterEqual(poll["budget"]["spent_usd"], 100)

    def test_poll_stops_everything_when_the_campaign_budget_is_reached(self):
        p = self.project
        slow = {"epochs": {"value": 1000}, "epoch_seconds": {"value": 0.2}, "x": {"min": 0.0, "max": 1.0}}
        p.run(p.launch_directive(slow, method="random", run_cap=4, agents=1, hourly=1000, budget=(100, 0)))
        wait_until(lambda: len(p.program_records()) == 1, what="a trial logging")
        # The campaign cap shrank to 0.1 $ (the user edited it); the poll must stop the sweep.
        result = p.run(p.poll_directive(budget=(0.1, 0)))
        details = result["details"]
        self.assertEqual((details["sweep_status"], details["stop_reason"]), ("budget_exceeded", "budget"))
        self.assertFalse(details["resources_live"])
        self.assertFalse(runner_alive(p.files))
        self.assertEqual(sweep_pids(p.files), [])

    def test_a_runner_killed_twice_repeats_no_parameter_set_and_counts_the_interruptions(self):
        p = self.project
        # A small discrete space: a restarted sampler that proposed its first points again would repeat.
        params = {"x": {"values": [-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8]}, "epochs": {"value": 2}}
        # The trial that logs its first loss after one, then two trials finished stops there until killed
        # (tests/training/train_quadratic.py): each kill lands mid-trial however fast the machine is.
        for finished in (1, 2):
            (p.results / f"pause-when-{finished}-finished").touch()
        p.run(p.launch_directive(params, method="random", run_cap=4, agents=1))
        cut_short = set()
        for kill in (1, 2):
            def mid_trial():
                return next((r for r in p.program_records() if r.get("paused") and r["run_id"] not in cut_short),
                            None)
            victim = wait_until(mid_trial, what=f"the trial stopped for kill {kill}")
            self.assertEqual(sum(1 for r in p.program_records() if r.get("finished")), kill)
            cut_short.add(victim["run_id"])
            # The runner and the trial in progress die together, as on a machine crash.
            kill_pids([victim["pid"]] + sweep_pids(p.files))
            wait_until(lambda: not runner_alive(p.files), what="the runner to die")
            poll = p.run(p.poll_directive())["details"]
            self.assertEqual(poll["sweep_status"], "running")
            self.assertEqual((p.status()["generation"], poll["runner_restarts"]), (kill + 1, kill))
        p.wait_finished()
        final = p.run(p.poll_directive())["details"]
        records = p.program_records()
        cut = [r for r in records if not r.get("finished")]
        self.assertEqual(final["trials"]["finished"], 4)
        self.assertEqual(final["trials"]["interrupted"], len(cut))
        self.assertEqual({r["run_id"] for r in cut} & cut_short, cut_short, "each kill cut its trial short")
        self.assertEqual(final["runner_restarts"], 2)
        runs = [r["run_id"] for r in records]
        self.assertEqual(len(runs), len(set(runs)), "a run id was started twice")
        points = [r["config"]["x"] for r in records]
        self.assertEqual(len(points), len(set(points)), f"a parameter set ran twice: {points}")
        # The metric an interrupted trial had logged is kept with it.
        from metaopt_lib.executor.local.search_space import plan_search
        from metaopt_lib.executor.local.study import open_study
        spec = json.loads(p.files.spec.read_text())
        study = open_study(p.files, spec, plan_search(spec["sweep_config"], "spec", ("sweep_config",)))
        kept = sorted(t.user_attrs.get("last_metric") for t in study.get_trials()
                      if t.user_attrs.get("outcome") == "interrupted")
        self.assertEqual(kept, sorted(r["losses"][-1] for r in cut))

    def test_a_grid_cut_by_a_dead_runner_still_finishes_every_point_once(self):
        p = self.project
        grid = {"x": {"values": [-0.5, 0.0, 0.5]}, "y": {"values": [0.1]}, "epochs": {"value": 2}}
        (p.results / "pause-when-0-finished").touch()  # the first trial stops after its first loss
        p.run(p.launch_directive(grid, method="grid", run_cap=3, agents=1))
        victim = wait_until(lambda: next((r for r in p.program_records() if r.get("paused")), None),
                            what="a grid trial in progress")
        kill_pids([victim["pid"]] + sweep_pids(p.files))
        wait_until(lambda: not runner_alive(p.files), what="the runner to die")
        p.run(p.poll_directive())
        p.wait_finished()
        final = p.run(p.poll_directive())["details"]
        finished = sorted((r["config"]["x"], r["config"]["y"]) for r in p.program_records() if r.get("finished"))
        self.assertEqual(finished, sorted(itertools.product([-0.5, 0.0, 0.5], [0.1])))
        self.assertEqual((final["trials"]["finished"], final["runner_restarts"], final["trials"]["interrupted"]),
                         (3, 1, 1))

    def test_a_runner_that_keeps_dying_is_reported_failed_after_the_bound(self):
        p = self.project
        slow = {"epochs": {"value": 1000}, "epoch_seconds": {"value": 0.2}, "x": {"min": 0.0, "max": 1.0}}
        p.run(p.launch_directive(slow, method="random", run_cap=2, agents=1))
        wait_until(lambda: len(p.program_records()) == 1, what="a trial logging")
        status = p.status()
        kill_pids(sweep_pids(p.files))  # the runner and its trial die together, as on a machine crash
        wait_until(lambda: not runner_alive(p.files), what="the runner to die")
        # As if this were already the last runner the bound allows.
        write_record(p.files.status, STATUS_SCHEMA, dict(status, generation=MAX_RUNNER_GENERATIONS))
        details = p.run(p.poll_directive())["details"]
        self.assertEqual((details["sweep_status"], details["stop_reason"]), ("failed", "failed"))
        self.assertFalse(details["resources_live"])
        self.assertFalse(runner_alive(p.files), "a runner was started beyond the bound")

    def test_a_poll_allowed_to_wait_answers_as_soon_as_the_sweep_has_ended(self):
        p = self.project
        p.run(p.launch_directive({"x": {"min": -1.0, "max": 1.0}, "epochs": {"value": 2}}, method="random",
                                 run_cap=1, agents=1))
        # Polled at once, the sweep is still running; a poll that may wait sees its end (a bound far
        # beyond what the sweep takes, so the answer says the poll waited for the end, not the bound).
        poll = p.run(p.poll_directive(max_wait=600))["details"]
        self.assertEqual((poll["sweep_status"], poll["stop_reason"]), ("finished", "run_cap"))
        self.assertEqual(poll["trials"]["finished"], 1)

    def test_launch_twice_reconnects_to_the_one_runner_and_a_poll_never_waits_beyond_its_limits(self):
        # One sweep for both (each had its own): the launch run again, then polls of the sweep it kept.
        p = self.project
        slow = {"epochs": {"value": 1000}, "epoch_seconds": {"value": 0.2}, "x": {"min": 0.0, "max": 1.0}}
        directive = p.launch_directive(slow, method="random", run_cap=2, agents=1)
        first = p.run(directive)
        runner = p.status()["runner_pid"]
        (p.root / directive["result_path"]).unlink()  # as if the executor crashed before writing it
        again = p.run(directive)
        self.assertTrue(again["details"]["reconnected"])
        self.assertEqual(again["details"]["agents_started"], 0)
        self.assertEqual(again["details"]["sweep_id"], first["details"]["sweep_id"])
        self.assertEqual(p.status()["runner_pid"], runner)
        self.assertEqual(p.status()["generation"], 1)
        # A poll never waits beyond its directive (0 here) or the caller's limit (0.5 s of its 600).
        self.assertEqual(p.run(p.poll_directive())["details"]["sweep_status"], "running")
        limited = p.run(p.poll_directive(max_wait=600), wait_limit=0.5)["details"]
        self.assertEqual(limited["sweep_status"], "running")
        self.assertTrue(runner_alive(p.files))

    def test_teardown_leaves_no_process_behind(self):
        self.assert_teardown_leaves_no_process_behind(agents=2)

    def test_teardown_without_psutil_finds_the_processes_through_proc(self):
        if not os.path.isfile("/proc/self/stat"):
            self.skipTest("Linux /proc is not available here")
        with mock.patch.object(process_group, "psutil_module", lambda: None):
            self.assertEqual(process_group.process_listing(), "/proc")
            self.assert_teardown_leaves_no_process_behind(agents=1)

    def assert_teardown_leaves_no_process_behind(self, agents):
        p = self.project
        slow = {"epochs": {"value": 1000}, "epoch_seconds": {"value": 0.2}, "x": {"min": 0.0, "max": 1.0}}
        p.run(p.launch_directive(slow, method="random", run_cap=4, agents=agents))
        wait_until(lambda: len(p.program_records()) == agents, what=f"{agents} trial(s) logging")
        pids = [r["pid"] for r in p.program_records()] + [p.status()["runner_pid"]]
        result = p.run(p.teardown_directive())
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["details"]["resources_remaining"], [])
        self.assertEqual([r["kind"] for r in result["details"]["resources_released"]], ["process"])
        for pid in pids:
            self.assertFalse(os.path.exists(f"/proc/{pid}") and _alive(pid), f"process {pid} survived teardown")
        poll = p.run(p.poll_directive())["details"]
        self.assertEqual((poll["sweep_status"], poll["resources_live"]), ("canceled", False))
        again = p.run(p.teardown_directive())
        self.assertEqual((again["status"], again["details"]["resources_released"]), ("ok", []))


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class WatchdogRule(unittest.TestCase):
    """The runner's idle watchdog on an injected clock (Runner._watch is given the time): a trial is killed
    once idle_timeout_seconds passed since it last logged (or since it started, if it never logged), not a
    moment before, and a trial that keeps logging is never killed however long it runs. The trials are
    real TrialProcess objects over real processes (`sleep`); their logged records are written by the test
    where the metric capture writes them."""

    IDLE = 30.0
    T0 = 1_800_000_000.0

    def trial(self, runner, number):
        from metaopt_lib.executor.local.trials import TrialProcess
        trial = runner.study.ask()
        process = TrialProcess(trial.number, f"run-{number}", runner.files.trial_dir(trial.number), "loss")
        process.trial_dir.mkdir(parents=True)
        process.process = subprocess.Popen(["sleep", "600"], start_new_session=True)
        self.addCleanup(lambda: process.process.poll() is None and (process.process.kill(), process.process.wait()))
        process.last_progress = self.T0
        runner.running[trial.number] = (trial, process)
        return trial, process

    def log(self, process, loss):
        with open(process.trial_dir / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps({"metrics": {"loss": loss}}) + "\n")

    def test_only_trials_idle_beyond_the_timeout_are_killed(self):
        import optuna
        from metaopt_lib.executor.local import backend as local_backend
        from metaopt_lib.executor.local.runner import Runner

        project = Project()
        self.addCleanup(project.close)
        spec = dict(local_backend.new_spec(project.launch_directive(XY, method="random", agents=3), project.ctx),
                    idle_timeout_seconds=self.IDLE)
        runner = Runner(project.files, spec, None)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.addCleanup(optuna.logging.set_verbosity, verbosity)
        runner.study, runner.hyperband = optuna.create_study(), False
        (steady_trial, steady), (hung_trial, hung), (silent_trial, silent) = (self.trial(runner, n) for n in range(3))
        killed_at = {}
        for second in range(0, 121, 5):
            now = self.T0 + second
            self.log(steady, 1.0 / (second + 1))           # keeps logging every 5 s
            if second == 5:
                self.log(hung, 0.5)                          # logs once, then nothing
            for moment in (now, now + 0.01):
                runner._watch(moment)
                for trial, process in ((hung_trial, hung), (silent_trial, silent)):
                    if trial.number not in runner.running and trial.number not in killed_at:
                        killed_at[trial.number] = round(moment - self.T0, 2)
        # Killed at the first look past the timeout: the silent one from its start, the hung one from
        # its one record; neither at exactly the timeout.
        self.assertEqual(killed_at, {silent_trial.number: 30.01, hung_trial.number: 35.01})
        self.assertEqual(list(runner.running), [steady_trial.number], "the trial that kept logging was killed")
        self.assertIsNone(steady.process.poll())
        for trial, process in ((hung_trial, hung), (silent_trial, silent)):
            self.assertIsNotNone(process.process.poll(), "a killed trial's process survived")
            frozen = runner.study._storage.get_trial(trial._trial_id)
            self.assertEqual((frozen.state.name, frozen.user_attrs["outcome"]), ("FAIL", "killed"))
        self.assertEqual(runner.study._storage.get_trial(hung_trial._trial_id).user_attrs["last_metric"], 0.5)


def _alive(pid) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


if __name__ == "__main__":
    unittest.main()
