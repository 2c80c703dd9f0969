"""The text of final.md and iteration-N.md, from the state, the campaign and the trial table.

Everything a person needs to act: the metric and its direction, the best configuration with the
command that re-runs it, per iteration the best seen against the baseline adopted (and why a better
value was not adopted), spend against the cap, why the campaign stopped, the top trials, the charts,
and where the raw data is (trials.csv, the Optuna journals, the wandb offline runs, W&B sweeps).
"""
from __future__ import annotations

from ..contract.improvement import judge
from ..contract.state_views import budget_snapshot
from ..contract.trial_ranking import ranked
from .honesty_sections import agents_added_section, best_noise_line, noise_cell, verdict_words
from .numbers import direction_words, readable

TOP_TRIALS = 10


def final_markdown(state, campaign, facts, terminal) -> str:
    objective = campaign["objective"]
    lines = [f"# Campaign {state['campaign']['name']}: {terminal['terminal_state']}", "",
             f"Why it stopped: {terminal['reason']}", "",
             f"Objective: `{objective['metric']}`, {direction_words(objective['direction'])} (improvement "
             f"threshold {readable(objective['improvement_threshold'])}).", ""]
    lines += _best_section(facts)
    lines += _iterations_section(state, objective, facts["iterations"])
    lines += agents_added_section(state, campaign, facts)
    lines += _spend_section(state)
    lines += _top_trials_section(facts["trials"], objective)
    lines += _charts_section(facts["charts"])
    lines += _learnings_section(state["learnings"])
    lines += _data_section(facts)
    if state["block"]:
        lines += ["## To continue", "", state["block"]["fix"], "",
                  f"Then run `{facts['metaopt']} resume --project-root {facts['root']}`.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def iteration_markdown(state, campaign, facts, iteration) -> str:
    objective = campaign["objective"]
    rows = [r for r in facts["iterations"] if r["iteration"] == iteration]
    trials = [t for t in facts["trials"] if t["iteration"] == iteration]
    lines = [f"# Iteration {iteration} of {state['campaign']['name']}", "",
             f"Objective: `{objective['metric']}`, {direction_words(objective['direction'])}.", ""]
    lines += _iterations_section(state, objective, rows)
    lines += _spend_section(state)
    lines += _top_trials_section(trials, objective)
    lines += _learnings_section([item for item in state["learnings"] if item["iteration"] == iteration])
    lines += ["Every trial of the campaign so far: [trials.csv](trials.csv).", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def iteration_rows(state, threshold, direction) -> list:
    """Per completed iteration: the best seen, its noise floor, the baseline before and after, and why
    it was (not) adopted (the verdict of contract/improvement.py, with the record's own decision)."""
    hydration = state["hydration"] or {}
    before = (hydration.get("initial_baseline") or {}).get("metric_value")
    rows = []
    for record in state["completed_iterations"]:
        best = record["best_run"]["metric_value"] if record["best_run"] else None
        after = record["baseline_after"]
        noise = record.get("noise_floor")
        verdict = judge(best, before, direction, threshold, noise, noise["sd_multiple"] if noise else None)
        rows.append({"iteration": record["iteration"], "sweep_identity": record["sweep_identity"],
                     "trials": record.get("trials"), "best_seen": best, "noise_floor": noise,
                     "baseline_before": before, "baseline_after": after, "improved": record["improved"],
                     "spend_usd": record["spend_usd"] + record.get("noise_spend_usd", 0),
                     "why": verdict_words(verdict, record["improved"], noise)})
        before = after if after is not None else before
    return rows


def _best_section(facts) -> list:
    best = facts["best"]
    if best is None:
        return ["## Best configuration", "", "No sweep of this campaign produced a result yet.", ""]
    where = f"iteration {best['iteration']}, run `{best['run_id']}`" if best.get("run_id") else "the campaign"
    lines = ["## Best configuration", "", f"`{facts['metric']}` = {readable(best['metric_value'])} ({where})"
             + best_noise_line(facts) + ".", "", "| parameter | value |", "|---|---|"]
    lines += [f"| `{name}` | `{value}` |" for name, value in best["config"].items()]
    lines += ["", "As a W&B config file: [best-config.yaml](best-config.yaml). To run it once more:", "", "```sh",
              facts["reproduce"], "```", ""]
    return lines


def _iterations_section(state, objective, rows) -> list:
    noise = any(r["noise_floor"] for r in rows)
    extra = (" re-runs of the best: mean ± sd |", "---|") if noise else ("", "")
    lines = ["## Iterations", "", "| iteration | trials | best seen |" + extra[0] + " baseline before | baseline after "
             "| verdict |", "|---|---|---|" + extra[1] + "---|---|---|"]
    for r in rows:
        trials = r["trials"] or {}
        count = f"{trials.get('finished', 0)} finished, {trials.get('failed', 0)} failed" if trials else "—"
        cell = f" {noise_cell(r['noise_floor'])} |" if noise else ""
        lines.append(f"| {r['iteration']} | {count} | {readable(r['best_seen'])} |{cell} "
                     f"{readable(r['baseline_before'])} | {readable(r['baseline_after'])} | {r['why']} |")
    if not rows:
        lines.append("| — | — | — |" + (" — |" if noise else "") + " — | — | no iteration completed |")
    return lines + [""]


def _spend_section(state) -> list:
    budget = budget_snapshot(state)
    return ["## Spend", "", f"{budget['spent_usd']:.2f} of {budget['max_budget_usd']:.2f} USD "
            f"({budget['remaining_usd']:.2f} USD left).", ""]


def _top_trials_section(trials, objective) -> list:
    best = ranked(trials, objective["direction"])[:TOP_TRIALS]
    if not best:
        return ["## Top trials", "", "No trial logged the metric.", ""]
    names = sorted({n for t in best for n in t["params"]})
    lines = ["## Top trials", "", f"The best {len(best)} of {len(trials)} trial(s); all of them in "
             "[trials.csv](trials.csv).", "",
             "| iteration | run | " + objective["metric"] + " | " + " | ".join(names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for t in best:
        cells = [readable(t["params"].get(n)) for n in names]
        lines.append(f"| {t['iteration']} | `{t['run_id']}` | {readable(t['metric_value'])} | " + " | ".join(cells)
                     + " |")
    return lines + [""]


def _charts_section(charts) -> list:
    lines = ["## Charts", ""]
    for chart in charts:
        title = chart.name.replace("-", " ")
        lines.append(f"![{title}]({chart.file})" if chart.file else f"- {title}: not drawn ({chart.error})")
        lines.append("")
    return lines


def _learnings_section(learnings) -> list:
    return ["## Learnings", ""] + ([f"- iteration {item['iteration']}: {item['text']}" for item in learnings]
                                   or ["- none yet"]) + [""]


def _data_section(facts) -> list:
    lines = ["## Where to look further", "", "- every trial: [trials.csv](trials.csv)"]
    lines += [f"- {line}" for line in facts["further"]]
    lines += [f"- not read: {problem}" for problem in facts["problems"]]
    return lines + [""]
