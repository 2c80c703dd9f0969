"""IDEATE / WAIT_FOR_PROPOSALS (metaopt-background-control) and SELECT_AND_DESIGN_SWEEP
(metaopt-select-design) handoffs.

Every envelope is validated against the state it was computed from and applied with the engine,
which proves the next state is valid too.
"""
from __future__ import annotations

import copy
import json
import unittest

import support
from metaopt_lib.contract import campaign as campaign_lib
from metaopt_lib.contract import validation
from metaopt_lib.contract.issues import Issue
from metaopt_lib.contract.sweep_space import space_hash
from metaopt_lib.control import engine
from metaopt_lib.handoffs import background_control, select_and_design
from metaopt_lib.handoffs.common import Inputs, ResultInput

NOW = "2026-11-22T11:00:00Z"        # within the 30-minute worker timeout of every fixture task
LATE = "2026-11-22T12:00:00Z"       # past it
IDEATION, SELECTION = "metaopt-ideation-worker", "metaopt-selection-worker"


# The history of every iteration-2 state fixture: iteration 1's record, one learning.
HISTORY = support.fixture_history("ideate")


def inputs_of(history=None, **fields):
    """A handoff's inputs with the fixtures' history unless another is given."""
    return Inputs(history=HISTORY if history is None else history, **fields)


def best_runs_history(history=HISTORY) -> dict:
    """Without trial tables, a task's history is each iteration's best run."""
    rows = [{"iteration": r["iteration"], "run_id": r["best_run"]["run_id"], "state": "finished",
             "params": r["best_run"]["config"], "metric_value": r["best_run"]["metric_value"]}
            for r in history.records("iterations") if r["best_run"]]
    return {"trials": rows, "trials_seen": len(rows), "latest_space": None}


def load_json(*parts) -> dict:
    return json.loads(support.FIXTURES.joinpath(*parts).read_text(encoding="utf-8"))


def fixture_state(name) -> dict:
    return load_json("state", "valid", f"{name}.json")


def fixture_campaign(**policy) -> dict:
    campaign = campaign_lib.apply_defaults(
        validation.load_valid("campaign", support.FIXTURES / "campaign" / "valid" / "full-local.yaml"))
    campaign["proposal_policy"].update(policy)
    return campaign


def ideation_result(task_id, configs=None, status="ok") -> dict:
    """The two-proposal fixture answering task_id, optionally with other sweep configs."""
    document = load_json("ideation-result", "valid", "ok-two-proposals.json")
    document["task_id"] = task_id
    if configs is not None:
        document["proposals"] = [{"rationale": f"proposal {n}", "sweep_config": c} for n, c in enumerate(configs)]
    if status == "failed":
        document.update(status="failed", proposals=[], failure_reason="could not read the training script")
    return document


def selection_result(task_id="selection-2-1", **changes) -> dict:
    document = load_json("selection-result", "valid", "ok.json")
    document["task_id"] = task_id
    document.update(changes)
    return document


def lr_sweep(low) -> dict:
    """A distinct, valid random sweep config per `low`."""
    return {"method": "random", "metric": {"name": "val_loss", "goal": "minimize"},
            "parameters": {"lr": {"distribution": "uniform", "min": low, "max": 0.5}}}


def pool_entry(proposal_id, config, iteration=1) -> dict:
    return {"proposal_id": proposal_id, "iteration": iteration, "source_task_id": f"ideation-{iteration}-1",
            "rationale": f"rationale of {proposal_id}", "sweep_config": config,
            "content_hash": space_hash(config)}


def ok(document) -> ResultInput:
    return ResultInput(exists=True, document=document)


def context_of(envelope) -> list:
    return [launch["task"]["context"] for launch in envelope["worker_launches"]]


class HandoffCase(unittest.TestCase):
    def apply(self, state, envelope, now=NOW) -> dict:
        issues = validation.validate_document("handoff-envelope", envelope, "envelope", validation.Context(state=state))
        self.assertEqual([i.message for i in issues], [])
        return engine.apply_envelope(state, envelope, now)

    def assert_move(self, envelope, outcome, target, phase):
        self.assertEqual((envelope["outcome"], envelope["next_machine_state"], envelope["next_phase"]),
                         (outcome, target, phase))

    def assert_blocked(self, state, envelope, target, code, resume_state, resume_phase, now=NOW) -> dict:
        self.assert_move(envelope, "blocked", target, "stopped")
        self.assertEqual(envelope["block"]["code"], code)
        self.assertEqual((envelope["block"]["resume_state"], envelope["block"]["resume_phase"]),
                         (resume_state, resume_phase))
        self.assertTrue({"remove_agents_hook", "emit_final_report"} <= {d["type"] for d in envelope["directives"]})
        after = self.apply(state, envelope, now)
        self.assertEqual((after["machine_state"], after["block"]["code"]), (target, code))
        self.assertLessEqual({p["name"] for p in after["pending"]}, {"remove_agents_hook", "emit_final_report"},
                             "only the cleanup stays pending")
        return after


