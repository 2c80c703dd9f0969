"""The mechanical directives the driver runs itself: the AGENTS.md hook and the reports
(report/writer.py; the plain reports below when the campaign file cannot be read).

Each is idempotent: running it twice leaves the same files.
"""
from __future__ import annotations

from ..contract.paths import SKILL_ROOT
from ..contract.state_views import budget_snapshot, effective_baseline
from .agents_hook import add_hook, remove_hook


def run(campaign_dir, directive, state) -> None:
    from ..report.writer import write_final_report, write_iteration_report  # a step that writes no report needs none

    payload = directive["payload"]
    kind = directive["type"]
    if kind == "add_agents_hook":
        add_hook(campaign_dir, payload["marker"], payload["text"])
    elif kind == "remove_agents_hook":
        remove_hook(campaign_dir, payload["marker"])
    elif kind == "emit_iteration_report":
        campaign = _campaign(campaign_dir)
        if campaign is None:
            campaign_dir.write_text(payload["report_path"], iteration_report(state, directive["iteration"]))
        else:
            write_iteration_report(campaign_dir.root, state, campaign, directive["iteration"], campaign_dir.write_text)
    elif kind == "emit_final_report":
        campaign = _campaign(campaign_dir)
        if campaign is None:
            campaign_dir.write_text(payload["report_path"], final_report(state, payload))
        else:
            write_final_report(campaign_dir.root, state, campaign, payload, payload["report_path"],
                               campaign_dir.write_text)
    else:
        raise ValueError(f"not a mechanical directive: {kind}")


def refresh_trials_csv(campaign_dir, state) -> None:
    """After a poll the step made: trials.csv with the trials finished so far (skipped while the
    campaign file cannot be read; the iteration's report writes it again)."""
    from ..report.writer import write_trials_table

    campaign = _campaign(campaign_dir)
    if campaign is not None:
        write_trials_table(campaign_dir.root, state, campaign, campaign_dir.write_text)


def _campaign(campaign_dir):
    """The campaign with its defaults, or None when the file is invalid now (an edit in progress): the
    reports then fall back to what the state alone says (no objective, no command, no charts)."""
    return campaign_dir.campaign()[0]


def _metric(run):
    return "—" if not run else f"{run['metric_value']:.6g} ({run['run_id']})"


def iteration_report(state, iteration) -> str:
    record = next((r for r in state["completed_iterations"] if r["iteration"] == iteration), None)
    budget = budget_snapshot(state)
    lines = [f"# Iteration {iteration} — {state['campaign']['name']}", ""]
    if record:
        lines += [f"- sweep: `{record['sweep_identity']}` from proposal `{record['proposal_id']}`",
                  f"- best run: {_metric(record['best_run'])}"]
        if "trials" in record:
            trials = record["trials"]
            lines.append(f"- trials: {trials['finished']} finished, {trials['failed']} failed, {trials['killed']} "
                         f"killed by the watchdog, {trials.get('interrupted', 0)} interrupted; runner restarts: "
                         f"{record.get('runner_restarts', 0)}")
        lines += [f"- improved: {'yes' if record['improved'] else 'no'}; baseline after: {record['baseline_after']}",
                  f"- spend of this sweep: {record['spend_usd']:.2f} USD"]
    lines += [f"- campaign spend: {budget['spent_usd']:.2f} of {budget['max_budget_usd']:.2f} USD", "",
              "## Learnings", ""]
    lines += [f"- {item['text']}" for item in state["learnings"] if item["iteration"] == iteration] or ["- none"]
    return "\n".join(lines) + "\n"


def final_report(state, payload) -> str:
    budget = budget_snapshot(state)
    baseline = effective_baseline(state)
    lines = [f"# Campaign {state['campaign']['name']}: {payload['terminal_state']}", "",
             f"Reason: {payload['reason']}", "",
             f"- iterations completed: {len(state['completed_iterations'])}",
             f"- baseline: {baseline['metric_value'] if baseline else 'none'}"
             + (f" (run {baseline.get('run_id')}, iteration {baseline.get('iteration')})"
                if baseline and baseline.get("run_id") else ""),
             f"- spend: {budget['spent_usd']:.2f} of {budget['max_budget_usd']:.2f} USD", ""]
    if baseline and baseline.get("config"):
        lines += ["## Best configuration", ""]
        lines += [f"- `{key}`: {value}" for key, value in sorted(baseline["config"].items())] + [""]
    lines += ["## Iterations", "", "| iteration | best | improved | spend (USD) |", "|---|---|---|---|"]
    lines += [f"| {r['iteration']} | {_metric(r['best_run'])} | {'yes' if r['improved'] else 'no'} | "
              f"{r['spend_usd']:.2f} |" for r in state["completed_iterations"]]
    if state["block"]:
        lines += ["", "## To continue", "", f"{state['block']['fix']}",
                  f"Then run `python3 {SKILL_ROOT / 'scripts' / 'metaopt.py'} resume --project-root .` from the "
                  "project directory."]
    return "\n".join(lines) + "\n"
