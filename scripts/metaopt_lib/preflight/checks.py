"""metaopt-preflight: check once that the project, this machine and its accounts can run the campaign.

Each check_* function runs one check and returns (check, failure): {name, result, detail} and None
or {check, message, fix}. Details are one line and never hold a secret (keys: present or missing).
run() checks the campaign file as it is now and builds .ml-metaopt/preflight-readiness.json. Checks
the backend does not need, or that need a valid campaign when it is invalid, are listed as skip
with the reason, so every artifact lists the same checks in the same order. The environment
(importable modules, the executor, Python version, environment variables, home) is injectable.
"""
from __future__ import annotations

import datetime
import importlib
import importlib.util
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..contract import campaign as campaign_lib
from ..contract import validation
from ..contract.atomic_io import write_json_atomic
from ..contract.advisories import document_warnings
from ..contract.campaign_secrets import campaign_secret_warnings, redactor_for
from ..contract.clock import format_time
from ..contract.issues import ContractError
from ..contract.paths import CAMPAIGN_FILE, PREFLIGHT_FILE, SKILL_ROOT
from ..contract.process_group import NO_PROCESS_LISTING, process_listing
from ..contract.redaction import REDACTED, Redactor
from .credentials import check_vast_credentials, check_wandb_api_key
from .results import fail as _fail, line, passed as _pass

EXECUTOR_SCRIPT = "scripts/skypilot_wandb_worker.py"
MIN_PYTHON = (3, 10)
RUNTIME_PACKAGES = (("PyYAML", "yaml"), ("jsonschema", "jsonschema"))
# find_spec does not prove these work: import them (slow, so only when needed). wandb is what every trial
# and the smoke test import, in this very interpreter (the trials run on the executor's Python).
FULL_IMPORT = frozenset({"sky", "wandb"})
CHECK_ORDER = ("campaign-valid", "campaign-secrets", "python-version", "runtime-packages", "project-program", "smoke-command",
               "executor-present", "optuna-importable", "wandb-importable", "process-listing",
               "skypilot-importable", "wandb-api-key", "skypilot-vast-credentials")
# Checks that run whether or not the campaign is valid (campaign-secrets reads whatever parses).
ENVIRONMENT_CHECKS = ("campaign-valid", "campaign-secrets", "python-version", "runtime-packages", "executor-present")
CAMPAIGN_CHECKS = tuple(n for n in CHECK_ORDER if n not in ENVIRONMENT_CHECKS)  # need a valid campaign
BACKEND_CHECKS = {"local": ("optuna-importable", "wandb-importable", "process-listing"),
                  "skypilot": ("wandb-importable", "skypilot-importable", "wandb-api-key", "skypilot-vast-credentials")}
RERUN = "python3 <skill>/scripts/preflight.py --project-root <project>"


@dataclass
class Outcome:
    """What run() found: the artifact to write, or why none can be written (error {code, message, fix});
    `warnings`: one line per warning about the campaign (contract/advisories.py: a field that holds a
    secret, never its value; an objective metric W&B's UI cannot sort by; ...), for stderr."""
    checks: list
    artifact: dict | None = None
    error: dict | None = None
    warnings: list = field(default_factory=list)

    def report(self) -> dict:  # stdout when no artifact is written
        return {"schema_version": 1, "artifact": None, "error": self.error, "checks": self.checks}


def module_importable(name: str) -> bool:
    """Whether a module can be imported: find_spec (fast, no side effects), a real import for FULL_IMPORT."""
    try:
        if name in FULL_IMPORT:
            importlib.import_module(name)
            return True
        return importlib.util.find_spec(name) is not None
    except Exception:  # noqa: BLE001 - a package that breaks on import is not importable
        return False