def ideate_state(**changes) -> dict:
    state = fixture_state("ideate")
    state.update(copy.deepcopy(changes))
    engine.check_state(state, "test state")
    return state


def waiting_state(attempt=1, pool=None) -> dict:
    state = fixture_state("wait-for-proposals")
    for record in state["pending"]:
        record["attempt"] = attempt
    if pool is not None:
        state["proposal_pool"] = pool
    engine.check_state(state, "test state")
    return state


def selection_state(phase="finalize_selection", attempt=1, pool=None) -> dict:
    state = fixture_state("select-and-design-sweep")
    state["phase"] = phase
    if phase == "plan_selection":
        state["pending"] = []
    for record in state["pending"]:
        record["attempt"] = attempt
    if pool is not None:
        state["proposal_pool"] = pool
    engine.check_state(state, "test state")
    return state


class PlanIdeationTest(HandoffCase):
    def test_dispatches_ideation_workers_with_a_capped_context(self):
        state, campaign = ideate_state(), fixture_campaign()
        envelope = background_control.handoff(state, campaign, inputs_of(now=NOW))
        self.assert_move(envelope, "advance", "WAIT_FOR_PROPOSALS", "gate_ideation")
        self.assertEqual(envelope["state_patch"], [], "an unchanged pool is not rewritten")
        self.assertEqual([w["task"]["worker"] for w in envelope["worker_launches"]], [IDEATION, IDEATION])
        expected = {"proposals_requested": 2, "baseline": state["baseline"], "learnings": HISTORY.records("learnings"),
                    "learnings_summary": None, "run_cap": 20, "search_space": None,
                    "history": best_runs_history(),
                    "pool": [{k: state["proposal_pool"][0][k] for k in ("proposal_id", "rationale", "sweep_config")}]}
        contexts = context_of(envelope)
        self.assertEqual([{k: v for k, v in c.items() if k != "assignment"} for c in contexts], [expected, expected])
        self.assertEqual([c["assignment"]["name"] for c in contexts], ["exploit", "explore"])
        after = self.apply(state, envelope)
        self.assertEqual([(p["name"], p["attempt"]) for p in after["pending"]], [(IDEATION, 1), (IDEATION, 1)])

    def test_parallel_workers_get_distinct_assignments_and_a_lone_worker_none(self):
        for workers, names in ((1, [None]), (3, ["exploit", "explore", "restructure"]),
                               (4, ["exploit", "explore", "restructure", "exploit"])):
            with self.subTest(workers=workers):
                envelope = background_control.handoff(ideate_state(), fixture_campaign(ideation_workers=workers),
                                                       inputs_of(now=NOW))
                contexts = context_of(envelope)
                self.assertEqual([c.get("assignment", {}).get("name") for c in contexts], names)
                for context in contexts:
                    if "assignment" in context:
                        self.assertTrue(context["assignment"]["text"].startswith(
                            context["assignment"]["name"].capitalize() + ":"))
                self.apply(ideate_state(), envelope)

    def test_a_retry_keeps_its_assignment_and_says_what_was_wrong(self):
        state, campaign = waiting_state(), fixture_campaign()
        tasks = {}
        for slot, record in enumerate(state["pending"]):
            context = background_control.ideation_context(state, campaign, inputs_of(now=NOW), state["proposal_pool"], slot)
            tasks[record["id"]] = {"task_id": record["id"], "context": context}
        invalid = ResultInput(exists=True, document={"task_id": "ideation-2-2"}, issues=(
            Issue("ideation-2-2.json", ("proposals", 0, "sweep_config", "metric", "name"), "worker.metric_mismatch",
                  "metric 'loss' is not the objective metric", "'val_loss'", "use the campaign's objective metric"),))
        envelope = background_control.handoff(state, campaign, inputs_of(now=NOW, results={"ideation-2-2": invalid},
                                                                      tasks=tasks))
        [retry] = [w["task"] for w in envelope["worker_launches"]]
        self.assertEqual(retry["context"], tasks["ideation-2-2"]["context"])
        self.assertEqual(retry["context"]["assignment"]["name"], "explore")
        self.assertEqual(retry["previous_errors"], [{
            "rule": "worker.metric_mismatch", "path": "$.proposals[0].sweep_config.metric.name",
            "message": "metric 'loss' is not the objective metric; expected 'val_loss'",
            "fix": "use the campaign's objective metric"}])
        self.assertIn("worker.metric_mismatch", envelope["summary"])
        self.apply(state, envelope)

    def test_a_dispatched_task_without_a_result_is_retried_at_once(self):
        state = waiting_state()
        state["pending"][0]["dispatched_at"] = "2026-11-22T10:50:00Z"
        envelope = background_control.handoff(state, fixture_campaign(), inputs_of(now=NOW))
        self.assertEqual(envelope["resolved_pending"], [{"id": "ideation-2-1", "disposition": "superseded"}])
        [retry] = [w["task"] for w in envelope["worker_launches"]]
        self.assertEqual((retry["attempt"], retry["previous_errors"][0]["rule"]), (2, "worker.no_result"))
        self.assertIn(state["pending"][0]["result_path"], retry["previous_errors"][0]["fix"])
        after = self.apply(state, envelope)
        self.assertEqual(sorted(p["attempt"] for p in after["pending"]), [1, 2], "the other task still waits")

    def test_worker_count_and_proposals_follow_the_policy(self):
        campaign = fixture_campaign(ideation_workers=3, proposals_per_worker=4)
        envelope = background_control.handoff(ideate_state(), campaign, inputs_of(now=NOW))
        self.assertEqual([c["proposals_requested"] for c in context_of(envelope)], [4, 4, 4])

    def test_baseline_is_the_effective_one(self):
        initial = {"metric_value": 0.7, "source": "campaign"}
        cases = [("sweep baseline", ideate_state(), fixture_state("ideate")["baseline"]),
                 ("initial baseline", ideate_state(baseline=None, hydration={"hydrated_at": NOW,
                                                                             "initial_baseline": initial}), initial),
                 ("no baseline", ideate_state(baseline=None), None)]
        for name, state, expected in cases:
            with self.subTest(name):
                envelope = background_control.handoff(state, fixture_campaign(), inputs_of(now=NOW))
                self.assertEqual(context_of(envelope)[0]["baseline"], expected)
                self.apply(state, envelope)

    def test_selected_proposals_never_stay_in_the_pool(self):
        winner = {"proposal_id": "prop-1-3", "iteration": 1, "rationale": "the winner",
                  "sweep_config": dict(lr_sweep(0.3), run_cap=20, program="train.py")}
        pool = [pool_entry("prop-1-1", lr_sweep(0.1)), pool_entry("prop-1-2", lr_sweep(0.2)),
                pool_entry("prop-1-3", lr_sweep(0.3))]
        state = ideate_state(proposal_pool=pool, selected_sweep=winner)  # prop-1-1 won iteration 1 too
        envelope = background_control.handoff(state, fixture_campaign(), inputs_of(now=NOW))
        self.assertEqual(envelope["state_patch"], [{"op": "set", "path": "/proposal_pool", "value": [pool[1]]}])
        self.assertEqual([p["proposal_id"] for p in context_of(envelope)[0]["pool"]], ["prop-1-2"])
        after = self.apply(state, envelope)
        self.assertEqual([p["proposal_id"] for p in after["proposal_pool"]], ["prop-1-2"])

    def test_a_winner_proposed_again_under_a_new_id_stays_out_of_the_pool(self):
        won = pool_entry("prop-1-3", lr_sweep(0.3))
        winner = {"proposal_id": "prop-1-3", "proposal_content_hash": won["content_hash"], "iteration": 1,
                  "rationale": "the winner", "sweep_config": dict(lr_sweep(0.3), run_cap=20, program="train.py")}
        again = pool_entry("prop-2-9", lr_sweep(0.3))  # same search space, new id
        state = ideate_state(proposal_pool=[pool_entry("prop-1-2", lr_sweep(0.2)), again], selected_sweep=winner)
        envelope = background_control.handoff(state, fixture_campaign(), inputs_of(now=NOW))
        self.assertEqual([p["proposal_id"] for p in context_of(envelope)[0]["pool"]], ["prop-1-2"])
        self.assertEqual([p["proposal_id"] for p in self.apply(state, envelope)["proposal_pool"]], ["prop-1-2"])

    def test_full_pool_goes_straight_to_selection(self):
        pool = [pool_entry(f"cand-1-{n}", lr_sweep(n / 100)) for n in range(1, 6)]
        cases = [("exactly full", 5, pool, None), ("over the cap: the oldest are dropped", 3, pool, pool[2:])]
        for name, size, entries, trimmed in cases:
            with self.subTest(name):
                state = ideate_state(proposal_pool=entries)
                envelope = background_control.handoff(state, fixture_campaign(max_pool_size=size), inputs_of(now=NOW))
                self.assert_move(envelope, "advance", "SELECT_AND_DESIGN_SWEEP", "plan_selection")
                self.assertEqual(envelope["worker_launches"], [])
                expected_patch = [] if trimmed is None else [{"op": "set", "path": "/proposal_pool", "value": trimmed}]
                self.assertEqual(envelope["state_patch"], expected_patch)
                after = self.apply(state, envelope)
                self.assertEqual(len(after["proposal_pool"]), size)

    def test_context_does_not_grow_with_history(self):
        def state_with(count):
            state = ideate_state(iteration=count + 1)
            history = support.history_of(state, iterations=HISTORY.records("iterations"), learnings=[
                {"iteration": n, "text": f"learning of iteration {n}: keep lr below 0.1."}
                for n in range(1, count + 1)])
            return state, history

        campaign = fixture_campaign()
        small_state, small_history = state_with(10)
        small = context_of(background_control.handoff(small_state, campaign, inputs_of(small_history, now=NOW)))[0]
        big_state, big_history = state_with(1000)
        envelope = background_control.handoff(big_state, campaign, inputs_of(big_history, now=NOW))
        big = context_of(envelope)[0]
        self.assertEqual([item["iteration"] for item in big["learnings"]], list(range(993, 1001)))
        self.assertIn("992", big["learnings_summary"])
        self.assertLessEqual(len(big["learnings_summary"]), 300)
        self.assertLess(len(json.dumps(big)) - len(json.dumps(small)), 40)
        self.apply(big_state, envelope)

    def test_no_learnings_in_context_when_the_policy_says_zero(self):
        envelope = background_control.handoff(ideate_state(), fixture_campaign(max_learnings_in_context=0),
                                              inputs_of(now=NOW))
        context = context_of(envelope)[0]
        self.assertEqual(context["learnings"], [])
        self.assertIn("1 older learning", context["learnings_summary"])


