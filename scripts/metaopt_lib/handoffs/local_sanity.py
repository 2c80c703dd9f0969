"""LOCAL_SANITY of metaopt-remote-execution-control: the smoke test, the gate before any spend.

It runs one real point of the selected sweep the way a trial will run (see executor/smoke.py). A
smoke test that fails blocks the campaign with BLOCKED_CONFIG, never FAILED: the selected sweep is
kept, and once the user fixed the program or the command, resume runs the smoke test again. A sweep
whose swept parameters the program never reads would spend on nothing: it goes back to selection,
with the keys in the selection task's previous_errors; after max_worker_attempts such rounds in one
iteration the campaign blocks.
"""
from __future__ import annotations

from ..contract.sweep_space import representative_point, swept_keys
from . import honesty
from .remote_sweep import (MAX_EXECUTOR_ATTEMPTS, executor_error, executor_problem, newest_pending, supersede,
                           wait_for_executor)
from .worker_gate import error

SMOKE_TEST_TIMEOUT_SECONDS = 60
SMOKE_TEST_OUTPUT_LINES = 40
RESUME_FIX = "then run metaopt.py resume, which runs the smoke test again."


def request_smoke_test(state, campaign, inputs, builder):
    supersede(builder, state, "run_smoke_test")
    _smoke_test_directive(builder, state, campaign)
    return builder.advance("LOCAL_SANITY", "gate_smoke_test", "Run the 60-second smoke test of one point of "
                           f"{state['selected_sweep']['proposal_id']} before any spend.")


def gate_smoke_test(state, campaign, inputs, builder):
    record, result = newest_pending(state, inputs, "run_smoke_test")
    if record is None:
        return request_smoke_test(state, campaign, inputs, builder)
    if not result.exists:
        return wait_for_executor(builder, [record])
    problem = executor_problem(record, result, "run_smoke_test")
    if problem is not None:
        builder.resolve(record["id"], "rejected")
        if record["attempt"] < MAX_EXECUTOR_ATTEMPTS:
            _smoke_test_directive(builder, state, campaign)
            return builder.retry(record["attempt"], MAX_EXECUTOR_ATTEMPTS, 0,
                                 f"Smoke-test result rejected ({problem}); running it again.")
        return builder.blocked("BLOCKED_PROTOCOL", "executor-result-invalid",
                               f"The executor wrote no usable smoke-test result in {record['attempt']} "
                               f"attempts: {problem}",
                               "Check that scripts/skypilot_wandb_worker.py runs and writes its result, "
                               "then run metaopt.py resume.", campaign, "LOCAL_SANITY", "request_smoke_test")
    builder.resolve(record["id"], "consumed")
    document = result.document
    if document["status"] != "ok" or not document["details"]["passed"]:
        # The result is archived once consumed; that is where the user finds the output tail.
        kept = record["result_path"].replace(".ml-metaopt/", ".ml-metaopt/archive/", 1)
        return builder.blocked("BLOCKED_CONFIG", "smoke-test-failed", _smoke_failure(document),
                               "Fix the training program, its environment or project.smoke_test_command (the "
                               f"output tail is in {kept}), " + RESUME_FIX, campaign,
                               "LOCAL_SANITY", "request_smoke_test")
    unread = document["details"].get("unread_keys") or []
    if unread:
        return _reject_selection(state, campaign, builder, unread)
    summary = "Smoke test passed; check the budget and launch."
    if honesty.seed_candidates(campaign):
        # What the noise floor's re-runs vary: the seed key the program was seen to read.
        seed = document["details"].get("seed_parameter")
        builder.set("/sanity", {"iteration": state["iteration"], "proposal_id": state["selected_sweep"]["proposal_id"],
                                "unread_keys": [], "rejections": 0, "seed_parameter": seed})
        summary += (f" The program reads its seed from {seed!r}." if seed else
                    " The program reads no seed the smoke test could see; the noise floor re-runs the configuration as it is.")
    elif state.get("sanity"):
        builder.set("/sanity", None)
    return builder.advance("LAUNCH_SWEEP", "request_launch", summary)


def _reject_selection(state, campaign, builder, unread):
    """The program never reads these swept parameters: back to selection, or block when it keeps on."""
    selected = state["selected_sweep"]
    previous = state.get("sanity") or {}
    rejections = (previous.get("rejections", 0) if previous.get("iteration") == state["iteration"] else 0) + 1
    names = ", ".join(unread)
    program = campaign["project"]["program"]
    if rejections >= campaign["proposal_policy"]["max_worker_attempts"]:
        return builder.blocked("BLOCKED_CONFIG", "parameters-not-read",
                               f"{program} never reads the swept parameter(s) {names} from wandb.config, in "
                               f"{rejections} selected sweeps of iteration {state['iteration']}.",
                               f"Make {program} read them, or tell the workers which parameters it takes (a "
                               "campaign search_space), then run metaopt.py resume.", campaign,
                               "SELECT_AND_DESIGN_SWEEP", "plan_selection")
    builder.set("/sanity", {"iteration": state["iteration"], "proposal_id": selected["proposal_id"],
                            "unread_keys": list(unread), "rejections": rejections})
    return builder.advance("SELECT_AND_DESIGN_SWEEP", "plan_selection",
                           f"{selected['proposal_id']} sweeps {names}, which {program} never reads "
                           "(sweep.parameter_not_read); selecting again.")


def unread_errors(sanity, program) -> list:
    """The previous_errors of a selection rejected because the program never reads swept parameters."""
    return [error("sweep.parameter_not_read", f"$.sweep_config.parameters.{key}",
                  f"{program} never reads {key!r} from wandb.config, so sweeping it spends on nothing",
                  f"leave {key!r} out of the sweep (or set it as a constant)") for key in sanity["unread_keys"]]


def _smoke_test_directive(builder, state, campaign):
    project, objective = campaign["project"], campaign["objective"]
    config = state["selected_sweep"]["sweep_config"]
    parameters = config.get("parameters", {})
    payload = {"command": project.get("smoke_test_command"), "working_dir": project["repo"],
               "timeout_seconds": SMOKE_TEST_TIMEOUT_SECONDS, "max_output_lines": SMOKE_TEST_OUTPUT_LINES,
               "program": project["program"], "sweep_command": config.get("command"),
               "params": representative_point(parameters), "metric": objective["metric"],
               "swept": swept_keys(parameters)}
    if honesty.seed_candidates(campaign):
        payload["seed_candidates"] = honesty.seed_candidates(campaign)
    builder.directive("run_smoke_test", payload)


def _smoke_failure(document) -> str:
    details = document["details"]
    if document["status"] != "ok":
        how = f"could not run ({executor_error(document)})"
    else:
        how = details.get("failure") or (f"exited with code {details['exit_code']}" if not details["timed_out"]
                                         else "failed")
    stderr = [line.strip() for line in details["stderr_tail"] if line.strip()]
    last = stderr[-1][:160] if stderr else "(no stderr output)"
    return f"Smoke test failed: {how}; nothing was launched. Last stderr line: {last}"
