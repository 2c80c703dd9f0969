"""OpenAI strict structured-output schemas derived from the worker result schemas (for `codex exec
--output-schema`), and a result's conversion between its real and its strict form. A strict
document goes back through from_strict and then the real schema, which checks what strict cannot say.
"""
from __future__ import annotations

import json

from .atomic_io import write_text_atomic
from .loaders import parse_json
from .paths import SCHEMA_DIR, SKILL_ROOT
from .schemas import SCHEMA_SUFFIX, load_schema

STRICT_KINDS = ("ideation", "selection", "analysis")
STRICT_DIR = SCHEMA_DIR / "strict"
SWEEP_CONFIG = "sweep_config"
SWEEP_CONFIG_NOTE = ("The W&B sweep config object serialized with JSON (a string holding one JSON object that "
                     "satisfies references/schemas/sweep-config.schema.json).")

_KEPT = {"type", "enum", "description", "title", "pattern", "minimum", "maximum", "exclusiveMinimum",
         "exclusiveMaximum", "multipleOf", "minItems", "maxItems"}
_UNCHECKED = {"default", "examples", "$comment", "$id", "$schema"}
_CONDITIONAL = {"if", "then", "else", "dependentRequired", "dependentSchemas"}
_FORMATS = {"date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
_ALLOWED = _KEPT | {"properties", "required", "additionalProperties", "items", "anyOf", "format", "$defs", "$ref"}
_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_HINTS = {"oneOf": "rewrite as anyOf", "const": "rewrite as a one-value enum", "allOf": "merge or drop it",
          "$ref": "use a local #/$defs/ reference"}
MAX_PROPERTIES, MAX_DEPTH, MAX_ENUM_VALUES, MAX_NAME_CHARS = 5000, 10, 1000, 15000


def _real_name(kind) -> str:
    if kind not in STRICT_KINDS:
        raise ValueError(f"unknown strict kind {kind!r}; expected one of {', '.join(STRICT_KINDS)}")
    return kind + "-result"


def strict_path(kind):
    """Where the generated strict schema of one kind is kept."""
    _real_name(kind)
    return STRICT_DIR / f"{kind}{SCHEMA_SUFFIX}"


def _deref(node, base):
    """(node, base schema name) with every $ref replaced by its target; sibling annotations win."""
    while isinstance(node, dict) and "$ref" in node:
        target_file, _, fragment = node["$ref"].partition("#")
        name = target_file[: -len(SCHEMA_SUFFIX)] if target_file else base
        target = load_schema(name)
        for part in filter(None, fragment.split("/")):
            target = target[part]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        clash = (set(siblings) & set(target)) - {"description", "title"}
        if clash:
            raise ValueError(f"$ref {node['$ref']} has sibling keywords {sorted(clash)} that narrow its target")
        node = {**{k: v for k, v in target.items() if k not in ("$id", "$schema")}, **siblings}
        base = name
    return node, base


def _json_type(value) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", type(None): "null"}
    return names.get(type(value), "object")


def _nullable(schema) -> dict:
    if "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    out = {**schema, "type": types + ["null"] if "null" not in types else types}
    if "enum" in out and None not in out["enum"]:
        out["enum"] = out["enum"] + [None]
    return out


def _strict(node, base, where, dropped) -> dict:
    node, base = _deref(node, base)
    out = {}
    for key, value in node.items():
        if key in ("properties", "required", "additionalProperties", "$defs"):
            continue
        only = {"anyOf": {"required"}, "oneOf": {"required"}, "allOf": _CONDITIONAL}.get(key)
        if key in _CONDITIONAL or (only and all(set(b) <= only for b in value)):
            dropped["conditional"].append(f"{where}/{key}")  # a requirement that depends on other values
        elif key in ("anyOf", "oneOf"):
            out["anyOf"] = [_strict(b, base, f"{where}/{key}/{i}", dropped) for i, b in enumerate(value)]
        elif key == "items":
            out["items"] = _strict(value, base, f"{where}/items", dropped)
        elif key == "const":
            out["enum"] = [value]
        elif key == "format":
            if value in _FORMATS:
                out["format"] = value
        elif key in _KEPT:
            out[key] = value
        elif key in ("minLength", "maxLength"):
            dropped["length"].append(f"{where}/{key}")
        elif key not in _UNCHECKED:
            raise ValueError(f"{where or '/'}: '{key}' has no strict-mode equivalent")
    if "enum" in out and "type" not in out:
        types = sorted({_json_type(v) for v in out["enum"]})
        out["type"] = types[0] if len(types) == 1 else types
    if "properties" in node or node.get("type") == "object":
        if node.get("additionalProperties") is not False:
            raise ValueError(f"{where or '/'}: an object with keys beyond its properties has no strict form")
        required = set(node.get("required", []))
        properties = {}
        for name, sub in node.get("properties", {}).items():
            if name == SWEEP_CONFIG:
                dropped["sweep_config"].append(f"{where}/properties/{name}")
                text = _deref(sub, base)[0].get("description")
                schema = {"type": "string", "description": f"{SWEEP_CONFIG_NOTE} {text}" if text else SWEEP_CONFIG_NOTE}
            else:
                schema = _strict(sub, base, f"{where}/properties/{name}", dropped)
            properties[name] = schema if name in required else _nullable(schema)
        out.update(properties=properties, required=list(properties), additionalProperties=False)
    return out


def strict_schema(kind) -> dict:
    """The strict structured-output schema of one worker result kind, derived from its real schema."""
    name = _real_name(kind)
    real = load_schema(name)
    dropped = {"conditional": [], "length": [], "sweep_config": []}
    body = _strict(real, name, "", dropped)
    unchecked = (["string lengths"] if dropped["length"] else []) + (
        ["the conditional requirements at " + ", ".join(dropped["conditional"])] if dropped["conditional"] else [])
    note = (f"Strict structured-output form of references/schemas/{name}{SCHEMA_SUFFIX}, generated by "
            "scripts/sync_docs.py (do not edit). Every property is required; an optional one is null when absent."
            + (f" {SWEEP_CONFIG} is a JSON string." if dropped["sweep_config"] else "")
            + (" Not expressed here, and checked by the real schema after conversion: " + " and ".join(unchecked)
               + "." if unchecked else ""))
    return {"$schema": real["$schema"], **body, "title": real["title"] + " (strict)",
            "description": f"{real['description']} {note}"}


def strict_rule_problems(schema) -> list:
    """Every OpenAI strict-mode rule the schema breaks, each prefixed by its JSON pointer."""
    problems = []
    if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
        problems.append("/: the root must be a schema of type object, not anyOf")
    totals = {"properties": 0, "enum": 0, "chars": 0}
    _check(schema, "", 1, schema, problems, totals)
    problems += [f"/: {totals[key]} {what} in total, more than {limit}" for key, limit, what in (
        ("properties", MAX_PROPERTIES, "object properties"), ("enum", MAX_ENUM_VALUES, "enum values"),
        ("chars", MAX_NAME_CHARS, "characters of property names and enum values")) if totals[key] > limit]
    return problems


def _check(node, where, depth, root, problems, totals):
    at = where or "/"
    if not isinstance(node, dict):
        problems.append(f"{at}: a schema must be an object, got {_json_type(node)}")
        return
    for key in node:
        if key not in _ALLOWED and not (node is root and key in ("$schema", "$id")):
            hint = f" ({_HINTS[key]})" if key in _HINTS else ""
            problems.append(f"{at}: keyword '{key}' is not allowed in strict mode{hint}")
    ref = node.get("$ref")
    defs = root.get("$defs") if isinstance(root.get("$defs"), dict) else {}
    if ref is not None and not (isinstance(ref, str) and ref.startswith("#/$defs/") and ref[len("#/$defs/"):] in defs):
        problems.append(f"{at}: $ref {ref!r} is not a local #/$defs/ reference")
    types = node["type"] if isinstance(node.get("type"), list) else [node["type"]] if "type" in node else []
    if not types and "anyOf" not in node and ref is None:
        problems.append(f"{at}: no type (every schema needs type, anyOf or $ref)")
    problems += [f"{at}: unknown type {t!r}" for t in types if t not in _TYPES]
    if "format" in node and node["format"] not in _FORMATS:
        problems.append(f"{at}: format {node['format']!r} is not supported")
    if depth > MAX_DEPTH:
        problems.append(f"{at}: nested {depth} levels deep, more than {MAX_DEPTH}")
    properties = node.get("properties", {}) if isinstance(node.get("properties"), dict) else {}
    if "object" in types or properties:
        if node.get("additionalProperties") is not False:
            problems.append(f"{at}: additionalProperties must be false")
        required = node.get("required", [])
        problems += [f"{where}/properties/{n}: property '{n}' is not in required"
                     for n in properties if n not in required]
    enum = node["enum"] if isinstance(node.get("enum"), list) else []
    totals["properties"] += len(properties)
    totals["enum"] += len(enum)
    totals["chars"] += sum(len(n) for n in properties) + sum(len(v) for v in enum if isinstance(v, str))
    children = [(f"{where}/properties/{n}", s, depth + 1) for n, s in properties.items()]
    if "items" in node:
        children.append((f"{where}/items", node["items"], depth + 1))
    for key in ("anyOf", "allOf", "oneOf", "$defs"):
        value = node.get(key)
        entries = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        children += [(f"{where}/{key}/{n}", sub, depth) for n, sub in entries]
    for path, child, level in children:
        _check(child, path, level, root, problems, totals)


def to_strict(kind, result) -> dict:
    """A valid real result in its strict form: absent optional properties null, sweep configs JSON strings."""
    return _convert(load_schema(_real_name(kind)), _real_name(kind), result, strict=True)


def from_strict(kind, document):
    """The real form of a strict document; never raises, and leaves what it cannot convert as it is."""
    return _convert(load_schema(_real_name(kind)), _real_name(kind), document, strict=False)


def _convert(node, base, value, strict):
    node, base = _deref(node, base)
    properties = node.get("properties")
    if isinstance(value, dict) and isinstance(properties, dict):
        required = set(node.get("required", []))
        out = {}
        for key, item in value.items():
            if key not in properties:
                out[key] = item
            elif item is None and not strict and key not in required:
                continue
            elif key == SWEEP_CONFIG and strict:
                out[key] = json.dumps(item, sort_keys=True) if isinstance(item, dict) else item
            elif key == SWEEP_CONFIG:
                out[key] = _decode(item)
            else:
                out[key] = _convert(properties[key], base, item, strict)
        if strict:
            out.update({key: None for key in properties if key not in value and key not in required})
        return out
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_convert(node["items"], base, item, strict) for item in value]
    return value


def _decode(text):
    # parse_json also rejects NaN and duplicate keys (ValueError: an integer past Python's digit limit);
    # a string it rejects stays a string for the real schema to report at its path.
    try:
        parsed, issues = parse_json(text, SWEEP_CONFIG) if isinstance(text, str) else (None, [])
    except ValueError:
        return text
    return parsed if isinstance(parsed, dict) and not issues else text


def write_strict_schemas(write: bool) -> list:
    """Relative paths of the strict schema files that are missing or stale; rewritten when write is True."""
    stale = []
    for kind in STRICT_KINDS:
        path = strict_path(kind)
        text = json.dumps(strict_schema(kind), indent=2, sort_keys=False) + "\n"
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            stale.append(path.relative_to(SKILL_ROOT).as_posix())
            if write:
                write_text_atomic(path, text)
    return stale
