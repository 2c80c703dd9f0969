"""Metric capture for local sweep trials (loaded by Python at start-up because the local runner puts
this directory first on the trial's PYTHONPATH).

When the training program imports wandb, `Run.log` is wrapped so every logged scalar is also appended
as one JSON line to $METAOPT_METRICS_FILE: {"t": unix time, "step": n, "metrics": {name: number}},
and `Run.finish` so that the program's end of the run is one line too: {"t": unix time, "finished":
true}. The program is not changed and wandb behaves exactly as before. Whatever goes wrong here is
swallowed: capture must never break a user's training run.

With $METAOPT_CONFIG_READS_FILE set (the smoke test), the keys the program reads from wandb.config
are appended there too, one {"key": name} line per key, or {"all": true} when it read the whole
config at once (items(), keys(), as_dict(), iteration), after which nothing can be told unread.
Reads made by wandb's own code are not the program's and are left out.
"""
import importlib.machinery
import importlib.util
import json
import math
import os
import sys
import time

_TARGETS = ("wandb.sdk.wandb_run", "wandb.sdk.wandb_config")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _scalars(data):
    out = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(key, str) and math.isfinite(value):
            out[key] = value
    return out


def _append(path, data, state):
    try:
        metrics = _scalars(data) if isinstance(data, dict) else {}
        if not metrics:
            return
        state["step"] += 1
        _append_line(path, {"t": time.time(), "step": state["step"], "metrics": metrics})
    except Exception:  # noqa: BLE001 - capture never breaks training
        pass


def _append_line(path, record):
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    except Exception:  # noqa: BLE001 - capture never breaks training
        pass


def _wrap(run_class, name, after):
    original = getattr(run_class, name, None)
    if original is None or getattr(original, "_metaopt_capture", False):
        return

    def wrapper(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        after(*args)
        return result

    wrapper._metaopt_capture = True
    wrapper.__wrapped__ = original
    wrapper.__doc__ = original.__doc__
    setattr(run_class, name, wrapper)


def _from_user_code(depth=2):
    """Whether the frame `depth` up (the caller of a wrapped Config method) is outside wandb."""
    try:
        name = sys._getframe(depth).f_globals.get("__name__", "")
    except ValueError:
        return False
    return not (name == "wandb" or name.startswith("wandb.") or name == __name__)


def _patch_config(module):
    path = os.environ.get("METAOPT_CONFIG_READS_FILE")
    config_class = getattr(module, "Config", None)
    if not path or config_class is None or getattr(config_class, "_metaopt_reads", False):
        return
    seen = set()

    def note(record):
        marker = json.dumps(record, sort_keys=True)
        if marker not in seen:
            seen.add(marker)
            _append_line(path, record)

    def keyed(name):
        original = getattr(config_class, name)

        def wrapper(self, key, *args, **kwargs):
            if isinstance(key, str) and not key.startswith("_") and _from_user_code():
                note({"key": key})
            return original(self, key, *args, **kwargs)
        return wrapper

    def whole(name):
        original = getattr(config_class, name)

        def wrapper(self, *args, **kwargs):
            if _from_user_code():
                note({"all": True})
            return original(self, *args, **kwargs)
        return wrapper

    for name in ("__getitem__", "__getattr__", "get", "__contains__"):
        if hasattr(config_class, name):
            setattr(config_class, name, keyed(name))
    for name in ("items", "keys", "values", "as_dict", "__iter__"):
        if hasattr(config_class, name):
            setattr(config_class, name, whole(name))
    config_class._metaopt_reads = True


def _patch(module):
    if module.__name__ == "wandb.sdk.wandb_config":
        _patch_config(module)
        return
    path = os.environ.get("METAOPT_METRICS_FILE")
    run_class = getattr(module, "Run", None)
    if not path or run_class is None:
        return
    state = {"step": 0}
    _wrap(run_class, "log", lambda data=None, *rest: _append(path, data, state))
    _wrap(run_class, "finish", lambda *rest: _append_line(path, {"t": time.time(), "finished": True}))


class _PatchingLoader:
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            _patch(module)
        except Exception:  # noqa: BLE001 - capture never breaks training
            pass

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _WandbRunFinder:
    """Finds wandb's run and config modules with the regular finders and wraps their loaders."""

    def find_spec(self, name, path=None, target=None):
        if name not in _TARGETS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader)
        return spec


def _chain_next_sitecustomize():
    """Run the sitecustomize this one shadows (e.g. a virtualenv's), as Python would have."""
    others = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001 - mirror site.py, which only warns
        pass


if os.environ.get("METAOPT_METRICS_FILE") or os.environ.get("METAOPT_CONFIG_READS_FILE"):
    sys.meta_path.insert(0, _WandbRunFinder())
_chain_next_sitecustomize()
