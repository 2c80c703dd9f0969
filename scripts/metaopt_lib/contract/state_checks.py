"""Semantic rules for state.json, checked against the machine table."""
from __future__ import annotations

from . import machine
from .check_util import USD_TOLERANCE as _USD_TOLERANCE, is_number as _num, iteration_path_issue
from .issues import Issue

NEEDS_HYDRATION = frozenset({"IDEATE", "WAIT_FOR_PROPOSALS", "SELECT_AND_DESIGN_SWEEP", "LOCAL_SANITY",
                             "LAUNCH_SWEEP", "WAIT_FOR_SWEEP", "ANALYZE", "ROLL_ITERATION"})
NEEDS_SELECTED_SWEEP = frozenset({"LOCAL_SANITY", "LAUNCH_SWEEP", "WAIT_FOR_SWEEP", "ANALYZE"})
NEEDS_CURRENT_SWEEP = frozenset({"WAIT_FOR_SWEEP", "ANALYZE"})


def check_state(doc, label, ctx):
    ms = doc.get("machine_state")
    if ms not in machine.STATES:
        return []
    out = []
    out += _check_status_and_phase(doc, ms, label)
    out += _check_block_and_terminal(doc, ms, label)
    out += _check_pending(doc, ms, label)
    out += _check_required_records(doc, ms, label)
    out += _check_ledger(doc, label)
    out += _check_history(doc, label)
    return out


def _check_status_and_phase(doc, ms, label):
    out = []
    if doc.get("status") != machine.status_for(ms):
        out.append(Issue(label, ("status",), "state.status_mismatch",
                         f"status {doc.get('status')!r} does not match machine_state {ms}",
                         f"'{machine.status_for(ms)}'", "status is derived: RUNNING unless the state is terminal"))
    if doc.get("phase") not in machine.phases_of(ms):
        out.append(Issue(label, ("phase",), "state.phase_not_in_state",
                         f"phase {doc.get('phase')!r} does not belong to {ms}",
                         "one of " + ", ".join(machine.phases_of(ms)), "restore the phase recorded by the driver"))
    return out


def _check_block_and_terminal(doc, ms, label):
    out = []
    block, terminal = doc.get("block"), doc.get("terminal")
    if (ms in machine.BLOCKED_STATES) != (block is not None):
        out.append(Issue(label, ("block",), "state.block_mismatch",
                         f"block is {'set' if block is not None else 'null'} in {ms}",
                         "block set exactly in BLOCKED_CONFIG and BLOCKED_PROTOCOL", "restore block from the journal"))
    if isinstance(block, dict) and block.get("resume_state") in machine.STATES:
        resume = block["resume_state"]
        if resume in machine.TERMINAL_STATES or block.get("resume_phase") not in machine.phases_of(resume):
            out.append(Issue(label, ("block", "resume_state"), "state.bad_resume_point",
                             f"cannot resume into {resume}/{block.get('resume_phase')}",
                             "a running state and one of its phases", "record the state and phase that blocked"))
    if (ms in machine.TERMINAL_STATES) != (terminal is not None):
        out.append(Issue(label, ("terminal",), "state.terminal_mismatch",
                         f"terminal is {'set' if terminal is not None else 'null'} in {ms}",
                         "terminal set exactly in terminal states", "restore terminal from the journal"))
    elif isinstance(terminal, dict) and terminal.get("state") != ms:
        out.append(Issue(label, ("terminal", "state"), "state.terminal_mismatch",
                         f"terminal.state {terminal.get('state')!r} differs from machine_state {ms}",
                         f"'{ms}'", "restore terminal from the journal"))
    return out


def _check_pending(doc, ms, label):
    out, ids, results = [], set(), set()
    for index, record in enumerate(doc.get("pending") or []):
        if not isinstance(record, dict):
            continue
        parts = ("pending", index)
        if record.get("id") in ids:
            out.append(Issue(label, parts + ("id",), "state.duplicate_pending_id",
                             f"id {record.get('id')!r} is used twice", "campaign-unique ids", "give each record its own id"))
        ids.add(record.get("id"))
        if record.get("result_path") in results:
            out.append(Issue(label, parts + ("result_path",), "state.duplicate_result_path",
                             "two pending records share a result path", "one result path per record",
                             "give each record its own result path"))
        results.add(record.get("result_path"))
        for key in ("spec_path", "result_path"):
            out += iteration_path_issue(record, key, parts, label)
        allowed = set(machine.TERMINAL_CLEANUP.get(ms, ())) | set(machine.MECHANICAL_DIRECTIVES)
        if ms in machine.TERMINAL_STATES and record.get("name") not in allowed:
            out.append(Issue(label, parts + ("name",), "state.pending_in_terminal",
                             f"{record.get('name')!r} is pending in terminal state {ms}",
                             "only cleanup and mechanical directives: " + ", ".join(sorted(allowed)),
                             "resolve or drop the record"))
    return out


