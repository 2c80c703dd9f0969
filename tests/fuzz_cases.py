"""The generated fuzz suite of issue 12 (tests/test_fuzz_inputs.py): malformed inputs for every reader,
crossed with every command that reads them, and what each command must then do.

A case is (target, command, mutation). A target is one file of a project at one position of the
simulated campaign of tests/bad_input.py (or of a fresh project, or of a local sweep's records); a
mutation replaces that file with bad bytes (content) or with something that is not a regular file
of the project (type); a command is one of the skill's command lines, run in-process.

What a command must do with a case is its rule (see `rule_for` and `check`): reject it (exit 1, one
JSON error report naming the file, not one byte of the project changed), reject and retry a worker's
or the executor's result (the documented gate: the result is never ingested), block a fresh campaign
on its preflight, report the file invalid (validate.py), or either accept or reject it (mutations a
reader may reasonably take: a UTF-8 BOM, a symlink that stays inside the project, YAML aliases and
merge keys that build a valid campaign). Every case, whatever its rule: no exception escapes the
command, no traceback on stderr, exactly one JSON document on stdout that fits the command's output
contract, nothing written outside the project, and it finishes within BOUND_SECONDS (SIGALRM).

Device mutations (/dev/zero, /dev/urandom) run in a child process with a capped address space (this
file run as a script), so a reader that reads a device without a bound fails fast with MemoryError
instead of swamping the machine.
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import io
import json
import os
import resource
import shutil
import signal
import stat
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import support

# Generous on purpose: the point is "finishes", not "fast" (a loaded CI machine must never trip it).
BOUND_SECONDS = float(os.environ.get("FUZZ_CASE_SECONDS", "60"))
CHILD_MEMORY_BYTES = 1536 * 1024 * 1024
BIG_FILE_BYTES = 4 * 1024 * 1024      # larger files are compared by (size, inode, mtime), not by bytes
OVERSIZE_BYTES = 80 * 1024 * 1024     # above every per-kind bound; written sparse, so it costs nothing
CAMPAIGN_OVERSIZE_BYTES = 20 * 1024 * 1024
PLACEHOLDER = "__fuzz_placeholder__"
START = "2026-11-22T08:00:00Z"
STATE = ".ml-metaopt/state.json"
JOURNAL = ".ml-metaopt/journal.jsonl"
CAMPAIGN = "ml_metaopt_campaign.yaml"
PREFLIGHT = ".ml-metaopt/preflight-readiness.json"
HANDOFFS = ".ml-metaopt/handoffs"
PREVIEWS = ".ml-metaopt/handoffs/previews"
OUTSIDE_MARKER = "FUZZ-OUTSIDE-THE-PROJECT"
SCRIPTS = support.SCRIPTS  # the scripts under test (support also puts them on sys.path)

# -- mutations --------------------------------------------------------------------------------------

CONTENT = ("empty", "whitespace-only", "truncated-half", "truncated-end", "nul-bytes", "nul-escaped-in-value",
           "invalid-utf8", "utf-16", "nan", "infinity", "minus-infinity", "integer-5000-digits", "float-1e400",
           "string-10mb", "nesting-10000", "top-level-array", "top-level-string", "top-level-number",
           "top-level-null", "top-level-true", "duplicate-key", "above-size-bound")
YAML_CONTENT = ("alias-bomb", "merge-key-unknown-field", "python-tag", "tab-indentation", "two-documents",
                "exponent-string-1e400")
EITHER = ("utf8-bom-valid", "symlink-inside")
YAML_EITHER = ("alias-valid", "merge-key-valid")
TYPES = ("symlink-outside", "dev-null", "dev-zero", "fifo", "directory")
DEVICES = ("dev-zero", "dev-urandom")   # run in the memory-capped child


def family(mutation) -> str:
    if mutation in EITHER or mutation in YAML_EITHER:
        return "either"
    if mutation in TYPES or mutation in DEVICES:
        return "type"
    return "content"


def mutations_of(target) -> list:
    names = list(CONTENT)
    if target.fmt == "yaml":
        names += YAML_CONTENT
    names += list(target.extras)
    names += list(EITHER) + (list(YAML_EITHER) if target.fmt == "yaml" else [])
    names += list(TYPES) + (["dev-urandom"] if target.urandom else [])
    return names


class Sparse:
    """A file of `size` bytes: `head`, then NUL bytes (a hole: no disk, no time)."""

    def __init__(self, head: bytes, size: int):
        self.head, self.size = head, size


def _at(document, parts, value):
    result = copy.deepcopy(document)
    node = result
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return result


def _replaced(text: str, old: str, new: str) -> str:
    if old not in text:
        raise AssertionError(f"case generator: {old!r} not in the valid file")
    return text.replace(old, new, 1)


def _json_placed(document, parts, raw: bytes) -> bytes:
    data = json.dumps(_at(document, parts, PLACEHOLDER), indent=2).encode()
    return data.replace(json.dumps(PLACEHOLDER).encode(), raw, 1)


RAW_VALUES = {"nan": b"NaN", "infinity": b"Infinity", "minus-infinity": b"-Infinity",
              "integer-5000-digits": b"1" + b"0" * 4999, "float-1e400": b"1e400"}
TOP_LEVEL = {"top-level-array": b"[]", "top-level-string": b'"text"', "top-level-number": b"42",
             "top-level-null": b"null", "top-level-true": b"true"}


def json_content(mutation, valid: bytes, target):
    """Bytes (or a Sparse) of a JSON file for one content or either mutation."""
    document = json.loads(valid)
    middle = len(valid) // 3
    if mutation == "empty":
        return b""
    if mutation == "whitespace-only":
        return b" \n\t \n"
    if mutation == "truncated-half":
        return valid[: len(valid) // 2]
    if mutation == "truncated-end":
        return valid.rstrip()[:-1]
    if mutation == "nul-bytes":
        return valid[:middle] + b"\x00\x00\x00\x00" + valid[middle:]
    if mutation == "nul-escaped-in-value":
        return _json_placed(document, target.str_path, json.dumps("fuzz\u0000nul").encode())
    if mutation == "invalid-utf8":
        return valid[:middle] + b"\xff\xfe\xfd" + valid[middle:]
    if mutation == "utf-16":
        return valid.decode("utf-8").encode("utf-16")
    if mutation in RAW_VALUES:
        return _json_placed(document, target.num_path, RAW_VALUES[mutation])
    if mutation == "string-10mb":
        return _json_placed(document, target.str_path, b'"' + b"x" * 10_000_000 + b'"')
    if mutation == "nesting-10000":
        return _json_placed(document, target.str_path, b"[" * 10000 + b"]" * 10000)
    if mutation in TOP_LEVEL:
        return TOP_LEVEL[mutation]
    if mutation == "duplicate-key":  # a lax reader keeps the last value, which is the valid one
        first = next(iter(document))
        return (b"{\n  " + json.dumps(first).encode() + b': "fuzz-duplicate",\n' + valid.lstrip()[1:])
    if mutation == "above-size-bound":
        return Sparse(valid, OVERSIZE_BYTES)
    if mutation == "proposals-100000":
        return json.dumps(dict(document, proposals=document["proposals"][:1] * 100_000)).encode()
    if mutation == "learnings-100000":
        return json.dumps(dict(document, learnings=["Moderate lr worked best."] * 100_000)).encode()
    if mutation == "utf8-bom-valid":
        return b"\xef\xbb\xbf" + valid
    raise AssertionError(f"case generator: no JSON content for {mutation}")


def jsonl_content(mutation, valid: bytes, target):
    """Bytes of the journal (JSON lines) for one content or either mutation: mostly a bad last line."""
    last = json.loads(valid.splitlines()[-1])

    def line(raw: bytes) -> bytes:
        return valid + raw + b"\n"

    def placed(parts, raw):
        return line(json.dumps(_at(last, parts, PLACEHOLDER)).encode().replace(json.dumps(PLACEHOLDER).encode(), raw))

    simple = {"empty": b"", "whitespace-only": valid + b" \n\t \n", "truncated-half": valid[: len(valid) // 2],
              "truncated-end": valid[:-3], "nul-bytes": line(b'{"seq": 1\x00\x00\x00}'),
              "invalid-utf8": line(b'{"seq": 1, "summary": "\xff\xfe\xfd"}'),
              "utf-16": valid.decode("utf-8").encode("utf-16"), "duplicate-key": line(b'{"seq": 1, "seq": 2}'),
              "utf8-bom-valid": b"\xef\xbb\xbf" + valid}
    if mutation in simple:
        return simple[mutation]
    if mutation == "nul-escaped-in-value":
        return placed(("summary",), json.dumps("fuzz\u0000nul").encode())
    if mutation in RAW_VALUES:
        return placed(("seq",), RAW_VALUES[mutation])
    if mutation == "string-10mb":
        return placed(("summary",), b'"' + b"x" * 10_000_000 + b'"')
    if mutation == "nesting-10000":
        return placed(("summary",), b"[" * 10000 + b"]" * 10000)
    if mutation in TOP_LEVEL:
        return line(TOP_LEVEL[mutation])
    if mutation == "above-size-bound":
        return Sparse(valid, OVERSIZE_BYTES)
    raise AssertionError(f"case generator: no journal content for {mutation}")


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))


def yaml_content(mutation, valid: bytes, target):
    """Bytes of the campaign YAML for one content or either mutation."""
    import yaml

    text = valid.decode("utf-8")
    document = yaml.safe_load(text)

    def placed(parts, token):
        dumped = yaml.safe_dump(_at(document, parts, PLACEHOLDER), sort_keys=False)
        return _replaced(dumped, PLACEHOLDER, token).encode()

    name = "name: " + document["campaign"]["name"]
    tokens = {"nan": ".nan", "infinity": ".inf", "minus-infinity": "-.inf", "integer-5000-digits": "1" + "0" * 4999,
              "float-1e400": "1.0e+400", "exponent-string-1e400": "1e400"}
    if mutation in tokens:
        return placed(target.num_path, tokens[mutation])
    if mutation == "string-10mb":
        return placed(target.str_path, "x" * 10_000_000)
    if mutation == "nesting-10000":
        return placed(target.str_path, "[" * 10000 + "]" * 10000)
    if mutation == "nul-escaped-in-value":
        return placed(target.str_path, '"fuzz\\0nul"')
    simple = {
        "empty": lambda: "", "whitespace-only": lambda: " \n\t \n",
        "truncated-half": lambda: text[: text.index("compute:") + 3],
        "truncated-end": lambda: text[: text.index("stop_conditions:") + 6],
        "nul-bytes": lambda: _replaced(text, name, name[:9] + "\x00\x00" + name[9:]),
        "top-level-array": lambda: "- a\n- b\n", "top-level-string": lambda: "just a string\n",
        "top-level-number": lambda: "42\n", "top-level-null": lambda: "null\n", "top-level-true": lambda: "true\n",
        "duplicate-key": lambda: _replaced(text, "compute:\n", "compute:\n  run_cap: 3\n"),
        "above-size-bound": lambda: text + ("# " + "x" * 97 + "\n") * (CAMPAIGN_OVERSIZE_BYTES // 100),
        "alias-bomb": lambda: ALIAS_BOMB,
        "merge-key-unknown-field": lambda: _replaced(text, "compute:\n", "compute:\n  <<: {unexpected_field: 1}\n"),
        "python-tag": lambda: _replaced(text, name, "name: !!python/object/apply:os.system [echo fuzz]"),
        "tab-indentation": lambda: _replaced(text, "  " + name, "\t" + name),
        "two-documents": lambda: text + "---\n" + text,
        "alias-valid": lambda: _replaced(text, "  entity: sim\n  project: sim\n", "  entity: &who sim\n  project: *who\n"),
        "merge-key-valid": lambda: _replaced(text, "compute:\n  run_cap: 4\n  max_budget_usd: 5.0\n",
                                             "compute:\n  <<: {run_cap: 4, max_budget_usd: 5.0}\n"),
    }
    if mutation in simple:
        return simple[mutation]().encode("utf-8")
    if mutation == "invalid-utf8":
        return valid[:20] + b"\xff\xfe" + valid[20:]
    if mutation == "utf-16":
        return text.encode("utf-16")
    if mutation == "utf8-bom-valid":
        return b"\xef\xbb\xbf" + valid
    raise AssertionError(f"case generator: no YAML content for {mutation}")


_CONTENT_CACHE = {}


def content_for(mutation, valid: bytes, target):
    """The mutation's bytes, built once per target (its cases come one target after another)."""
    if _CONTENT_CACHE.get("target") != (target.name, valid):
        _CONTENT_CACHE.clear()
        _CONTENT_CACHE["target"] = (target.name, valid)
    if mutation not in _CONTENT_CACHE:
        build = {"json": json_content, "jsonl": jsonl_content, "yaml": yaml_content}[target.fmt]
        _CONTENT_CACHE[mutation] = build(mutation, valid, target)
    return _CONTENT_CACHE[mutation]


