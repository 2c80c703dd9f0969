"""`.ml-metaopt/reports/trials.csv`: one row per trial of every sweep of the campaign, for a
spreadsheet or pandas. Columns: iteration, sweep, purpose (search, noise_floor or control), trial,
run_id, state, the objective metric (named by the campaign), started_at, duration_seconds, then one
column per parameter (param.<name>, every parameter any sweep swept, sorted; empty where a sweep had
no such parameter)."""
from __future__ import annotations

import csv
import io
import json


TRIALS_CSV = ".ml-metaopt/reports/trials.csv"
FIXED = ("iteration", "sweep", "purpose", "trial", "run_id", "state")


def csv_text(trials, metric: str) -> str:
    names = sorted({name for t in trials for name in t["params"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*FIXED, metric, "started_at", "duration_seconds", *(f"param.{n}" for n in names)])
    for t in trials:
        writer.writerow([t["iteration"], t["sweep_identity"], t.get("purpose", "search"), t["trial"], t["run_id"],
                         t["state"],
                         _cell(t["metric_value"]), _cell(t.get("started_at")), _cell(t.get("duration_seconds")),
                         *(_cell(t["params"].get(n)) for n in names)])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, sort_keys=True)  # a nested parameter value, as JSON
