"""The report's honest account: each verdict in words (the threshold and, when measured, the noise
floor), the noise floor of each iteration's best, and "What the agents added": the campaign's best
against a random search with the same trial budget, told apart from noise where a noise floor was
measured."""
from __future__ import annotations

from ..contract import improvement as rule
from ..contract.improvement import gain_of
from .numbers import readable


def verdict_words(verdict, improved, noise) -> str:
    """Why an iteration's best was (not) adopted; `improved`: what the iteration close decided."""
    gain, threshold = readable(verdict.gain), readable(verdict.threshold)
    judged = f"the mean of {verdict.finished} re-runs is better" if noise else "better"
    if verdict.code == rule.NO_RESULT:
        return "no trial logged the metric"
    if verdict.code == rule.FIRST:
        return ("the first result: the mean of its re-runs adopted as the baseline" if noise and noise["mean"]
                is not None else "the first result: adopted as the baseline")
    if improved:
        beyond = f" and {noise_bound_words(verdict, noise)}" if noise else ""
        return f"{judged} by {gain}, above the threshold {threshold}{beyond}: adopted"
    if verdict.code == rule.WITHIN_NOISE:
        return f"{judged} by {gain}, but not beyond {noise_bound_words(verdict, noise)}: not adopted"
    if verdict.code == rule.NOISE_UNMEASURED:
        return (f"better by {gain}, but only {verdict.finished} of {verdict.repeats} re-runs finished, too few for "
                "a noise floor: not adopted")
    if verdict.gain is not None and verdict.gain > 0:
        return f"{judged} by {gain}, but not by more than the improvement threshold {threshold}: not adopted"
    return "not better than the baseline"


def noise_bound_words(verdict, noise) -> str:
    return f"the noise bound {readable(verdict.noise_bound)} ({readable(noise['sd_multiple'])} sd of the re-runs)"


def noise_cell(noise) -> str:
    if not noise:
        return "—"
    seeds = f", seeds in `{noise['seed_parameter']}`" if noise["seed_parameter"] else ", same configuration"
    if noise["mean"] is None:
        return f"none of {noise['repeats']} finished"
    spread = f" ± {readable(noise['sd'])}" if noise["sd"] is not None else ""
    return f"{readable(noise['mean'])}{spread} ({len(noise['values'])} of {noise['repeats']}{seeds})"


def best_noise_line(facts) -> str:
    """How the best configuration's value was measured, when a noise floor measured it."""
    noise = facts.get("best_noise")
    if not noise or noise["mean"] is None:
        return ""
    spread = f" ± {readable(noise['sd'])} (sd)" if noise["sd"] is not None else ""
    trial = noise.get("trial_value")
    own = f"; the trial itself gave {readable(trial)}" if trial is not None else ""
    return f": the mean of {len(noise['values'])} re-runs{spread}{own}"


def agents_added_section(state, campaign, facts) -> list:
    """The campaign's best trial against the budget-matched random search, within the noise floor."""
    control = state.get("control")
    honesty = campaign.get("honesty") or {}
    if control is None:
        if not honesty.get("random_search_control"):
            return []
        return ["## What the agents added", "", "The random-search control did not run (why the campaign stopped "
                "says why), so what the agents added cannot be told.", ""]
    direction = campaign["objective"]["direction"]
    metric = campaign["objective"]["metric"]
    ours = campaign_best_trial(state, direction)
    theirs = control["best_run"]["metric_value"] if control["best_run"] else None
    space = "the campaign's search_space" if control["space_source"] == "search_space" else "the first iteration's space"
    trials = control["trials"]
    lines = ["## What the agents added", "",
             f"After the campaign stopped, a random search over {space} ran with the campaign's trial budget "
             f"({control['trial_budget']} trials: those its search sweeps ran): {trials['finished']} finished, "
             f"{trials['failed']} failed, {trials['killed']} killed (it ended: {control['stop_reason']}).", "",
             "| | best `" + metric + "` |", "|---|---|",
             f"| the campaign's agents (best trial of its search sweeps) | {readable(ours[0] if ours else None)} |",
             f"| random search, same trial budget | {readable(theirs)} |", ""]
    lines += [_comparison(ours[0] if ours else None, theirs, direction, noise_for_comparison(state)), ""]
    return lines


def _comparison(ours, theirs, direction, noise) -> str:
    if ours is None or theirs is None:
        return "One side has no finished trial with the metric: nothing to compare."
    gain = gain_of(ours, theirs, direction)
    if noise is None or noise["sd"] is None:
        floor = ("No noise floor was measured (honesty.noise_floor is off, or too few re-runs finished), so whether "
                 "this difference is more than noise cannot be told.")
    else:
        bound = noise["sd_multiple"] * noise["sd"]
        inside = abs(gain) <= bound
        floor = (f"The noise floor of the best configuration (sd {readable(noise['sd'])} over "
                 f"{len(noise['values'])} re-runs, iteration {noise['iteration']}) puts "
                 f"{readable(noise['sd_multiple'])} sd at {readable(bound)}: the difference is "
                 + ("within the noise floor, so it cannot be told from noise." if inside else "beyond the noise floor."))
    if gain > 0:
        lead = f"The agents' best is better than random search's by {readable(gain)}."
    elif gain < 0:
        lead = f"Random search's best is better than the agents' by {readable(-gain)}."
    else:
        lead = "The agents' best and random search's best are equal."
    return f"{lead} {floor}"


def campaign_best_trial(state, direction):
    """(value, iteration) of the best trial of the campaign's search sweeps, or None."""
    runs = [(r["best_run"]["metric_value"], r["iteration"]) for r in state["completed_iterations"] if r["best_run"]]
    if not runs:
        return None
    sign = 1 if direction == "maximize" else -1
    return max(runs, key=lambda item: (sign * item[0], -item[1]))


def noise_for_comparison(state):
    """The noise floor to judge the comparison by: the baseline's iteration's, else the latest measured."""
    records = [r["noise_floor"] for r in state["completed_iterations"] if r.get("noise_floor")]
    baseline = state["baseline"] or {}
    for noise in records:
        if noise["iteration"] == baseline.get("iteration") and noise["sd"] is not None:
            return noise
    measured = [noise for noise in records if noise["sd"] is not None]
    return measured[-1] if measured else None