class GateIdeationTest(HandoffCase):
    def test_accepted_proposals_join_the_pool_with_code_given_ids(self):
        state = waiting_state()
        inputs = inputs_of(now=NOW, results={"ideation-2-1": ok(ideation_result("ideation-2-1")),
                                          "ideation-2-2": ok(ideation_result("ideation-2-2", [lr_sweep(0.3)]))})
        envelope = background_control.handoff(state, fixture_campaign(), inputs)
        self.assert_move(envelope, "advance", "SELECT_AND_DESIGN_SWEEP", "plan_selection")
        self.assertEqual(envelope["resolved_pending"], [{"id": "ideation-2-1", "disposition": "consumed"},
                                                        {"id": "ideation-2-2", "disposition": "consumed"}])
        after = self.apply(state, envelope)
        pool = after["proposal_pool"]
        self.assertEqual([p["proposal_id"] for p in pool],
                         ["prop-1-2", "ideation-2-1-p1", "ideation-2-1-p2", "ideation-2-2-p1"])
        first = ideation_result("ideation-2-1")["proposals"][0]
        self.assertEqual(pool[1], {"proposal_id": "ideation-2-1-p1", "iteration": 2, "source_task_id": "ideation-2-1",
                                   "rationale": first["rationale"], "sweep_config": first["sweep_config"],
                                   "content_hash": space_hash(first["sweep_config"])})
        self.assertEqual(after["pending"], [])

    def test_the_same_space_written_differently_is_one_proposal(self):
        base = {"method": "random", "metric": {"name": "val_loss", "goal": "minimize"},
                "parameters": {"lr": {"min": 0.001, "max": 0.1}, "batch_size": {"values": [32, 64, 128]},
                               "epochs": {"value": 5}}}
        rewritten = {"method": "random", "metric": {"name": "val_loss", "goal": "minimize", "target": 0.1},
                     "name": "other name", "run_cap": 7,
                     "parameters": {"epochs": {"distribution": "constant", "value": 5.0},
                                    "batch_size": {"distribution": "categorical", "values": [128, 32, 64]},
                                    "lr": {"distribution": "uniform", "min": 0.001, "max": 0.1}}}
        other = copy.deepcopy(base)
        other["parameters"]["lr"]["distribution"] = "log_uniform_values"
        state = waiting_state(pool=[])
        inputs = inputs_of(now=NOW, results={"ideation-2-1": ok(ideation_result("ideation-2-1", [base])),
                                          "ideation-2-2": ok(ideation_result("ideation-2-2", [rewritten, other]))})
        after = self.apply(state, background_control.handoff(state, fixture_campaign(), inputs))
        self.assertEqual([p["proposal_id"] for p in after["proposal_pool"]], ["ideation-2-1-p1", "ideation-2-2-p2"])

    def test_duplicates_are_dropped_by_content(self):
        carried = fixture_state("wait-for-proposals")["proposal_pool"][0]["sweep_config"]
        state = waiting_state()
        inputs = inputs_of(now=NOW, results={
            "ideation-2-1": ok(ideation_result("ideation-2-1", [copy.deepcopy(carried), lr_sweep(0.3)])),
            "ideation-2-2": ok(ideation_result("ideation-2-2", [lr_sweep(0.3), lr_sweep(0.4), lr_sweep(0.4)]))})
        after = self.apply(state, background_control.handoff(state, fixture_campaign(), inputs))
        self.assertEqual([p["proposal_id"] for p in after["proposal_pool"]],
                         ["prop-1-2", "ideation-2-1-p2", "ideation-2-2-p2"])

    def test_pool_is_capped_dropping_the_oldest(self):
        state = waiting_state()
        inputs = inputs_of(now=NOW, results={"ideation-2-1": ok(ideation_result("ideation-2-1")),
                                          "ideation-2-2": ok(ideation_result("ideation-2-2", [lr_sweep(0.3)]))})
        after = self.apply(state, background_control.handoff(state, fixture_campaign(max_pool_size=2), inputs))
        self.assertEqual([p["proposal_id"] for p in after["proposal_pool"]], ["ideation-2-1-p2", "ideation-2-2-p1"])

    def test_waits_while_nothing_landed(self):
        state = waiting_state()
        envelope = background_control.handoff(state, fixture_campaign(), inputs_of(now=NOW))
        self.assert_move(envelope, "wait", "WAIT_FOR_PROPOSALS", "gate_ideation")
        self.assertEqual(envelope["wait"]["pending_ids"], ["ideation-2-1", "ideation-2-2"])
        self.assertEqual(envelope["wait"]["until"], "2026-11-22T11:12:00Z")
        self.assertEqual(envelope["next_action"]["kind"], "wait")
        after = self.apply(state, envelope)
        self.assertEqual(after["pending"], state["pending"])

    def test_stays_in_gate_while_some_results_are_pending_or_retried(self):
        failed = ok(ideation_result("ideation-2-1", status="failed"))
        invalid = ResultInput(exists=True, document={"task_id": "ideation-2-1"},
                              issues=(Issue("ideation-2-1.json", ("proposals",), "schema.required", "missing"),))
        # name, result of ideation-2-1, now, disposition, retries dispatched
        cases = [("one landed, one pending", ok(ideation_result("ideation-2-1")), NOW, "consumed", 0),
                 ("failed result is retried", failed, NOW, "rejected", 1),
                 ("invalid result is retried", invalid, NOW, "rejected", 1)]
        for name, result, now, disposition, retries in cases:
            with self.subTest(name):
                state = waiting_state()
                envelope = background_control.handoff(state, fixture_campaign(), inputs_of(now=now, results={
                    "ideation-2-1": result}))
                self.assert_move(envelope, "advance", "WAIT_FOR_PROPOSALS", "gate_ideation")
                self.assertEqual(envelope["resolved_pending"], [{"id": "ideation-2-1", "disposition": disposition}])
                self.assertEqual([w["task"]["attempt"] for w in envelope["worker_launches"]], [2] * retries)
                after = self.apply(state, envelope)
                self.assertEqual(len(after["pending"]), 1 + retries)

    def test_late_tasks_are_superseded_and_retried_with_the_plan_context(self):
        state, campaign = waiting_state(), fixture_campaign()
        envelope = background_control.handoff(state, campaign, inputs_of(now=LATE))
        self.assert_move(envelope, "advance", "WAIT_FOR_PROPOSALS", "gate_ideation")
        self.assertEqual({r["disposition"] for r in envelope["resolved_pending"]}, {"superseded"})
        plan = background_control.handoff(ideate_state(), campaign, inputs_of(now=NOW))
        self.assertEqual(context_of(envelope), context_of(plan))
        after = self.apply(state, envelope, LATE)
        self.assertEqual([(p["name"], p["attempt"]) for p in after["pending"]], [(IDEATION, 2), (IDEATION, 2)])
        self.assertFalse({p["id"] for p in after["pending"]} & {p["id"] for p in state["pending"]},
                         "a retry is a new task id")

    def test_out_of_attempts(self):
        failed = {tid: ok(ideation_result(tid, status="failed")) for tid in ("ideation-2-1", "ideation-2-2")}
        cases = [("empty pool blocks", [], failed, NOW),
                 ("late results with an empty pool block", [], {}, LATE),
                 ("carried proposals let selection go on", None, failed, NOW)]
        for name, pool, results, now in cases:
            with self.subTest(name):
                state = waiting_state(attempt=2, pool=pool)
                envelope = background_control.handoff(state, fixture_campaign(), inputs_of(now=now, results=results))
                self.assertEqual(envelope["worker_launches"], [])
                if pool == []:
                    self.assert_blocked(state, envelope, "BLOCKED_PROTOCOL", "worker-attempts-exhausted",
                                        "IDEATE", "plan_ideation", now)
                    self.assertIn("ideation-2-1", envelope["block"]["reason"])
                else:
                    self.assert_move(envelope, "advance", "SELECT_AND_DESIGN_SWEEP", "plan_selection")
                    self.apply(state, envelope, now)

    def test_proposal_ids_are_unique_across_iterations_and_the_winner_never_returns(self):
        campaign = fixture_campaign()
        seen = []
        state, history = ideate_state(), HISTORY
        for iteration, low in ((2, 0.01), (3, 0.02)):
            state = self.apply(state, background_control.handoff(state, campaign, inputs_of(history, now=NOW)))
            results = {p["id"]: ok(ideation_result(
                p["id"], [lr_sweep(low + n / 10), lr_sweep(low + n / 10 + 0.05)]))
                       for n, p in enumerate(state["pending"])}
            state = self.apply(state, background_control.handoff(state, campaign,
                                                                 inputs_of(history, now=NOW, results=results)))
            new = [p["proposal_id"] for p in state["proposal_pool"] if p["iteration"] == iteration]
            self.assertEqual(len(new), 4)
            seen += new
            winner = new[0]
            state, history = roll_to_next_iteration(state, history, winner)
            self.assertNotIn(winner, [p["proposal_id"] for p in
                                      self.apply(state, background_control.handoff(
                                          state, campaign, inputs_of(history, now=NOW)))["proposal_pool"]])
        self.assertEqual(len(seen), len(set(seen)))