def _check_required_records(doc, ms, label):
    out = []
    for field, states in (("hydration", NEEDS_HYDRATION), ("selected_sweep", NEEDS_SELECTED_SWEEP),
                          ("current_sweep", NEEDS_CURRENT_SWEEP)):
        if ms in states and doc.get(field) is None:
            out.append(Issue(label, (field,), "state.missing_record", f"{field} is null in {ms}",
                             f"a {field} record", "restore the state from the journal"))
    pool_ids = [p.get("proposal_id") for p in doc.get("proposal_pool") or [] if isinstance(p, dict)]
    hashes = [p.get("content_hash") for p in doc.get("proposal_pool") or [] if isinstance(p, dict)]
    for index, (pid, digest) in enumerate(zip(pool_ids, hashes)):
        if pool_ids.index(pid) != index:
            out.append(Issue(label, ("proposal_pool", index, "proposal_id"), "state.duplicate_proposal",
                             f"proposal id {pid!r} appears twice", "unique proposal ids", "drop the duplicate"))
        elif hashes.index(digest) != index:
            out.append(Issue(label, ("proposal_pool", index, "content_hash"), "state.duplicate_proposal",
                             "two proposals have the same sweep config", "de-duplicated pool", "drop the duplicate"))
    out += _check_record_iterations(doc, ms, label)
    return out


# Per-iteration records stay in state after their iteration (the next one supersedes them); the
# states that use a record need the current iteration's.
RECORDS_NEEDED_CURRENT = {"selected_sweep": NEEDS_SELECTED_SWEEP, "current_sweep": NEEDS_CURRENT_SWEEP,
                          "analysis": frozenset({"ROLL_ITERATION"})}


def _check_record_iterations(doc, ms, label):
    out, iteration = [], doc.get("iteration")
    for field, states in RECORDS_NEEDED_CURRENT.items():
        record = doc.get(field)
        if not isinstance(record, dict) or not isinstance(iteration, int):
            continue
        number = record.get("iteration")
        if number > iteration or (ms in states and number != iteration):
            out.append(Issue(label, (field, "iteration"), "state.record_iteration_mismatch",
                             f"{field} of iteration {number} in iteration {iteration} ({ms})",
                             f"iteration {iteration}" if ms in states else f"at most {iteration}",
                             "restore the state from the journal"))
    return out


def _check_ledger(doc, label):
    ledger = doc.get("spend_ledger")
    if not isinstance(ledger, dict):
        return []
    out = []
    entries = [e for e in ledger.get("entries") or [] if isinstance(e, dict)]
    amounts = [e.get("usd") for e in entries] + [ledger.get("closed_usd")]
    total = ledger.get("total_usd")
    if all(_num(a) for a in amounts) and _num(total) and abs(sum(amounts) - total) > _USD_TOLERANCE:
        out.append(Issue(label, ("spend_ledger", "total_usd"), "state.ledger_total_mismatch",
                         f"total {total} is not closed_usd plus the entries ({sum(amounts):g})",
                         "closed_usd plus the sum of the entries", "recompute total_usd; the ledger is never reset"))
    iteration = doc.get("iteration")
    for index, entry in enumerate(entries):
        if isinstance(iteration, int) and isinstance(entry.get("iteration"), int) and entry["iteration"] != iteration:
            out.append(Issue(label, ("spend_ledger", "entries", index, "iteration"), "state.ledger_entry_closed",
                             f"an entry of iteration {entry['iteration']} in iteration {iteration}",
                             f"entries of iteration {iteration} (earlier ones are in history/ledger.jsonl)",
                             "restore the state from the journal"))
    seen = set()
    for index, entry in enumerate(entries):
        if entry.get("sweep_identity") in seen:
            out.append(Issue(label, ("spend_ledger", "entries", index, "sweep_identity"), "state.duplicate_ledger_entry",
                             "two ledger entries for one sweep", "one entry per sweep", "merge the entries"))
        seen.add(entry.get("sweep_identity"))
    return out


def _check_history(doc, label):
    out = []
    iteration = doc.get("iteration")
    iterations = (doc.get("history") or {}).get("iterations")
    if not isinstance(iterations, dict):
        return out
    last, count = iterations.get("last_iteration"), iterations.get("count")
    if isinstance(last, int) and isinstance(iteration, int) and last > iteration:
        out.append(Issue(label, ("history", "iterations", "last_iteration"), "state.iteration_history_order",
                         f"iteration {last} completed in iteration {iteration}", f"at most {iteration}",
                         "restore the state from the journal"))
    streak = doc.get("no_improve_streak")
    if isinstance(streak, int) and isinstance(count, int) and streak > count:
        out.append(Issue(label, ("no_improve_streak",), "state.streak_exceeds_history",
                         f"streak {streak} with {count} completed iterations",
                         f"at most {count}", "recompute the streak from history/iterations.jsonl"))
    created, updated = doc.get("created_at"), doc.get("updated_at")
    if isinstance(created, str) and isinstance(updated, str) and updated < created:
        out.append(Issue(label, ("updated_at",), "state.time_order", "updated_at is before created_at",
                         "updated_at >= created_at", "fix the clock or the timestamps"))
    return out
