"""Strict readers for JSON and YAML files from outside the process.

Every problem (unreadable file, bad encoding, syntax error, duplicate key, YAML 1.1's
`1e-5`-is-a-string trap, NaN/Infinity, non-JSON YAML types) becomes an Issue; nothing raises.
"""
from __future__ import annotations

import datetime
import json
import math
import re

from .issues import Issue
from .regular_files import FileRefused, read_regular

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 100
MAX_INTEGER = 10 ** 300  # beyond float range no contract number is meaningful
# A plain YAML scalar that YAML 1.2 and JSON read as a number but PyYAML (YAML 1.1) reads as a string.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


class _LimitExceeded(Exception):
    """A walk passed MAX_NODES (e.g. a YAML alias bomb) or MAX_DEPTH; carries the Issue to report."""

    def __init__(self, issue):
        super().__init__(issue.problem)
        self.issue = issue


class _Dup(dict):
    """A JSON object that remembers keys it saw twice."""

    duplicates: list


def _pairs_hook(pairs):
    obj = _Dup()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def read_text(path, label, max_bytes=MAX_FILE_BYTES, within=None):
    """Read a regular file (inside `within`, when given) of at most max_bytes as UTF-8 text.
    Returns (text or None, issues)."""
    try:
        data = read_regular(path, label, max_bytes, within)
    except FileRefused as exc:
        return None, [exc.issue]
    return decoded(data, label)


def decoded(data: bytes, label):
    """The UTF-8 text of a file's bytes (a BOM dropped). Returns (text or None, issues)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Issue(label, (), "parse.encoding", f"not valid UTF-8 at byte {exc.start}",
                            "UTF-8 text", "re-save the file as UTF-8")]
    if not text.strip():
        return None, [Issue(label, (), "parse.empty", "file is empty", "a document",
                            "write the document, or restore the file from its last good copy")]
    return text, []


def parse_json(text, label):
    """Parse JSON strictly. Returns (document or None, issues)."""
    try:
        doc = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=float)
    except json.JSONDecodeError as exc:
        return None, [Issue(label, (), "parse.json_syntax",
                            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                            "a complete JSON document",
                            "fix the syntax; a truncated file usually means an interrupted write")]
    except RecursionError:
        return None, [_too_deep(label)]
    except ValueError as exc:  # an integer literal longer than Python converts (4300 digits)
        return None, [Issue(label, (), "parse.json_number", f"a number cannot be read: {_value_error(exc)}",
                            "numbers of ordinary length", "write the number with fewer digits")]
    document, issues = _walked(doc, label, [])
    return _plain(document), issues


def parse_yaml(text, label):
    """Parse one YAML document strictly. Returns (document or None, issues)."""
    import yaml  # only a YAML file is parsed with it (a step whose campaign is cached reads none)

    # libyaml's parser when PyYAML has it (its wheels do): the pure-Python scanner takes time quadratic
    # in the nesting depth (seconds on a hostile file), libyaml refuses nesting beyond 1,000 levels at once.
    # Both compose the same nodes; the checks below read them alike.
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    except yaml.YAMLError as exc:  # the reader refuses NUL and other non-printable characters up front
        return None, [_yaml_syntax(exc, label)]
    try:
        node = loader.get_single_node()
        issues = []
        if node is not None:
            _check_nodes(node, (), label, issues, [0])
        doc = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        return None, [_too_deep(label) if "maximum nesting depth" in str(exc) else _yaml_syntax(exc, label)]
    except RecursionError:
        return None, [_too_deep(label)]
    except _LimitExceeded as exc:
        return None, [exc.issue]
    except ValueError as exc:  # an integer longer than Python converts (4,300 digits), a bad timestamp
        return None, [Issue(label, (), "parse.yaml_value", f"a value cannot be read: {_value_error(exc)}",
                            "numbers of ordinary length and valid dates", "write the value with fewer digits, "
                            "or quote it")]
    finally:
        loader.dispose()
    if node is None:
        return None, [Issue(label, (), "parse.empty", "file has no YAML document", "a mapping",
                            "write the document")]
    return _walked(doc, label, issues)


def _value_error(exc) -> str:
    text = str(exc)
    return "an integer of more than 4,300 digits" if "digits" in text else text.split(";")[0][:120]


def _yaml_syntax(exc, label):
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
    return Issue(label, (), "parse.yaml_syntax", f"invalid YAML{where}: {problem}"[:300],
                 "one well-formed YAML document", "fix the YAML syntax (indentation, quotes, colons)")


def _walked(doc, label, issues):
    """(doc, issues) after the value walk, or (None, [limit issue]) when a limit was passed."""
    try:
        _walk(doc, (), label, issues, [0])
    except _LimitExceeded as exc:
        return None, [exc.issue]
    return doc, issues


def load_document(path, label=None, fmt=None, max_bytes=MAX_FILE_BYTES, within=None):
    """Read and parse a file as JSON or YAML (by suffix unless fmt is given); see read_text."""
    label = label or str(path)
    text, issues = read_text(path, label, max_bytes, within)
    if text is None:
        return None, issues
    fmt = fmt or ("yaml" if str(path).endswith((".yaml", ".yml")) else "json")
    return parse_yaml(text, label) if fmt == "yaml" else parse_json(text, label)


def parse_document(data: bytes, label, fmt):
    """Parse a file's bytes already read as JSON or YAML. Returns (document or None, issues)."""
    text, issues = decoded(data, label)
    if text is None:
        return None, issues
    return parse_yaml(text, label) if fmt == "yaml" else parse_json(text, label)