def executor_present() -> bool:
    """Whether this skill's executor is there and starts: `skypilot_wandb_worker.py run --help` exits 0."""
    script = SKILL_ROOT / EXECUTOR_SCRIPT
    try:
        return script.is_file() and subprocess.run([sys.executable, str(script), "run", "--help"],
                                                   capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# -- the checks -----------------------------------------------------------------------------------

def check_campaign_valid(issues, secrets=()):
    if not issues:
        return _pass("campaign-valid", f"{CAMPAIGN_FILE} is valid")
    count = f"{len(issues)} problem" + ("s" if len(issues) != 1 else "")
    first = _redact(issues[0].message, secrets)  # before it is cut to one line, so no part of a key is left
    return _fail("campaign-valid", f"{CAMPAIGN_FILE} is invalid ({count}); first: {first}",
                 f"Fix {CAMPAIGN_FILE} (python3 <skill>/scripts/validate.py campaign {CAMPAIGN_FILE} lists every "
                 "problem with its fix), then run the preflight again.")


def check_campaign_secrets(warnings):
    """Never fails: a secret in the campaign is hidden everywhere, but belongs in the environment."""
    if not warnings:
        return _pass("campaign-secrets", f"no field of {CAMPAIGN_FILE} holds a secret")
    paths = ", ".join(w.path for w in warnings[:5]) + (f" and {len(warnings) - 5} more" if len(warnings) > 5 else "")
    return _pass("campaign-secrets", f"warning: {paths} hold(s) a secret, shown as {REDACTED} in every file and "
                 "output; pass it through the environment instead (references/secrets.md)")


def check_python_version(version_info):
    found = ".".join(str(part) for part in tuple(version_info)[:3])
    if tuple(version_info)[:2] >= MIN_PYTHON:
        return _pass("python-version", f"Python {found} (3.10 or newer needed)")
    return _fail("python-version", f"Python {found} is older than 3.10",
                 "Run the skill's scripts with Python 3.10 or newer.")


def check_runtime_packages(importable):
    missing = [package for package, module in RUNTIME_PACKAGES if not importable(module)]
    if not missing:
        return _pass("runtime-packages", "PyYAML and jsonschema import")
    return _fail("runtime-packages", f"missing: {', '.join(missing)}",
                 "python3 -m pip install -r <skill>/requirements.txt")


def check_project_program(root: Path, campaign):
    repo, program = campaign["project"].get("repo", "."), campaign["project"]["program"]
    base = root.resolve()
    repo_dir = (base / repo).resolve()
    if not repo_dir.is_relative_to(base) or not repo_dir.is_dir():
        return _fail("project-program", f"project.repo '{repo}' is not a directory under the project root",
                     "Set project.repo to the training repository's directory, relative to the project root.")
    target = (repo_dir / program).resolve()
    where = f"'{program}' in project.repo '{repo}'"
    if not target.is_relative_to(base):
        return _fail("project-program", f"project.program {where} resolves outside the project root",
                     "Keep the training entrypoint inside the project directory (not a link to elsewhere).")
    if not target.is_file():
        return _fail("project-program", f"project.program {where} is not a file",
                     "Set project.program to the training entrypoint relative to project.repo, e.g. train.py.")
    return _pass("project-program", f"project.program {where} exists (not run by the preflight)")


def check_smoke_command(campaign):
    command = campaign["project"].get("smoke_test_command")
    if command is None:
        return _pass("smoke-command", "no project.smoke_test_command: the smoke test runs project.program with one "
                     "point of the selected sweep, as a trial would")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return _fail("smoke-command", f"project.smoke_test_command does not split into arguments: {exc}",
                     "Balance the quotes and escapes in project.smoke_test_command (split like a POSIX command line).")
    if not argv:
        return _fail("smoke-command", "project.smoke_test_command is empty",
                     "Set project.smoke_test_command to a short run of the program, e.g. python3 train.py --epochs 1.")
    return _pass("smoke-command", f"project.smoke_test_command splits into {len(argv)} argument(s); the campaign "
                 "runs it for 60 s in LOCAL_SANITY")


def check_executor_present(exists):
    if exists():
        return _pass("executor-present", f"{EXECUTOR_SCRIPT} is in the skill and starts")
    return _fail("executor-present", f"{EXECUTOR_SCRIPT} is missing from this skill or does not start (run --help "
                 "fails), so the campaign would stop at LOCAL_SANITY",
                 f"Reinstall the skill, then check that the executor starts: python3 <skill>/{EXECUTOR_SCRIPT} run --help.")


IMPORT_CHECKS = {  # check: (module, package, needed for, fix)
    "optuna-importable": ("optuna", "optuna", "the local backend's search", "python3 -m pip install optuna"),
    "wandb-importable": ("wandb", "wandb", "the training script's wandb calls", "python3 -m pip install wandb"),
    "skypilot-importable": ("sky", "skypilot", "renting Vast.ai machines", 'python3 -m pip install "skypilot[vast]"')}


def check_importable(name, importable):
    module, package, needed_for, fix = IMPORT_CHECKS[name]
    where = f"in {sys.executable}, the Python that runs the executor and the trials"
    if importable(module):
        return _pass(name, f"{module} imports {where}")
    return _fail(name, f"{module} does not import {where}; {package} is needed for {needed_for}",
                 fix.replace("python3 -m pip", f"{sys.executable} -m pip"))


def check_process_listing(listing):
    """A warning, never a failure: how teardown finds the sweep's processes on this machine."""
    if listing == "psutil":
        return _pass("process-listing", "psutil lists processes: teardown finds every process of the sweep")
    if listing == "/proc":
        return _pass("process-listing", "Linux /proc lists processes (psutil not installed): teardown finds every "
                     "process of the sweep")
    return _pass("process-listing", f"warning: {NO_PROCESS_LISTING}")


# -- running them ---------------------------------------------------------------------------------

def run(project_root, *, importable=None, executor_exists=None, version_info=None, environ=None, home=None,
        now=None, listing=None) -> Outcome:
    """Run every check on <project_root>/ml_metaopt_campaign.yaml as it is now; build the artifact.
    `listing` answers how processes are listed here ("psutil", "/proc" or None)."""
    importable = importable or module_importable
    listing = listing or process_listing
    executor_exists = executor_exists or executor_present
    environ = os.environ if environ is None else environ
    home = Path(home if home is not None else os.path.expanduser("~"))
    root = Path(project_root)
    document, issues = validation.load_and_validate("campaign", root / CAMPAIGN_FILE, label=CAMPAIGN_FILE, within=root)
    valid = document is not None and not issues
    backend = campaign_lib.apply_defaults(document)["compute"]["backend"] if valid else None
    secrets = redactor_for(document, environ).secrets
    secret_warnings = campaign_secret_warnings(document) if isinstance(document, dict) else []
    warnings = document_warnings("campaign", document, CAMPAIGN_FILE)
    results = {"campaign-valid": check_campaign_valid(issues, secrets),
               "campaign-secrets": check_campaign_secrets(secret_warnings),
               "python-version": check_python_version(version_info or sys.version_info),
               "runtime-packages": check_runtime_packages(importable),
               "executor-present": check_executor_present(executor_exists)}
    for name in CAMPAIGN_CHECKS:
        results[name] = (_campaign_check(name, root, document, backend, importable, environ, home, listing)
                         if valid else _pass(name, f"not checked: {CAMPAIGN_FILE} is invalid", "skip"))
    checks = [results[name][0] for name in CHECK_ORDER]
    failures = [results[name][1] for name in CHECK_ORDER if results[name][1]]
    checks, failures = _redact(checks, secrets), _redact(failures, secrets)
    hashes = _hashes(document)
    if hashes is None:
        why = _redact(issues[0].message, secrets) if issues else "its identity fields are missing"
        return Outcome(checks, warnings=_redact([w.message for w in warnings], secrets), error={
            "code": "campaign-unreadable",
            "message": line(f"No artifact written: {CAMPAIGN_FILE} cannot be identified ({why})"),
            "fix": line(f"Write a {CAMPAIGN_FILE} with campaign.name, objective.metric and direction, and "
                        f"wandb.entity and project (python3 <skill>/scripts/validate.py campaign {CAMPAIGN_FILE} "
                        "lists every problem), then run the preflight again.")})
    artifact = {"schema_version": 1, "status": "FAILED" if failures else "READY",
                "campaign_identity_hash": hashes[0], "runtime_config_hash": hashes[1],
                "emitted_at": now or format_time(datetime.datetime.now(datetime.timezone.utc)),
                "checks": checks, "failures": failures, "next_action": _next_action(failures)}
    problems = validation.validate_document("preflight-readiness", artifact, PREFLIGHT_FILE)
    if problems:
        raise ContractError(problems)  # a bug in this module, never the user's input
    return Outcome(checks, artifact=artifact, warnings=_redact([w.message for w in warnings], secrets))


def write(project_root, artifact) -> Path:
    """Write the artifact atomically; returns its path (raises OSError when it cannot)."""
    path = Path(project_root) / PREFLIGHT_FILE
    write_json_atomic(path, artifact)
    return path


def _next_action(failures) -> str:
    if not failures:
        return ("Start or continue the campaign: python3 <skill>/scripts/metaopt.py step --project-root <project> "
                "--json (run metaopt.py resume instead if it is blocked).")
    names = ", ".join(f["check"] for f in failures)
    return line(f"Fix each failed check as its fix says ({names}), then run the preflight again: {RERUN}")


def _hashes(document):
    """(identity hash, runtime hash) of the campaign as parsed, or None without identity fields."""
    if not isinstance(document, dict):
        return None
    try:
        identity = campaign_lib.identity_hash(document)
    except (KeyError, TypeError, ValueError):
        return None
    try:
        runtime = campaign_lib.runtime_config_hash(document)
    except (KeyError, TypeError, ValueError, AttributeError):  # invalid: its runtime fields as they parsed
        partial = {"compute": document.get("compute"), "project": document.get("project")}
        try:
            runtime = campaign_lib.sha256_of(partial)
        except ValueError:  # NaN or Infinity
            runtime = campaign_lib.sha256_of(repr(partial))
    return identity, runtime


def _campaign_check(name, root, document, backend, importable, environ, home, listing):
    """One check that needs the valid campaign; skip when its backend does not need it."""
    if name == "project-program":
        return check_project_program(root, document)
    if name == "smoke-command":
        return check_smoke_command(document)
    if name not in BACKEND_CHECKS[backend]:
        return _pass(name, f"not needed for compute.backend {backend}", "skip")
    if name in IMPORT_CHECKS:
        return check_importable(name, importable)
    if name == "process-listing":
        return check_process_listing(listing())
    if name == "wandb-api-key":
        return check_wandb_api_key(environ, home)
    return check_vast_credentials(home)


def _redact(value, secrets):
    """Every secret (the keys' values, and credential shapes) that slipped into a string, hidden."""
    return Redactor(secrets).document(value, on_change=line)

