"""The two honesty sweeps (campaign `honesty`, both off by default) and what they measure.

- The noise floor: after an iteration's search sweep was analyzed, its best configuration runs again
  `repeats` times (a grid over other seeds when the program reads one, else the configuration as it
  is), through the same launch and poll path and the same budget as every sweep.
- The budget-matched control: when the campaign stops, a random search over the campaign's
  search_space (else the first iteration's space) with as many trials as the campaign's search sweeps
  ran; the final report compares the campaign's best with it.

Which sweep LAUNCH_SWEEP launches follows from the state alone, so a crash or a resume anywhere
launches (or reconnects to) the same one: an iteration already closed is at its stop, so the control;
an iteration analyzed but not closed wants its noise floor; otherwise the search sweep.
"""
from __future__ import annotations

from ..contract.improvement import mean_and_sd
from ..contract.state_views import iteration_closed, sweep_identity

SEED_NAMES = ("seed", "random_seed", "random_state", "rng_seed")
SUFFIX = {"search": "", "noise_floor": "-noise", "control": "-control"}


def noise_settings(campaign):
    return (campaign.get("honesty") or {}).get("noise_floor")


def control_on(campaign) -> bool:
    return bool((campaign.get("honesty") or {}).get("random_search_control"))


def next_purpose(state) -> str:
    """What the next launch of this iteration is for."""
    if iteration_closed(state):
        return "control"
    analysis = state["analysis"]
    if analysis is not None and analysis["iteration"] == state["iteration"]:
        return "noise_floor"
    return "search"


def identity_for(state, purpose) -> str:
    return sweep_identity(state) + SUFFIX[purpose]


def purpose_of(sweep) -> str:
    return sweep.get("purpose", "search")


def seed_candidates(campaign) -> list:
    """The config keys the smoke test looks for among the program's reads (none when the campaign names
    its seed parameter, or has no noise floor)."""
    settings = noise_settings(campaign)
    return list(SEED_NAMES) if settings and not settings.get("seed_parameter") else []


def seed_parameter(state, campaign):
    """The key each re-run gets another value in: the campaign's, else the one the smoke test saw read."""
    settings = noise_settings(campaign) or {}
    if settings.get("seed_parameter"):
        return settings["seed_parameter"]
    sanity = state.get("sanity") or {}
    return sanity.get("seed_parameter") if sanity.get("iteration") == state["iteration"] else None


# ---- the noise floor -------------------------------------------------------------------------

def noise_sweep(state, campaign) -> dict:
    """The re-runs' sweep config: the search sweep's best configuration as constants (nested blocks
    kept nested), a grid over `repeats` seeds other than the best run's own when there is a seed
    parameter, else a random sweep that runs the constants `repeats` times."""
    selected = state["selected_sweep"]["sweep_config"]
    settings = noise_settings(campaign)
    repeats = settings["repeats"]
    best = state["analysis"]["best_run"]
    space = selected.get("parameters") or {}
    parameters = _constants({key: value for key, value in best["config"].items() if key in space}, space)
    seed = seed_parameter(state, campaign)
    config = {key: selected[key] for key in ("metric", "program", "command") if key in selected}
    if seed:
        parameters[seed] = {"values": seeds_for(best["config"].get(seed), repeats)}
        config["method"] = "grid"
    else:
        config["method"] = "random"
    return {**config, "parameters": parameters, "run_cap": repeats}


def seeds_for(original, repeats) -> list:
    """`repeats` seeds 1, 2, ... without the best run's own seed (its value is already known)."""
    return [s for s in range(1, repeats + 2) if s != original][:repeats]


def _constants(config, space) -> dict:
    out = {}
    for key, value in config.items():
        spec = space.get(key)
        if isinstance(value, dict) and isinstance(spec, dict) and isinstance(spec.get("parameters"), dict):
            out[key] = {"parameters": _constants(value, spec["parameters"])}
        else:
            out[key] = {"value": value}
    return out


