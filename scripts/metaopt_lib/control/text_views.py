"""Short plain-text renderings of the driver's documents, for people."""
from __future__ import annotations


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
    sweep = doc["current_sweep"]
    lines = [f"campaign   {doc['campaign']}  [{doc['status']}]",
             f"state      {doc['machine_state']} / {doc['phase']}   iteration {doc['iteration']}",
             f"baseline   {doc['baseline'] if doc['baseline'] is not None else 'none yet'}"
             + (f"   current sweep best {doc['current_sweep_best']}" if doc["current_sweep_best"] is not None else ""),
             f"spend      {_money(doc['budget'])}",
             f"sweep      {sweep['sweep_identity']} {sweep['status']} {sweep['trials']}" if sweep else "sweep      none",
             f"pending    {', '.join(doc['pending']) or 'nothing'}"]
    if doc["block"]:
        lines.append(f"blocked    {doc['block']['reason']} — fix: {doc['block']['fix']}")
    lines += [f"recent     {line}" for line in doc["recent"]]
    return "\n".join(lines + _action(doc["next_action"]))
