"""A stand-in for the Codex, Claude Code and Copilot CLIs, at the seam where `metaopt.py run` starts
them: `worker_cli_standin.py <codex|claude|copilot> ARGS...`, installed under the CLI's name by
install(). No account, no network: it checks the argv and the prompt it was given as the real CLI
would read them, then answers the task the way its directory's script says.

$STANDIN_DIR/modes.json is a list consumed one entry per call (then "answer"): answer (the heuristic
workers' result, through the CLI's channel: codex's final message in strict form, the others a file
at the path their permission rule allows), garbage (text that is not JSON), nothing (no answer, a
clean exit), fail (the CLI's failed-turn output and exit 1), hang (sleeps, with a child, until
killed). Every call is appended to $STANDIN_DIR/calls.jsonl with the problems found in its argv; a
call with problems exits 97 without answering."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from jsonschema import Draft202012Validator  # noqa: E402

from metaopt_lib import heuristic  # noqa: E402
from metaopt_lib.contract.strict_schemas import to_strict  # noqa: E402


def world(base) -> tuple:
    """(project dir, stand-in dir, the variables that put the stand-ins first on PATH) under `base`."""
    base = Path(base)
    project, standin, bin_dir = base / "project", base / "standin", base / "bin"
    project.mkdir()
    standin.mkdir()
    install(bin_dir)
    return project, standin, {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "STANDIN_DIR": str(standin)}


def install(bin_dir, names=("codex", "claude", "copilot")) -> None:
    """Executables named like the CLIs that run this stand-in with the current interpreter."""
    bin_dir = Path(bin_dir)
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} {name} \"$@\"\n")
        path.chmod(0o755)


def _next_mode(directory: Path) -> str:
    path = directory / "modes.json"
    modes = json.loads(path.read_text()) if path.exists() else []
    if not modes:
        return "answer"
    path.write_text(json.dumps(modes[1:]))
    return modes[0]


def _value(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def _task_path(prompt: str):
    found = re.search(r"^Task file: (.+)$", prompt, re.M)
    return Path(found.group(1)) if found else None


def check_codex(argv, prompt, task):
    problems = []
    if argv[:1] != ["exec"] or argv[-1:] != ["-"]:
        problems.append("not `codex exec ... -` (prompt on stdin)")
    for flag, want in (("--sandbox", "read-only"), ("-C", os.getcwd())):
        if _value(argv, flag) != want:
            problems.append(f"{flag} is {_value(argv, flag)!r}, expected {want!r}")
    for flag in ("--json", "--skip-git-repo-check"):
        if flag not in argv:
            problems.append(f"{flag} missing")
    schema = _value(argv, "--output-schema")
    if not schema or not Path(schema).is_file() or "/strict/" not in schema:
        problems.append(f"--output-schema {schema!r} is not a strict schema file")
    if not _value(argv, "-o") or not _value(argv, "-m"):
        problems.append("-o or -m missing")
    if task is not None and f"# {task['worker']}" not in prompt:
        problems.append("the prompt does not carry the worker's profile")
    return problems


def check_claude(argv, prompt, task):
    problems = []
    for flag, want in (("--output-format", "json"), ("--permission-mode", "dontAsk"),
                       ("--tools", "Read,Glob,Grep,Write,Edit")):
        if _value(argv, flag) != want:
            problems.append(f"{flag} is {_value(argv, flag)!r}, expected {want!r}")
    if "-p" not in argv:
        problems.append("-p missing")
    system = _value(argv, "--append-system-prompt") or ""
    if task is not None and f"# {task['worker']}" not in system:
        problems.append("--append-system-prompt does not carry the worker's profile")
    if not _value(argv, "--model"):
        problems.append("--model missing")
    if "--strict-mcp-config" not in argv:
        problems.append("--strict-mcp-config missing")
    return problems


def check_copilot(argv, prompt, task):
    problems = []
    agent, add_dir = _value(argv, "--agent"), _value(argv, "--add-dir")
    if task is not None and agent != task["worker"]:
        problems.append(f"--agent is {agent!r}, expected {task['worker']!r}")
    if not add_dir or not (Path(add_dir) / ".github" / "agents" / f"{agent}.agent.md").is_file():
        problems.append(f"--add-dir {add_dir!r} does not hold the agent profile")
    if _value(argv, "--output-format") != "json" or "--no-ask-user" not in argv:
        problems.append("--output-format json or --no-ask-user missing")
    denied = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--deny-tool"]
    if sorted(denied) != ["shell", "url"]:
        problems.append(f"denied tools {denied}, expected shell and url")
    return problems


def _allowed_write(argv, cli):
    """The one path the CLI's permission rules let the worker write."""
    if cli == "claude":
        rule = [r for r in (_value(argv, "--allowedTools") or "").split(",") if r.startswith("Edit(")]
        return Path(rule[0][len("Edit(/"):-1]) if rule else None
    rules = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--allow-tool" and argv[i + 1].startswith("write(")]
    return Path.cwd() / rules[0][len("write("):-1] if rules else None


def _hang(directory: Path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    (directory / "hang.pids").write_text(f"{os.getpid()} {child.pid}\n")
    time.sleep(3600)


def main(argv) -> int:
    cli, args = argv[0], argv[1:]
    directory = Path(os.environ["STANDIN_DIR"])
    prompt = sys.stdin.read() if cli != "copilot" else (_value(args, "-p") or "")
    task_path = _task_path(prompt)
    task = json.loads(task_path.read_text()) if task_path and task_path.is_file() else None
    problems = ([] if task is not None else ["the prompt names no readable task file"])
    problems += {"codex": check_codex, "claude": check_claude, "copilot": check_copilot}[cli](args, prompt, task)
    mode = _next_mode(directory) if not problems else "refused"
    with open(directory / "calls.jsonl", "a") as log:
        log.write(json.dumps({"cli": cli, "argv": args, "prompt": prompt, "cwd": os.getcwd(), "mode": mode,
                              "problems": problems}) + "\n")
    if problems:
        print("standin: " + "; ".join(problems), file=sys.stderr)
        return 97
    if mode == "hang":
        _hang(directory)
    if mode == "fail":
        print({"codex": json.dumps({"type": "turn.failed", "error": {"message": "model overloaded"}}),
               "claude": json.dumps({"type": "result", "subtype": "error_during_execution", "is_error": True,
                                     "errors": ["model overloaded"]}),
               "copilot": json.dumps({"type": "result", "exitCode": 1})}[cli])
        return 1
    text = None
    if mode == "answer":
        result = heuristic.answer(task)
        if cli == "codex":  # the model's output is constrained by the schema it was given
            result = to_strict(_lane(task), result)
            schema = json.loads(Path(_value(args, "--output-schema")).read_text())
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(result)]
            if errors:
                print("standin: the answer does not fit --output-schema: " + errors[0], file=sys.stderr)
                return 98
        text = json.dumps(result)
    elif mode == "garbage":
        text = "I could not decide; here is my best guess: {"
    if text is not None:
        target = Path(_value(args, "-o")) if cli == "codex" else _allowed_write(args, cli)
        target.write_text(text)  # as the real CLIs do, into a directory that exists
    print({"codex": "\n".join(json.dumps(e) for e in ({"type": "thread.started", "thread_id": "t"},
                                                     {"type": "turn.started"}, {"type": "turn.completed"})),
           "claude": json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": "done"}),
           "copilot": json.dumps({"type": "result", "exitCode": 0})}[cli])
    return 0


def _lane(task):
    return task["worker"].split("-")[1]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