def roll_to_next_iteration(state, history, winner):
    """(state, history) as SELECT_AND_DESIGN_SWEEP .. ROLL_ITERATION leave them, enough for the next IDEATE."""
    state = copy.deepcopy(state)
    iteration = state["iteration"]
    config = next(p["sweep_config"] for p in state["proposal_pool"] if p["proposal_id"] == winner)
    state["selected_sweep"] = {"proposal_id": winner, "iteration": iteration, "rationale": "won",
                               "sweep_config": dict(config, run_cap=20, program="train.py")}
    record = {"iteration": iteration, "sweep_identity": f"cifar10-resnet-iter-{iteration}", "proposal_id": winner,
              "best_run": None, "improved": False, "baseline_after": 0.612, "spend_usd": 0}
    history = support.history_of(state, iterations=history.records("iterations") + [record],
                                 learnings=history.records("learnings"), ledger=history.records("ledger"))
    state.update(machine_state="IDEATE", phase="plan_ideation", iteration=iteration + 1, pending=[],
                 step_seq=state["step_seq"] + 5, no_improve_streak=1)
    state["spend_ledger"] = dict(state["spend_ledger"], entries=[], closed_usd=state["spend_ledger"]["total_usd"])
    engine.check_state(state, "rolled state")
    return state, history


