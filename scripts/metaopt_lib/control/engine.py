"""Apply a handoff envelope to a state: the only code that changes state.json's contents.

apply is pure. It refuses (ContractError) an envelope that breaks its schema, the owner map, the
transition table, the phases or the sequence, and any result that is not a valid state; a refused
envelope changes nothing. Appends to the history (completed iterations, learnings) and the spend
entries of iterations that ended become lines for .ml-metaopt/history/ (contract/history.py), which
the caller writes before the state that commits them.
"""
from __future__ import annotations

import copy
from collections import namedtuple

from ..contract import history, machine, validation
from ..contract.issues import ContractError, Issue
from ..contract.paths import directive_path


class Applied(namedtuple("Applied", "state appends records")):
    """A state after an envelope; appends: history kind -> the bytes its file gets (after the committed
    end the state before recorded); records: history kind -> the records those bytes hold."""

    __slots__ = ()


def initial_state(campaign, identity_hash, runtime_hash, now) -> dict:
    """The state of a campaign that has never run: LOAD_CAMPAIGN, iteration 1, nothing spent."""
    return {
        "schema_version": 5,
        "campaign": {"name": campaign["campaign"]["name"], "identity_hash": identity_hash,
                     "runtime_config_hash": runtime_hash},
        "hydration": None, "machine_state": machine.INITIAL_STATE, "status": "RUNNING",
        "phase": machine.phases_of(machine.INITIAL_STATE)[0], "step_seq": 0, "iteration": 1, "pending": [],
        "proposal_pool": [], "selected_sweep": None, "current_sweep": None,
        "spend_ledger": {"max_budget_usd": campaign["compute"]["max_budget_usd"], "total_usd": 0, "closed_usd": 0,
                         "entries": []},
        "analysis": None, "baseline": None, "history": history.empty_history_meta(), "no_improve_streak": 0,
        "block": None, "terminal": None, "created_at": now, "updated_at": now,
    }


def apply_envelope(state, envelope, now, label="envelope") -> dict:
    """The next state (its history lines left to the caller: see apply)."""
    return apply(state, envelope, now, label).state


def apply(state, envelope, now, label="envelope") -> Applied:
    """The next state and its history lines. Raises ContractError (state untouched) when the envelope
    cannot apply."""
    issues = validation.validate_document("handoff-envelope", envelope, label, validation.Context(state=state))
    if issues:
        raise ContractError(issues)
    new = copy.deepcopy(state)
    records = {}
    for index, op in enumerate(envelope["state_patch"]):
        kind = history.FIELD_KINDS.get(op["path"][1:])
        if kind is not None:
            records.setdefault(kind, []).append(_history_record(kind, op["value"], index, label))
        else:
            _apply_op(new, op, index, label)
    if new["iteration"] > state["iteration"]:
        closed = history.close_spend_entries(new["spend_ledger"], new["iteration"])
        if closed:
            records.setdefault("ledger", []).extend(closed)
    appends = {}
    for kind, items in records.items():
        new["history"][kind], appends[kind] = history.extended(state["history"][kind], items)
    seq = state["step_seq"] + 1
    resolved = {item["id"] for item in envelope["resolved_pending"]}
    retried = _retried_attempts(state, envelope)
    new["pending"] = [p for p in new["pending"] if p["id"] not in resolved]
    new["pending"] += [_directive_record(d, seq, now, retried.get(d["type"], 0) + 1) for d in envelope["directives"]]
    new["pending"] += [_task_record(w, seq, now) for w in envelope["worker_launches"]]
    target = envelope["next_machine_state"]
    new.update(machine_state=target, phase=envelope["next_phase"], status=machine.status_for(target),
               step_seq=seq, updated_at=now, block=None, terminal=None)
    if envelope["outcome"] == "blocked":
        block = envelope["block"]
        new["block"] = {"code": block["code"], "reason": block["reason"], "fix": block["fix"],
                        "source_agent": envelope["agent"], "source_phase": envelope["phase"],
                        "resume_state": block["resume_state"], "resume_phase": block["resume_phase"],
                        "blocked_at": now}
    if target in machine.TERMINAL_STATES:
        reason = envelope["block"]["reason"] if envelope["block"] else envelope["summary"]
        new["terminal"] = {"state": target, "reason": reason, "at": now}
        if envelope.get("stop"):
            new["terminal"]["resume"] = dict(envelope["stop"])
    check_state(new, "state after " + label)
    return Applied(new, appends, records)


def _history_record(kind, value, index, label):
    """A record appended to the history, valid by its line schema (a refused one changes nothing)."""
    issues = validation.validate_document(history.LINE_KINDS[kind], value, f"{label}: state_patch[{index}]")
    if issues:
        raise ContractError(issues)
    return copy.deepcopy(value)


def check_state(state, label) -> None:
    issues = validation.validate_document("state", state, label)
    if issues:
        raise ContractError(issues)


def _retried_attempts(state, envelope):
    """Directive type -> attempt of a record of that type this envelope rejects or supersedes: a
    directive issued alongside is its retry, so attempts add up and retry bounds hold."""
    closing = {item["id"] for item in envelope["resolved_pending"] if item["disposition"] != "consumed"}
    attempts = {}
    for record in state["pending"]:
        if record["id"] in closing and record["kind"] == "directive":
            attempts[record["name"]] = max(attempts.get(record["name"], 0), record["attempt"])
    return attempts


def _directive_record(directive, seq, now, attempt):
    return {"id": directive["directive_id"], "kind": "directive", "name": directive["type"],
            "iteration": directive["iteration"], "attempt": attempt, "created_seq": seq, "created_at": now,
            "spec_path": directive_path(directive["iteration"], directive["directive_id"]),
            "result_path": directive["result_path"]}


def _task_record(launch, seq, now):
    task = launch["task"]
    return {"id": task["task_id"], "kind": "worker_task", "name": task["worker"], "iteration": task["iteration"],
            "attempt": task["attempt"], "created_seq": seq, "created_at": now, "spec_path": launch["task_path"],
            "result_path": task["result_path"]}


def _apply_op(state, op, index, label):
    """set replaces the value at the pointer, delete removes an object member, append adds an item."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    parent = state
    try:
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op["op"] == "append":
            target = parent[int(last)] if isinstance(parent, list) else parent[last]
            target.append(copy.deepcopy(op["value"]))
        elif isinstance(parent, list):
            position = int(last)
            if op["op"] == "delete" or not 0 <= position < len(parent):
                raise IndexError(last)
            parent[position] = copy.deepcopy(op["value"])
        elif op["op"] == "delete":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(op["value"])
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        raise ContractError([Issue(label, ("state_patch", index, "path"), "envelope.patch_path_invalid",
                                   f"{op['op']} {op['path']} does not fit the state",
                                   "a pointer to an existing member (set/delete) or array (append)",
                                   "point at an existing object member, array index or array")]) from None