def noise_record(state, campaign, sweep, table) -> dict:
    """The noise floor of this iteration, from the re-runs' trial table (None: not written)."""
    settings = noise_settings(campaign) or {}
    rows = (table or {}).get("trials") or []
    values = [row["metric_value"] for row in rows if row["state"] == "finished" and row["metric_value"] is not None]
    mean, sd = mean_and_sd(values)
    best = state["analysis"]["best_run"]
    seed = seed_parameter(state, campaign)
    repeats = sweep.get("run_cap") or settings.get("repeats") or max(2, len(values))
    return {"iteration": state["iteration"], "sweep_identity": sweep["sweep_identity"], "run_id": best["run_id"],
            "config": best["config"], "repeats": repeats, "seed_parameter": seed,
            "seeds": seeds_for(best["config"].get(seed), repeats) if seed else None,
            "values": values[:50], "mean": mean, "sd": sd, "sd_multiple": settings.get("sd_multiple", 2),
            "stop_reason": sweep["status"], "sweep_url": sweep["sweep_url"]}


# ---- the budget-matched control --------------------------------------------------------------

COUNTED_TRIALS = ("finished", "failed", "killed")
MAX_RUN_CAP = 10000


def trial_budget(records) -> int:
    """Trials the campaign's search sweeps (`records`: its completed iterations) ran against their run
    caps (interrupted ones do not count)."""
    return sum((record.get("trials") or {}).get(key, 0) for record in records for key in COUNTED_TRIALS)


def control_space(campaign, inputs, records):
    """(parameters, source) the control searches, or (None, why not)."""
    if campaign.get("search_space"):
        return campaign["search_space"], "search_space"
    first = next((r for r in records if r["iteration"] == 1), None)
    table = inputs.trial_table(first["sweep_identity"]) if first else None
    space = (table or {}).get("space") or {}
    if space.get("parameters"):
        return space["parameters"], "first_iteration"
    return None, ("the first iteration's space is unknown (its trial table is missing); set search_space in "
                  "the campaign to give the control its space")


def control_ran(state) -> bool:
    """Whether the control ran at this iteration's stop."""
    control = state.get("control")
    return bool(control) and control["sweep_identity"] == identity_for(state, "control")


def control_due(state, campaign, records) -> bool:
    """Whether the campaign, at its stop, still owes its control (on, with trials to match, not yet run)."""
    return control_on(campaign) and trial_budget(records) > 0 and not control_ran(state)


def control_line(control) -> str:
    best = control["best_run"]["metric_value"] if control["best_run"] else None
    return (f"random-search control: {control['trials']['finished']} of {control['trial_budget']} trials "
            f"finished, best {'none' if best is None else format(best, 'g')}")


def control_sweep(state, parameters, budget) -> dict:
    selected = state["selected_sweep"]["sweep_config"]
    config = {key: selected[key] for key in ("metric", "program", "command") if key in selected}
    return {**config, "method": "random", "parameters": parameters, "run_cap": min(MAX_RUN_CAP, budget)}


def control_record(state, sweep, space_source, budget) -> dict:
    return {"iteration": state["iteration"], "sweep_identity": sweep["sweep_identity"],
            "trial_budget": budget, "space_source": space_source, "trials": sweep["trials"],
            "best_run": sweep["best_run"], "stop_reason": sweep["status"], "sweep_url": sweep["sweep_url"]}


def record_ended(state, campaign, inputs, builder, sweep) -> str:
    """Record what an ended noise-floor or control sweep measured; returns a line saying what."""
    if purpose_of(sweep) == "noise_floor":
        noise = noise_record(state, campaign, sweep, inputs.trial_table(sweep["sweep_identity"]))
        builder.set("/noise_floor", noise)
        spread = f"mean {noise['mean']:g}" if noise["mean"] is not None else "no value"
        if noise["sd"] is not None:
            spread += f", sd {noise['sd']:g}"
        return f"noise floor: {len(noise['values'])} of {noise['repeats']} re-runs finished ({spread})"
    control = control_record(state, sweep, "search_space" if campaign.get("search_space") else "first_iteration",
                             trial_budget(inputs.history.records("iterations")))
    builder.set("/control", control)
    return control_line(control)