def remove(path) -> None:
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def place(path, mutation, valid: bytes, target, outside_dir) -> Path | None:
    """Put the mutation at path; returns the outside file a symlink-outside case points to."""
    path = Path(path)
    remove(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mutation == "symlink-inside":
        twin = path.with_name(path.name + ".fuzz-copy")
        twin.write_bytes(valid)
        path.symlink_to(twin.name)
    elif mutation == "symlink-outside":
        outside_dir.mkdir(parents=True, exist_ok=True)
        outside = outside_dir / f"{len(list(outside_dir.iterdir()))}-{path.name}"
        outside.write_bytes(valid + (json.dumps({"seq": 999, "summary": OUTSIDE_MARKER}).encode() + b"\n"
                                     if target.fmt == "jsonl" else b""))
        path.symlink_to(outside)
        return outside
    elif mutation in ("dev-null", "dev-zero", "dev-urandom"):
        path.symlink_to("/dev/" + mutation[4:])
    elif mutation == "fifo":
        os.mkfifo(path)
    elif mutation == "directory":
        path.mkdir()
    else:
        data = content_for(mutation, valid, target)
        with open(path, "wb") as handle:
            if isinstance(data, Sparse):
                handle.write(data.head)
                handle.truncate(data.size)
            else:
                handle.write(data)
    return None


# -- the project's files, and putting them back ---------------------------------------------------

def _is_lock(name) -> bool:
    return name == "lock" or name.endswith(".lock")


def _entry(path, info):
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(mode):
        return ("dir",)
    if stat.S_ISREG(mode):
        if info.st_size > BIG_FILE_BYTES:
            return ("big", info.st_size, info.st_ino, info.st_mtime_ns)
        with open(path, "rb") as handle:
            return ("file", handle.read())
    if stat.S_ISFIFO(mode):
        return ("fifo", info.st_ino)
    return ("other", mode)


def entries(root) -> dict:
    """Every entry under root by relative path (lock files aside), never following a link or opening
    anything but a regular file: what a command may not change when it rejects an input."""
    root = Path(root)
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if _is_lock(name):
                continue
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = _entry(path, os.lstat(path))
    return found


def differences(before: dict, after: dict, ignore=()) -> list:
    def shown(entry):
        if entry is None:
            return "absent"
        if entry[0] == "file":
            return f"file of {len(entry[1])} bytes"
        return entry[0]

    keys = sorted(set(before) | set(after))
    return [f"{k}: {shown(before.get(k))} -> {shown(after.get(k))}" for k in keys
            if before.get(k) != after.get(k) and not any(k == p or k.startswith(p + "/") for p in ignore)]


class Restorable:
    """A project put back exactly as it was after every case (cheaper than a copy per case)."""

    def __init__(self, root):
        self.root = Path(root)
        self.snapshot = entries(self.root)
        assert not any(e[0] in ("big", "fifo", "other") for e in self.snapshot.values()), "unrestorable base"
        self.signatures = {rel: self._signature(self.root / rel) for rel, e in self.snapshot.items() if e[0] == "file"}

    @staticmethod
    def _signature(path):
        info = os.lstat(path)
        return (info.st_mode, info.st_size, info.st_ino, info.st_mtime_ns)

    def reset(self) -> Path:
        self._prune(self.root)
        for rel in sorted(self.snapshot):
            entry, path = self.snapshot[rel], self.root / rel
            if entry[0] == "dir":
                path.mkdir(parents=True, exist_ok=True)
            elif entry[0] == "link":
                if not os.path.lexists(path):
                    path.symlink_to(entry[1])
            elif not os.path.lexists(path) or (self._signature(path) != self.signatures[rel]
                                                and _entry(path, os.lstat(path)) != entry):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(entry[1])
                self.signatures[rel] = self._signature(path)
        return self.root

    def _prune(self, directory):
        for item in os.scandir(directory):
            rel = os.path.relpath(item.path, self.root)
            info = item.stat(follow_symlinks=False)
            want = self.snapshot.get(rel)
            if _is_lock(item.name) and stat.S_ISREG(info.st_mode):
                continue
            have = _entry(item.path, info) if not stat.S_ISREG(info.st_mode) else ("file",)
            if want is None or want[0] != have[0] or (want[0] == "link" and want != have):
                remove(item.path)
            elif want[0] == "dir":
                self._prune(item.path)

    def copy_to(self, target) -> Path:
        """A private copy of the (reset) project, for a case that runs in the child process."""
        self.reset()
        shutil.copytree(self.root, target, symlinks=True)
        return Path(target)


# -- targets ----------------------------------------------------------------------------------------

REJECT, EITHER_RULE, INVALID = "reject", "either", "invalid"


@dataclass(frozen=True)
class Target:
    """One file of one project, the commands that read it, and each command's rule for
    (content and either mutations, file-type mutations)."""

    name: str
    base: object                # "fresh", "load", "records", "mechanical", or a position (iteration, state, phase)
    rel: object                 # project-relative path, or a callable(base_state) -> path
    fmt: str                    # json, jsonl or yaml
    commands: dict
    num_path: tuple = ()
    str_path: tuple = ()
    codes: frozenset = frozenset()   # error codes a rejection of a content mutation may carry
    kind: str | None = None          # validate.py's kind
    handoff: str | None = None       # the handoff script (module) for the command "handoff"
    extras: tuple = ()
    urandom: bool = False
    named: bool = True               # whether a rejection must name the file
    campaign_changes: dict = field(default_factory=dict)


def _pending(name):
    return lambda state: next(r for r in state["pending"] if r["name"] == name)["result_path"]


def _pending_spec(name):
    return lambda state: next(r for r in state["pending"] if r["name"] == name)["spec_path"]


IDEATION_GATE = (1, "WAIT_FOR_PROPOSALS", "gate_ideation")
IDEATION_GATE_2 = (2, "WAIT_FOR_PROPOSALS", "gate_ideation")
SELECTION_GATE = (1, "SELECT_AND_DESIGN_SWEEP", "finalize_selection")
ANALYSIS_GATE = (1, "ANALYZE", "finalize_analysis")
SMOKE_GATE = (1, "LOCAL_SANITY", "gate_smoke_test")
LAUNCH_GATE = (1, "LAUNCH_SWEEP", "confirm_launch")
POLL_GATE = (1, "WAIT_FOR_SWEEP", "gate_poll")
HYDRATE = (1, "HYDRATE_STATE", "hydrate_state")
ROLL = (1, "ROLL_ITERATION", "roll_iteration")
IDEATE_2 = (2, "IDEATE", "plan_ideation")
COMPLETE = (2, "COMPLETE", "stopped")
SEARCH_SPACE = {"search_space": {"lr": {"distribution": "log_uniform_values", "min": 1.0e-5, "max": 0.1}}}
SWEEP_IDENTITY = "quad-iter-1"
SWEEP_DIR = f".ml-metaopt/sweeps/{SWEEP_IDENTITY}"
TRIAL_TABLE = ".ml-metaopt/trials/sim-campaign-iter-1.json"

BACKGROUND, SELECT, REMOTE = "background_control_handoff", "select_and_design_handoff", "remote_execution_control_handoff"
RESULT_COMMANDS = {"step": ("retry", "retry-or-reject"), "handoff": ("handoff", "handoff"), "validate": (INVALID, INVALID)}
EXEC_RESULT_COMMANDS = {"step": ("retry-exec", "retry-exec-or-reject"), "handoff": ("handoff", "handoff"),
                        "validate": (INVALID, INVALID)}
CAMPAIGN_PATHS = dict(num_path=("compute", "max_budget_usd"), str_path=("campaign", "name"))
STATE_CODES = frozenset({"state-invalid"})

TARGETS = (
    Target("campaign", "fresh", CAMPAIGN, "yaml", {"step": (REJECT, REJECT), "run": (REJECT, REJECT),
           "validate": (INVALID, INVALID), "preflight": ("preflight", "preflight")},
           codes=frozenset({"campaign-invalid"}), kind="campaign", urandom=True, **CAMPAIGN_PATHS),
    Target("campaign@complete", COMPLETE, CAMPAIGN, "yaml", {"resume": (REJECT, REJECT)},
           codes=frozenset({"campaign-invalid"}), kind="campaign", **CAMPAIGN_PATHS),
    Target("campaign@load", "load", CAMPAIGN, "yaml", {"handoff": ("handoff", "handoff")},
           kind="campaign", handoff="load_campaign_handoff", **CAMPAIGN_PATHS),
    Target("campaign@ideation-gate", IDEATION_GATE, CAMPAIGN, "yaml", {"handoff": ("handoff", "handoff")},
           kind="campaign", handoff=BACKGROUND, **CAMPAIGN_PATHS),
    Target("state", IDEATION_GATE_2, STATE, "json", {
        "step": (REJECT, REJECT), "status": (REJECT, REJECT), "resume": (REJECT, REJECT), "reset": (REJECT, REJECT),
        "validate": (INVALID, INVALID), "handoff": ("handoff-reject", "handoff-reject")},
        num_path=("spend_ledger", "total_usd"), str_path=("pending", 0, "result_path"), codes=STATE_CODES,
        kind="state", handoff=BACKGROUND, urandom=True),
    Target("state@run", IDEATION_GATE_2, STATE, "json", {"run": (REJECT, REJECT)},
           num_path=("spend_ledger", "total_usd"), str_path=("pending", 0, "result_path"), codes=STATE_CODES,
           kind="state", campaign_changes=SEARCH_SPACE),
    Target("state@hydrate", HYDRATE, STATE, "json", {"handoff": ("handoff-reject", "handoff-reject")},
           num_path=("step_seq",), str_path=("campaign", "name"), codes=STATE_CODES, kind="state",
           handoff="hydrate_state_handoff"),
    Target("state@roll", ROLL, STATE, "json", {"handoff": ("handoff-reject", "handoff-reject")},
           num_path=("step_seq",), str_path=("campaign", "name"), codes=STATE_CODES, kind="state",
           handoff="iteration_close_control_handoff"),
    Target("journal", IDEATION_GATE, JOURNAL, "jsonl", {"step": (EITHER_RULE, REJECT),
                                                         "status": (EITHER_RULE, EITHER_RULE)},
           codes=frozenset({"input-invalid"})),
    Target("preflight", "fresh", PREFLIGHT, "json", {"step": ("block", "block-or-reject"),
                                                     "validate": (INVALID, INVALID)},
           num_path=("schema_version",), str_path=("campaign_identity_hash",), codes=frozenset({"input-invalid"}),
           kind="preflight-readiness"),
    Target("preflight@load", "load", PREFLIGHT, "json", {"handoff": (EITHER_RULE, EITHER_RULE)},
           num_path=("schema_version",), str_path=("campaign_identity_hash",),
           kind="preflight-readiness", handoff="load_campaign_handoff"),
    Target("preflight@ideation-gate", IDEATION_GATE, PREFLIGHT, "json", {"step": (EITHER_RULE, EITHER_RULE),
                                                                         "handoff": (EITHER_RULE, EITHER_RULE)},
           num_path=("schema_version",), str_path=("campaign_identity_hash",), kind="preflight-readiness",
           handoff=BACKGROUND),
    Target("ideation-task", IDEATION_GATE, _pending_spec("metaopt-ideation-worker"), "json",
           {"step": (EITHER_RULE, EITHER_RULE), "handoff": (EITHER_RULE, EITHER_RULE), "validate": (INVALID, INVALID)},
           num_path=("iteration",), str_path=("task_id",), kind="worker-task", handoff=BACKGROUND),
    Target("ideation-result", IDEATION_GATE, _pending("metaopt-ideation-worker"), "json", RESULT_COMMANDS,
           num_path=("proposals", 0, "sweep_config", "parameters", "lr", "max"), str_path=("task_id",),
           codes=frozenset({"input-invalid"}), kind="ideation-result", handoff=BACKGROUND,
           extras=("proposals-100000",), urandom=True),
    Target("selection-result", SELECTION_GATE, _pending("metaopt-selection-worker"), "json", RESULT_COMMANDS,
           num_path=("sweep_config", "parameters", "lr", "max"), str_path=("winning_proposal_id",),
           codes=frozenset({"input-invalid"}), kind="selection-result", handoff=SELECT),
    Target("analysis-result", ANALYSIS_GATE, _pending("metaopt-analysis-worker"), "json", RESULT_COMMANDS,
           num_path=("schema_version",), str_path=("task_id",), codes=frozenset({"input-invalid"}),
           kind="analysis-result", handoff=REMOTE, extras=("learnings-100000",)),
    Target("smoke-result", SMOKE_GATE, _pending("run_smoke_test"), "json", EXEC_RESULT_COMMANDS,
           num_path=("details", "duration_seconds"), str_path=("directive_id",), codes=frozenset({"input-invalid"}),
           kind="executor-result", handoff=REMOTE),
    Target("launch-result", LAUNCH_GATE, _pending("launch_sweep"), "json", EXEC_RESULT_COMMANDS,
           num_path=("details", "run_cap"), str_path=("directive_id",), codes=frozenset({"input-invalid"}),
           kind="executor-result", handoff=REMOTE),
    Target("poll-result", POLL_GATE, _pending("poll_sweep"), "json", EXEC_RESULT_COMMANDS,
           num_path=("details", "spend", "sweep_spend_usd"), str_path=("directive_id",),
           codes=frozenset({"input-invalid"}), kind="executor-result", handoff=REMOTE),
    Target("executor-directive", POLL_GATE, _pending_spec("poll_sweep"), "json",
           {"executor": ("exec-refused", "exec-refused"), "validate": (INVALID, INVALID)},
           num_path=("payload", "budget", "max_budget_usd"), str_path=("result_path",), kind="directive"),
    Target("mechanical-directive", "mechanical", _pending_spec("emit_iteration_report"), "json",
           {"step": (REJECT, REJECT)}, num_path=("iteration",), str_path=("payload", "report_path"),
           codes=frozenset({"input-invalid"}), kind="directive"),
    Target("trial-table", IDEATE_2, TRIAL_TABLE, "json",
           {"step": (REJECT, REJECT), "handoff": ("handoff", "handoff"), "validate": (INVALID, INVALID)},
           num_path=("schema_version",), str_path=("sweep_identity",), codes=frozenset({"input-invalid"}),
           kind="trial-table", handoff=BACKGROUND),
    Target("local-sweep-spec", "records", f"{SWEEP_DIR}/sweep.json", "json",
           {"executor:poll": ("exec-failed", "exec-failed"), "executor:teardown": ("exec-failed", "exec-failed")},
           num_path=("hourly_cost_usd",), str_path=("repo",), codes=frozenset({"record-invalid"})),
    Target("local-sweep-status", "records", f"{SWEEP_DIR}/status.json", "json",
           {"executor:poll": ("exec-failed", "exec-failed"), "executor:teardown": (EITHER_RULE, EITHER_RULE)},
           num_path=("spend_usd",), str_path=("sweep_identity",),
           codes=frozenset({"record-invalid", "spend-listing-failed"}), named=False),
)
TARGETS_BY_NAME = {t.name: t for t in TARGETS}
# `run` on a campaign it accepted runs it for real: only mutations no reader may accept go to run.
RUN_SKIPS = set(EITHER) | set(YAML_EITHER)


def rule_for(target, command, mutation) -> str:
    """What `command` must do with the mutation of `target` (test_fuzz_inputs.FuzzHarness.rule_*)."""
    content_rule, type_rule = target.commands[command]
    kind = family(mutation)
    if kind == "either":
        return EITHER_RULE
    if kind == "type":
        if command == "validate" and mutation == "symlink-outside":
            return EITHER_RULE  # validate.py checks a file wherever it is: there is no project to leave
        return type_rule
    return content_rule


@dataclass(frozen=True)
class Case:
    target: str
    command: str
    mutation: str

    @property
    def label(self) -> str:
        return f"{self.target} / {self.command} / {self.mutation}"

    @property
    def in_child(self) -> bool:
        return self.mutation in DEVICES


def cases(target_names=None) -> list:
    found = []
    for target in TARGETS:
        if target_names is not None and target.name not in target_names:
            continue
        for command in target.commands:
            for mutation in mutations_of(target):
                if command == "run" and mutation in RUN_SKIPS:
                    continue
                found.append(Case(target.name, command, mutation))
    return found


# -- running one command ----------------------------------------------------------------------------

class Hang(BaseException):
    """The case did not finish within its bound (a BaseException: no `except Exception` swallows it)."""


@contextlib.contextmanager
def bounded(seconds):
    def expire(signum, frame):
        raise Hang(f"did not finish within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    code: object = None       # the exit code main returned (or "SystemExit(n)")
    out: str = ""
    err: str = ""
    error: str | None = None  # the exception that escaped, or the hang
    seconds: float = 0.0


def command_line(command, target, root, path) -> tuple:
    """(module of the script, argv) of one command on one case."""
    root = str(root)
    clock = Path(root) / ".sim" / "clock"
    now = clock.read_text().strip() if clock.is_file() else START
    if command in ("step", "resume", "reset"):
        return "metaopt", [command, "--project-root", root, "--json", "--now", now]
    if command == "status":
        return "metaopt", ["status", "--project-root", root, "--json"]
    if command == "run":
        return "metaopt", ["run", "--project-root", root, "--json", "--workers", "heuristic"]
    if command == "validate":
        return "validate", [target.kind, str(path)]
    if command == "preflight":
        return "preflight", ["--project-root", root]
    if command == "handoff":
        return target.handoff, ["--project-root", root]
    if command == "executor":
        return "skypilot_wandb_worker", ["run", "--project-root", root, "--directive", str(path)]
    if command.startswith("executor:"):
        directive = Path(root) / f"{command.split(':')[1]}.directive.json"
        return "skypilot_wandb_worker", ["run", "--project-root", root, "--directive", str(directive)]
    raise AssertionError(f"unknown command {command}")


def invoke(module, argv, seconds=None) -> Outcome:
    """Run a script's main in-process, stdout and stderr captured, bounded by SIGALRM."""
    main = importlib.import_module(module).main
    out, err = io.StringIO(), io.StringIO()
    outcome = Outcome()
    started = time.monotonic()
    try:
        with bounded(seconds or BOUND_SECONDS), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                outcome.code = main(argv, out=out)
            except SystemExit as exc:
                outcome.code = f"SystemExit({exc.code})"
    except KeyboardInterrupt:
        raise
    except Hang as exc:
        outcome.error = f"hang: {exc}"
    except BaseException:  # noqa: BLE001 - the point: nothing may escape
        outcome.error = traceback.format_exc()
    outcome.seconds = time.monotonic() - started
    outcome.out, outcome.err = out.getvalue(), err.getvalue()
    return outcome


def run_child(manifest: list, work: Path, seconds=None) -> dict:
    """Run [{id, module, argv}] in one memory-capped child process; returns id -> Outcome."""
    import subprocess

    work.mkdir(parents=True, exist_ok=True)
    request, answer = work / "manifest.json", work / "outcomes.json"
    request.write_text(json.dumps({"seconds": seconds or BOUND_SECONDS, "cases": manifest}))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    limit = (seconds or BOUND_SECONDS) * (len(manifest) + 2)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(request), str(answer)],
                          capture_output=True, text=True, timeout=limit, env=env, stdin=subprocess.DEVNULL)
    if not answer.exists():
        raise AssertionError(f"the child ended without answering (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return {k: Outcome(**v) for k, v in json.loads(answer.read_text()).items()}


def _child(request, answer) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = CHILD_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(CHILD_MEMORY_BYTES, hard)
    manifest = json.loads(Path(request).read_text())
    for module in {c["module"] for c in manifest["cases"]}:  # imports before the cap
        importlib.import_module(module)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    outcomes = {}
    for case in manifest["cases"]:
        outcomes[case["id"]] = invoke(case["module"], case["argv"], manifest["seconds"]).__dict__
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    Path(answer).write_text(json.dumps(outcomes))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
