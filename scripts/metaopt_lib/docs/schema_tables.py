"""Render a contract schema as a Markdown field table (field, type, required, default, rules, meaning)."""
from __future__ import annotations

import json

from ..contract import schemas

MAX_DEPTH = 4


def field_table(schema_name: str, pointer: str | None = None) -> str:
    """Field table for a schema, or for one of its $defs when pointer is '#/$defs/name'."""
    root = schemas.load_schema(schema_name)
    node = _resolve(schema_name, pointer)[1] if pointer else root
    rows = []
    _rows(schema_name, node, "", rows, 0)
    lines = ["| field | type | required | default | rules | meaning |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _resolve(schema_name, ref):
    """(schema file name, node) for a $ref relative to schema_name."""
    target, _, fragment = ref.partition("#")
    name = target[: -len(".schema.json")] if target else schema_name
    node = schemas.load_schema(name)
    for part in [p for p in fragment.split("/") if p]:
        node = node[part]
    return name, node


def _unwrap(schema_name, node):
    """Follow $ref and nullable oneOf wrappers; returns (schema name, node, nullable, ref label)."""
    nullable, label = False, ""
    for _ in range(5):
        if "$ref" in node and set(node) <= {"$ref", "description", "default"}:
            label = node["$ref"].rsplit("/", 1)[-1].replace(".schema.json", "")
            schema_name, target = _resolve(schema_name, node["$ref"])
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        branches = node.get("oneOf") or node.get("anyOf")
        if branches and any(b == {"type": "null"} for b in branches):
            rest = [b for b in branches if b != {"type": "null"}]
            if len(rest) == 1:
                nullable = True
                desc = node.get("description")
                node = {**rest[0], **({"description": desc} if desc else {})}
                continue
        break
    return schema_name, node, nullable, label


def _type_of(node, label) -> str:
    if "const" in node:
        return "const " + json.dumps(node["const"])
    if "enum" in node:
        return "enum"
    kind = node.get("type")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if not kind and "allOf" in node:
        return "object (" + label + ")" if label else "object"
    if label and label not in ("name", "text", "oneLine", "usd", "iteration", "seq", "metricValue"):
        return f"{kind or 'value'} ({label})"
    return kind or "any"


def _rules(node) -> str:
    parts = []
    if "enum" in node:
        parts.append("one of " + ", ".join(json.dumps(v) for v in node["enum"]))
    for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in node:
            parts.append(f"{op} {node[key]:g}" if isinstance(node[key], float) else f"{op} {node[key]}")
    for key, word in (("minLength", "min length"), ("maxLength", "max length"), ("minItems", "min items"),
                      ("maxItems", "max items")):
        if key in node:
            parts.append(f"{word} {node[key]}")
    if "pattern" in node:
        parts.append("pattern `" + node["pattern"] + "`")
    return "; ".join(parts)


def _rows(schema_name, node, prefix, rows, depth):
    required = set(node.get("required", []))
    for key, sub in node.get("properties", {}).items():
        name, resolved, nullable, label = _unwrap(schema_name, sub)
        path = prefix + key
        kind = _type_of(resolved, label) + (" or null" if nullable else "")
        default = json.dumps(sub["default"]) if "default" in sub else ""
        rows.append((f"`{path}`", kind, "yes" if key in required else "no", default, _rules(resolved),
                     resolved.get("description", sub.get("description", ""))))
        if depth >= MAX_DEPTH or label.startswith("sweep-config") or label.endswith("-task"):
            continue
        if "properties" in resolved:
            _rows(name, resolved, path + ".", rows, depth + 1)
        items = resolved.get("items")
        if isinstance(items, dict):
            iname, inode, _, ilabel = _unwrap(name, items)
            if "properties" in inode and not ilabel.startswith("sweep-config"):
                _rows(iname, inode, path + "[].", rows, depth + 1)
