"""The argv of one local trial, built from the sweep's command template the way `wandb agent` builds it.

Mirrors wandb 0.31 (wandb_agent.py and sdk/launch/sweeps/utils.py): a template item that is exactly
a macro is replaced by zero or more argv items, unknown macros vanish, `${envvar:NAME}` is replaced
inside any item (left as NAME when unset), and values are formatted with Python's str(). One
deliberate difference: `${interpreter}` is the Python running the executor, not `python` from PATH,
so trials use the interpreter that has wandb installed.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
ENVVAR_MACRO = re.compile(r"\$\{envvar:([A-Z0-9_]*)\}")


def argument_forms(params: Mapping) -> dict:
    """Every argument macro's expansion for the top-level parameter values `params`."""
    forms = {"args": [], "args_no_hyphens": [], "args_no_equals": [], "args_no_boolean_flags": [],
             "args_append_hydra": [], "args_override_hydra": []}
    for name, value in params.items():
        flag = f"{name}={value}"
        forms["args"].append("--" + flag)
        forms["args_no_hyphens"].append(flag)
        forms["args_no_equals"] += [f"--{name}", str(value)]
        forms["args_append_hydra"].append("+" + flag)
        forms["args_override_hydra"].append("++" + flag)
        if not isinstance(value, bool):
            forms["args_no_boolean_flags"].append("--" + flag)
        elif value:
            forms["args_no_boolean_flags"].append("--" + name)
    forms["args_json"] = [json.dumps(dict(params))]
    return forms


def trial_argv(template, program: str, params: Mapping, env: Mapping[str, str], args_json_file: str,
               interpreter: str | None = None) -> list:
    """The argv for one trial; `args_json_file` is where ${args_json_file} points (the caller writes it)."""
    macros = argument_forms(params)
    macros.update({"env": ["/usr/bin/env"], "interpreter": [interpreter or sys.executable],
                   "program": [program], "args_json_file": [args_json_file]})
    argv = []
    for item in template or DEFAULT_COMMAND:
        item = ENVVAR_MACRO.sub(lambda m: env.get(m.group(1), m.group(1)), str(item))
        if item.startswith("${") and item.endswith("}"):
            argv += macros.get(item[2:-1], [])
        else:
            argv.append(item)
    return argv