class PlanSelectionTest(HandoffCase):
    def test_dispatches_one_selection_worker(self):
        state, campaign = selection_state("plan_selection"), fixture_campaign()
        envelope = select_and_design.handoff(state, campaign, inputs_of(now=NOW))
        self.assert_move(envelope, "advance", "SELECT_AND_DESIGN_SWEEP", "finalize_selection")
        digests = [{k: p[k] for k in ("proposal_id", "rationale", "sweep_config")} for p in state["proposal_pool"]]
        self.assertEqual(context_of(envelope), [{"proposals": digests, "baseline": state["baseline"],
                                                 "learnings": HISTORY.records("learnings"), "run_cap": 20,
                                                 "history": best_runs_history()}])
        after = self.apply(state, envelope)
        self.assertEqual([(p["name"], p["attempt"]) for p in after["pending"]], [(SELECTION, 1)])

    def test_context_is_capped(self):
        pool = [pool_entry(f"prop-1-{n}", lr_sweep(n / 100)) for n in range(1, 6)]
        state = selection_state("plan_selection", pool=pool)
        envelope = select_and_design.handoff(state, fixture_campaign(max_pool_size=3, max_learnings_in_context=0),
                                             inputs_of(now=NOW))
        [context] = context_of(envelope)
        self.assertEqual([p["proposal_id"] for p in context["proposals"]], ["prop-1-3", "prop-1-4", "prop-1-5"])
        self.assertEqual(context["learnings"], [])
        self.apply(state, envelope)

    def test_empty_pool_blocks_and_resumes_at_ideation(self):
        state = selection_state("plan_selection", pool=[])
        envelope = select_and_design.handoff(state, fixture_campaign(), inputs_of(now=NOW))
        self.assert_blocked(state, envelope, "BLOCKED_PROTOCOL", "empty-pool", "IDEATE", "plan_ideation")