def _check_nodes(node, parts, label, issues, count):
    import yaml

    count[0] += 1
    if count[0] > MAX_NODES:
        raise _LimitExceeded(_too_large(label))
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                issues.append(Issue(label, parts + (key,), "parse.duplicate_key", f"key '{key}' appears twice",
                                    "each key once", "delete one of the two entries"))
            seen.add(key)
            _check_nodes(value_node, parts + (key,), label, issues, count)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_nodes(item, parts + (index,), label, issues, count)
    elif (isinstance(node, yaml.ScalarNode) and not node.style  # plain: None in PyYAML, "" in libyaml
          and node.tag == "tag:yaml.org,2002:str" and _EXPONENT_FLOAT.match(node.value)):
        issues.append(Issue(label, parts, "parse.yaml_exponent_float",
                            f"'{node.value}' is read by YAML 1.1 as a string, not a number",
                            "a number with a decimal point in the mantissa",
                            f"write {_with_dot(node.value)} (or quote it if a string is meant)"))


def _too_deep(label):
    return Issue(label, (), "parse.too_deep", "document nests too deeply", f"at most {MAX_DEPTH} levels",
                 "check that this is the right file")


def _too_large(label):
    return Issue(label, (), "parse.too_large", "document has too many values (aliases included)",
                 f"at most {MAX_NODES} values", "check that this is the right file")


def _with_dot(value):
    mantissa, _, exponent = value.lower().partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if exponent[:1] not in "+-":
        exponent = "+" + exponent
    return f"{mantissa}e{exponent}"


def _walk(value, parts, label, issues, count):
    """Flag non-finite numbers, duplicate JSON keys and non-JSON YAML values, with their paths."""
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _LimitExceeded(_too_large(label))
    if len(parts) > MAX_DEPTH:
        raise _LimitExceeded(_too_deep(label))
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", []):
            issues.append(Issue(label, parts + (key,), "parse.duplicate_key", f"key '{key}' appears twice",
                                "each key once", "delete one of the two entries"))
        for key, item in value.items():
            if not isinstance(key, str):
                issues.append(Issue(label, parts + (str(key),), "parse.non_string_key",
                                    f"key {key!r} is not a string", "string keys",
                                    "quote the key"))
                continue
            _walk(item, parts + (key,), label, issues, count)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, parts + (index,), label, issues, count)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        issues.append(Issue(label, parts, "parse.number_too_large", f"integer with {len(str(abs(value)))} digits",
                            f"a number of magnitude at most {MAX_INTEGER:.3g}", "use a realistic value"))
    elif isinstance(value, float) and not math.isfinite(value):
        issues.append(Issue(label, parts, "parse.non_finite", f"{value} is not a finite number",
                            "a finite number", "replace NaN/Infinity with a real value"))
    elif isinstance(value, (datetime.date, datetime.datetime, bytes, set)):
        issues.append(Issue(label, parts, "parse.yaml_non_json", f"YAML read this as {type(value).__name__}",
                            "a JSON value (string, number, boolean, null, list or mapping)",
                            "quote the value"))


def _plain(value):
    """Turn the duplicate-tracking dicts back into plain dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
