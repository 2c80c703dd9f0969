"""Short plain-text renderings of the driver's documents, for people."""
from __future__ import annotations

from ..contract.conventions import one_line
from ..report.numbers import direction_words, readable


def render(command, document) -> str:
    if "error" in document:
        error = document["error"]
        return f"error ({error['code']}): {error['message']}\nfix: {error['fix']}"
    if command == "status":
        return _status(document)
    if "reset" in document:
        return document["summary"]
    return _step(document)


def _money(budget) -> str:
    return f"{budget['spent_usd']:.2f} / {budget['max_budget_usd']:.2f} USD"


def _action(action) -> list:
    kind = action["kind"]
    lines = [f"next: {kind}"]
    if kind == "run_executor":
        lines.append("  " + " ".join(action["command"]))
    for worker in action.get("workers", []):
        lines.append(f"  {worker['worker']}: task {worker['task_path']} -> {worker['result_path']}")
    if action.get("until"):
        lines.append(f"  not before {action['until']}")
    if kind == "stop":
        lines.append(f"  {action['terminal_state']}: {action['reason']}")
    for item in action.get("user_can", []):
        lines.append(f"  - {item}")
    return lines


def _step(doc) -> str:
    lines = [f"{doc['machine_state']}, iteration {doc['iteration']}: {doc['summary']}"]
    return "\n".join(lines + _action(doc["action"]))


def _status(doc) -> str:
    """The status screen: numbers rounded for reading (the --json document keeps them exact)."""
    sweep, budget, objective = doc["current_sweep"], doc["budget"], doc["objective"]
    done = doc["completed_iterations"]
    lines = [f"campaign     {doc['campaign']}  [{doc['status']}]  iteration {doc['iteration']} "
             f"({done} completed)",
             f"state        {doc['machine_state']} / {doc['phase']}; waiting for {doc['waiting_for']}",
             "objective    " + (f"{objective['metric']}, {direction_words(objective['direction'])}" if objective
                                else "not in the state yet (the first proposals name it)"),
             f"baseline     {_baseline(doc)}",
             f"best so far  {_best(doc)}"]
    lines += _sweep_lines(sweep) if sweep else ["sweep        none yet"]
    lines.append(f"spend        {_spend(budget, sweep)}")
    lines += _config_lines(doc["best"])
    lines.append(f"pending      {', '.join(doc['pending']) or 'nothing'}")
    if doc["block"]:
        lines.append(f"blocked      {doc['block']['reason']} — fix: {doc['block']['fix']}")
    lines += [f"recent       {line}" for line in doc["recent"]]
    return "\n".join(lines + _action(doc["next_action"]))


JUDGEMENTS = {"baseline": "the baseline", "pending": "this sweep's, not judged yet",
              "not-adopted": "not adopted: it did not beat the baseline by the improvement threshold",
              "not-adopted-noise-floor": "not adopted: the mean of its re-runs did not beat the baseline by the "
                                         "improvement threshold and beyond the noise floor"}
PURPOSES = {"search": "", "noise_floor": " [noise floor: re-runs of the best configuration]",
            "control": " [random-search control]"}
CONFIG_LINES = 20


def money(usd) -> str:
    """Dollars to the cent; a non-zero amount under a cent to 2 significant digits."""
    return f"${usd:,.2f}" if usd == 0 or abs(usd) >= 0.01 else f"${usd:.2g}"


def duration(seconds) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600:02d}h"


def _baseline(doc) -> str:
    if doc["baseline"] is None:
        return "none yet"
    if doc["baseline_source"] == "campaign":
        return f"{readable(doc['baseline'])} (given by the campaign)"
    return f"{readable(doc['baseline'])} (iteration {doc['baseline_iteration']}, run {doc['baseline_run']})"


def _best(doc) -> str:
    best = doc["best"]
    if best is None:
        return "none yet"
    return (f"{readable(best['metric_value'])} (iteration {best['iteration']}, run {best['run_id']}; "
            f"{JUDGEMENTS[best['judgement']]})")


def _sweep_lines(sweep) -> list:
    trials = sweep["trials"]
    counts = [f"{trials['finished']} finished", f"{trials['running']} running", f"{trials['failed']} failed"]
    counts += [f"{trials[k]} {k}" for k in ("killed", "interrupted") if trials.get(k)]
    cap = f"of run cap {sweep['run_cap']}" if sweep["run_cap"] is not None else "(run cap not in the state)"
    best = "none yet" if sweep["best_metric"] is None else readable(sweep["best_metric"])
    first = (f"sweep        {sweep['sweep_identity']}{PURPOSES[sweep['purpose']]} {sweep['status']} ({sweep['backend']}): "
             f"{', '.join(counts)} {cap}; best {best}")
    active = sweep["active"]
    if sweep["elapsed_seconds"] is None:
        when = "not launched yet"
    else:
        when = f"{'running for' if active else 'ran for'} {duration(sweep['elapsed_seconds'])}"
    if sweep["spent_usd"] is None:
        spend = "no spend recorded yet"
    else:
        spend = f"spent {money(sweep['spent_usd'])}" + ("" if sweep["spend_complete"] else " (listing incomplete)")
        if sweep["usd_per_hour"] is not None:
            spend += f" at {money(sweep['usd_per_hour'])}/h"
    second = f"             {when}; {spend}"
    projection = sweep["projection"]
    if active and projection["unavailable"]:
        second += f"; no projection at the run cap yet ({projection['unavailable']})"
    elif active:
        second += (f"; projected {money(projection['sweep_usd_at_run_cap'])} at the run cap "
                   f"({money(projection['usd_per_ended_trial'])} per ended trial x {sweep['run_cap']})")
    return [first, second]


def _spend(budget, sweep) -> str:
    cap, spent = budget["max_budget_usd"], budget["spent_usd"]
    share = f" ({spent / cap:.0%})" if cap else ""
    text = f"{money(spent)} of {money(cap)}{share}, {money(budget['remaining_usd'])} left"
    projected = sweep["projection"]["campaign_usd_at_run_cap"] if sweep else None
    if projected is not None:
        text += f"; projected {money(projected)} when this sweep reaches its run cap"
        if projected > cap:
            text += " (over the cap: the budget stops the sweep first)"
    return text


def _config_lines(best) -> list:
    if best is None:
        return ["best config  none yet"]
    items = list(_flat(best["config"]))
    note = "" if best["judgement"] == "baseline" else "; not the baseline, which metaopt.py best shows"
    lines = [f"best config  run {best['run_id']} (iteration {best['iteration']}{note})" + ("" if items else ": empty")]
    lines += [f"  {name} = {value}" for name, value in items[:CONFIG_LINES]]
    if len(items) > CONFIG_LINES:
        lines.append(f"  ... and {len(items) - CONFIG_LINES} more (status --json lists them all)")
    return lines


def _flat(config, prefix=""):
    """(dotted name, value for reading) for every leaf of a run's config, nested dicts flattened."""
    for name, value in config.items():
        if isinstance(value, dict) and value:
            yield from _flat(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", _config_value(value)


def _config_value(value) -> str:
    """A configuration value for reading, rounded as in the reports (the --json document has it exact),
    one line of at most 80 characters."""
    if isinstance(value, list):
        return one_line("[" + ", ".join(_config_value(v) for v in value) + "]", 80)
    return one_line("null" if value is None else readable(value), 80)