class FinalizeSelectionTest(HandoffCase):
    def finalize(self, result, state=None, now=NOW, campaign=None):
        state = state or selection_state()
        results = {} if result is None else {"selection-2-1": result}
        envelope = select_and_design.handoff(state, campaign or fixture_campaign(), inputs_of(now=now, results=results))
        return state, envelope

    def test_records_the_selected_sweep_with_campaign_owned_fields(self):
        state, envelope = self.finalize(ok(selection_result()))
        self.assert_move(envelope, "advance", "LOCAL_SANITY", "request_smoke_test")
        self.assertEqual(envelope["resolved_pending"], [{"id": "selection-2-1", "disposition": "consumed"}])
        after = self.apply(state, envelope)
        selected = after["selected_sweep"]
        worker = selection_result()
        self.assertEqual((selected["proposal_id"], selected["iteration"], selected["rationale"]),
                         ("prop-2-1", 2, worker["rationale"]))
        pool_hash = next(p["content_hash"] for p in state["proposal_pool"] if p["proposal_id"] == "prop-2-1")
        self.assertEqual(selected["proposal_content_hash"], pool_hash)
        self.assertEqual(selected["sweep_config"], dict(worker["sweep_config"], program="train.py", run_cap=20,
                                                        command=["${env}", "${interpreter}", "${program}", "${args}"],
                                                        metric={"name": "val_loss", "goal": "minimize"}))
        self.assertEqual(after["pending"], [])

    def test_run_cap_and_metric_come_from_the_campaign(self):
        def refined(**changes):
            return dict(selection_result()["sweep_config"], **changes)

        # name, worker sweep config, expected run cap, expected metric
        cases = [("no worker cap", refined(), 20, {"name": "val_loss", "goal": "minimize"}),
                 ("smaller worker cap kept", refined(run_cap=5), 5, {"name": "val_loss", "goal": "minimize"}),
                 ("larger worker cap clipped", refined(run_cap=500), 20, {"name": "val_loss", "goal": "minimize"}),
                 ("worker target kept", refined(metric={"name": "val_loss", "goal": "minimize", "target": 0.4}), 20,
                  {"name": "val_loss", "goal": "minimize", "target": 0.4}),
                 ("metric added when the worker gave none", dict(lr_sweep(0.1), metric=None), 20,
                  {"name": "val_loss", "goal": "minimize"}),
                 ("worker impute kept, goal the campaign's",
                  refined(metric={"name": "val_loss", "impute": "best", "impute_while_running": "latest"}), 20,
                  {"name": "val_loss", "goal": "minimize", "impute": "best", "impute_while_running": "latest"}),
                 ("W&B entity and project dropped", refined(entity="someone-else", project="elsewhere"), 20,
                  {"name": "val_loss", "goal": "minimize"})]
        for name, config, run_cap, metric in cases:
            with self.subTest(name):
                config = {k: v for k, v in config.items() if v is not None}
                state, envelope = self.finalize(ok(selection_result(sweep_config=config)))
                after = self.apply(state, envelope)
                final = after["selected_sweep"]["sweep_config"]
                self.assertEqual((final["run_cap"], final["metric"], final["program"]), (run_cap, metric, "train.py"))
                self.assertFalse({"entity", "project"} & set(final))

    def test_unusable_results_are_retried_then_block(self):
        not_in_pool = ok(selection_result(winning_proposal_id="prop-1-1"))
        bad_bounds = ok(selection_result(sweep_config=lr_sweep(0.9)))   # min above max, missed upstream
        failed = ok({"schema_version": 1, "task_id": "selection-2-1", "worker": SELECTION, "status": "failed",
                     "failure_reason": "no proposal fits the budget"})
        invalid = ResultInput(exists=True, document={}, issues=(
            Issue("selection-2-1.json", ("status",), "schema.required", "status is missing"),))
        # name, result, now, disposition, words the problem names, the rule the retry carries
        cases = [("winner not in the pool", not_in_pool, NOW, "rejected", "prop-1-1", "worker.unknown_proposal_id"),
                 ("refined config invalid", bad_bounds, NOW, "rejected", "min", "sweep.min_not_below_max"),
                 ("worker failed", failed, NOW, "rejected", "no proposal fits", "worker.reported_failure"),
                 ("result invalid", invalid, NOW, "rejected", "status is missing", "schema.required"),
                 ("no result in time", None, LATE, "superseded", "30 minutes", "worker.timeout")]
        campaign = fixture_campaign()
        for name, result, now, disposition, problem, rule in cases:
            with self.subTest(name, attempt=1):
                state, envelope = self.finalize(result, now=now)
                self.assert_move(envelope, "advance", "SELECT_AND_DESIGN_SWEEP", "finalize_selection")
                self.assertEqual(envelope["resolved_pending"], [{"id": "selection-2-1", "disposition": disposition}])
                [context] = context_of(envelope)
                self.assertEqual(context, select_and_design.selection_context(state, campaign, inputs_of(now=NOW)))
                self.assertEqual(envelope["worker_launches"][0]["task"]["attempt"], 2)
                self.assertEqual(envelope["worker_launches"][0]["task"]["previous_errors"][0]["rule"], rule)
                self.assertIn(problem, envelope["summary"])
                self.assertIn(rule, envelope["summary"])
                after = self.apply(state, envelope, now)
                self.assertIsNone(after["selected_sweep"])
            with self.subTest(name, attempt=2):
                state, envelope = self.finalize(result, selection_state(attempt=2), now=now)
                self.assertEqual(envelope["worker_launches"], [])
                self.assert_blocked(state, envelope, "BLOCKED_PROTOCOL", "worker-attempts-exhausted",
                                    "SELECT_AND_DESIGN_SWEEP", "plan_selection", now)
                self.assertIn(problem, envelope["block"]["reason"])

    def test_waits_for_the_pending_result(self):
        state, envelope = self.finalize(None)
        self.assert_move(envelope, "wait", "SELECT_AND_DESIGN_SWEEP", "finalize_selection")
        self.assertEqual(envelope["wait"]["pending_ids"], ["selection-2-1"])
        self.assertEqual(envelope["wait"]["until"], "2026-11-22T11:20:00Z")
        self.apply(state, envelope)

    def test_without_a_pending_task_it_plans_again(self):
        state = selection_state()
        state["pending"] = []
        state, envelope = self.finalize(None, state)
        self.assert_move(envelope, "advance", "SELECT_AND_DESIGN_SWEEP", "plan_selection")
        self.apply(state, envelope)


