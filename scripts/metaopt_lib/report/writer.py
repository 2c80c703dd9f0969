"""Write what a person gets from a campaign under .ml-metaopt/reports/: trials.csv, best-config.yaml,
the charts, iteration-N.md and final.md. The text and the CSV are written even when a chart cannot
be drawn (the report says why), and every text goes through the campaign's redaction."""
from __future__ import annotations

from pathlib import Path

from ..contract.paths import METAOPT_DIR_NAME, SKILL_ROOT
from .best import best_files, best_result, reproduce_command
from .campaign_trials import read_tables, search_trials, sweeps_of
from .markdown import final_markdown, iteration_markdown, iteration_rows
from .trials_csv import TRIALS_CSV, csv_text

REPORTS_DIR = f"{METAOPT_DIR_NAME}/reports"


def gather(project_root, state, campaign, draw=True) -> dict:
    """Everything the reports show, read once (campaign: valid, with its defaults); `draw`: whether to
    draw the charts (final report)."""
    root = Path(project_root)
    objective = campaign["objective"]
    every, spaces, problems = read_tables(root, state)
    trials = search_trials(every)
    rows = iteration_rows(state, objective["improvement_threshold"], objective["direction"])
    best = best_result(state)
    facts = {"metric": objective["metric"], "trials": trials, "all_trials": every, "iterations": rows, "best": best,
             "best_noise": _best_noise(state, best),
             "reproduce": reproduce_command(root, campaign, best["config"]) if best else None,
             "charts": [], "further": further_reading(state, campaign, best), "problems": problems,
             "metaopt": f"python3 {SKILL_ROOT / 'scripts' / 'metaopt.py'}", "root": str(root)}
    if draw:
        facts["charts"] = _charts(root, trials, rows, spaces, objective)
    return facts


def write_iteration_report(project_root, state, campaign, iteration, write_text) -> None:
    """trials.csv, best-config.yaml and iteration-N.md; `write_text(rel, text)` writes a file of the
    campaign, secrets hidden."""
    facts = gather(project_root, state, campaign, draw=False)
    _write_data(facts, campaign, write_text)
    write_text(f"{REPORTS_DIR}/iteration-{iteration}.md", iteration_markdown(state, campaign, facts, iteration))


def write_final_report(project_root, state, campaign, terminal, report_path, write_text) -> None:
    facts = gather(project_root, state, campaign)
    _write_data(facts, campaign, write_text)
    write_text(report_path, final_markdown(state, campaign, facts, terminal))


def _best_noise(state, best):
    """The noise floor that measured the adopted best, with the value its own trial gave."""
    for record in state["completed_iterations"] if best else ():
        noise = record.get("noise_floor")
        if noise and record["iteration"] == best.get("iteration") and noise["run_id"] == best.get("run_id"):
            return dict(noise, trial_value=record["best_run"]["metric_value"])
    return None


def _write_data(facts, campaign, write_text) -> None:
    write_text(TRIALS_CSV, csv_text(facts["all_trials"], facts["metric"]))
    if facts["best"]:
        for rel, text in best_files(campaign, facts["best"]).items():
            write_text(rel, text)


def write_trials_table(project_root, state, campaign, write_text) -> None:
    """trials.csv alone, after a poll: the table follows the sweep as its trials finish."""
    trials, _, _ = read_tables(Path(project_root), state)
    write_text(TRIALS_CSV, csv_text(trials, campaign["objective"]["metric"]))


WHICH = {"search": "the sweep's", "noise_floor": "the noise floor's", "control": "the random-search control's"}


def sweep_urls(state):
    """(identity, W&B sweep URL) of every sweep whose URL the state kept."""
    records = [(r["sweep_identity"], r.get("sweep_url")) for r in state["completed_iterations"]]
    records += [(r["noise_floor"]["sweep_identity"], r["noise_floor"].get("sweep_url"))
                for r in state["completed_iterations"] if r.get("noise_floor")]
    records += [(r["sweep_identity"], r.get("sweep_url")) for r in (state.get("noise_floor"), state.get("control"),
                                                                   state["current_sweep"]) if r]
    return [(identity, url) for identity, url in records if url]


def further_reading(state, campaign, best) -> list:
    """Where the raw data of each sweep is, and the command that opens it."""
    lines = []
    backend = campaign["compute"]["backend"]
    for iteration, identity, purpose in sweeps_of(state):
        sweep_dir = f"{METAOPT_DIR_NAME}/sweeps/{identity}"
        if backend == "local":
            lines.append(f"iteration {iteration}, {WHICH[purpose]} Optuna study: `optuna-dashboard {sweep_dir}/study.journal`; "
                         f"its wandb offline runs: `wandb sync {sweep_dir}/trials/*/wandb/offline-run-*`")
    urls = {identity: url for identity, url in sweep_urls(state)}
    for iteration, identity, purpose in sweeps_of(state):
        if urls.get(identity):
            lines.append(f"iteration {iteration}, {WHICH[purpose]} W&B sweep: {urls[identity]}")
    if best and best.get("run_url"):
        lines.append(f"the best run on W&B: {best['run_url']}")
    return lines


def _charts(root, trials, rows, spaces, objective) -> list:
    from .charts import draw_charts

    iterations = [{"iteration": r["iteration"], "space": spaces.get(r["iteration"]), "best_value": r["best_seen"],
                   "baseline_after": r["baseline_after"]} for r in rows]
    return draw_charts(root / REPORTS_DIR, trials, iterations, objective)