class GuardAndFlowTest(HandoffCase):
    def test_every_phase_blocks_on_an_invalid_or_changed_campaign(self):
        changed = fixture_campaign()
        changed["objective"]["direction"] = "maximize"
        phases = [(background_control, ideate_state, "IDEATE", "plan_ideation"),
                  (background_control, waiting_state, "WAIT_FOR_PROPOSALS", "gate_ideation"),
                  (select_and_design, lambda: selection_state("plan_selection"), "SELECT_AND_DESIGN_SWEEP",
                   "plan_selection"),
                  (select_and_design, selection_state, "SELECT_AND_DESIGN_SWEEP", "finalize_selection")]
        for module, make_state, machine_state, phase in phases:
            for code, campaign in (("campaign-invalid", None), ("campaign-identity-changed", changed)):
                with self.subTest(phase=phase, code=code):
                    state = make_state()
                    envelope = module.handoff(state, campaign, inputs_of(now=NOW))
                    after = self.assert_blocked(state, envelope, "BLOCKED_CONFIG", code, machine_state, phase)
                    self.assertEqual(after["proposal_pool"], state["proposal_pool"])

    def test_ideation_to_local_sanity(self):
        campaign, state = fixture_campaign(), ideate_state()
        visited = []
        for _ in range(6):
            if state["machine_state"] == "LOCAL_SANITY":
                break
            visited.append((state["machine_state"], state["phase"]))
            results = {}
            for record in state["pending"]:
                if record["name"] == IDEATION:
                    results[record["id"]] = ok(ideation_result(record["id"], [lr_sweep(0.05)]))
                else:
                    winner = state["proposal_pool"][-1]
                    results[record["id"]] = ok(selection_result(record["id"], winning_proposal_id=winner["proposal_id"],
                                                                sweep_config=winner["sweep_config"]))
            module = background_control if state["machine_state"] in ("IDEATE", "WAIT_FOR_PROPOSALS") \
                else select_and_design
            state = self.apply(state, module.handoff(state, campaign, inputs_of(now=NOW, results=results)))
        self.assertEqual(visited, [("IDEATE", "plan_ideation"), ("WAIT_FOR_PROPOSALS", "gate_ideation"),
                                   ("SELECT_AND_DESIGN_SWEEP", "plan_selection"),
                                   ("SELECT_AND_DESIGN_SWEEP", "finalize_selection")])
        self.assertEqual(state["selected_sweep"]["proposal_id"], "ideation-2-18-1-p1")
        self.assertEqual(state["pending"], [])


if __name__ == "__main__":
    unittest.main()
