"""A fast yes/no validator compiled from the contract's JSON Schemas, for documents the driver wrote.

`compile_validator(kind)` turns references/schemas/<kind>.schema.json, once per kind, into a function
document -> bool: each schema node becomes a Python closure. Its verdict is the one
schemas.validator(kind) gives (jsonschema's Draft202012Validator with our registry and a FormatChecker);
tests/test_fast_schema.py holds it to that on every fixture and a generated corpus. It only says yes
or no: on "no" the caller asks jsonschema for the issues. It imports nothing outside the stdlib, so a
step that only checks its own writes never imports jsonschema. A schema using a keyword it does not
implement gives None: validate that kind with jsonschema.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache

from .paths import SCHEMA_DIR, SCHEMA_SUFFIX
from .schema_values import (NUMBER_KEYWORDS, STRING_KEYWORDS, UnsupportedSchema, accept, all_unique, compile_regex,
                            const_check, enum_check, number_check, python_pattern, reject, string_check, type_check)

ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"})
OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties", "patternProperties", "propertyNames",
                             "minProperties", "maxProperties"})
ARRAY_KEYWORDS = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
SUPPORTED_KEYWORDS = (OBJECT_KEYWORDS | ARRAY_KEYWORDS | STRING_KEYWORDS | NUMBER_KEYWORDS
                      | {"type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"})

@lru_cache(maxsize=None)
def compile_validator(kind):
    """document -> bool for the kind's schema (e.g. 'state'), or None when only jsonschema can judge it."""
    try:
        return build_validator(kind)
    except UnsupportedSchema:
        return None


def build_validator(kind):
    """compile_validator without the cache; raises UnsupportedSchema naming the keyword and its file."""
    root = _Compiler(kind).node(_schema_file(kind), kind, ())

    def is_valid(document) -> bool:
        try:
            return root(document)
        except Exception:  # noqa: BLE001 - e.g. a non-string key under patternProperties, where
            return False   # jsonschema raises too; False only sends the document to jsonschema
    return is_valid


@lru_cache(maxsize=None)
def _schema_file(name):
    try:
        with open(SCHEMA_DIR / (name + SCHEMA_SUFFIX), encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise UnsupportedSchema(f"no schema file for {name!r}") from exc


def _resolve(ref, base):
    """(file, fragment, target node, the nodes on the way) of a $ref met in file `base`."""
    if not isinstance(ref, str):
        raise UnsupportedSchema(f"{base}: $ref must be a string")
    target_file, _, fragment = ref.partition("#")
    if (target_file and not target_file.endswith(SCHEMA_SUFFIX)) or "/" in target_file:
        raise UnsupportedSchema(f"{base}: $ref {ref!r} is not a schema file of this directory")
    name = target_file[: -len(SCHEMA_SUFFIX)] if target_file else base
    target, ancestors = _schema_file(name), []
    for part in [part for part in fragment.split("/") if part]:
        if not isinstance(target, dict) or part not in target:
            raise UnsupportedSchema(f"{base}: $ref {ref!r} points nowhere")
        ancestors.append(target)
        target = target[part]
    return name, fragment, target, ancestors


def _as_written(pattern):
    return pattern


class _Compiler:
    """Compiles one kind as schemas.validator(kind) sees it. schemas.compiled_schema inlines every $ref
    that does not recur, converting its patterns with python_pattern; a recurring $ref is left to
    jsonschema's registry, which holds each file as written (patterns unconverted), except the kind's
    own file, replaced there by the validator's inlined root. So a node is compiled in one of two
    views: `stack` is the inliner's chain of expanded refs, or None for the registry's view."""

    def __init__(self, kind):
        self.kind = kind
        self.targets = {}  # (file, fragment, stack) -> [closure], filled once compiled; recursion waits for it
        self.direct_refs = {}  # (file, fragment) -> the (file, fragment) of every $ref in its subtree

    def node(self, schema, base, stack):
        if schema is True or schema is False:
            return accept if schema else reject
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"{base}: a schema must be an object or a boolean, not {schema!r:.60}")
        unknown = schema.keys() - SUPPORTED_KEYWORDS - ANNOTATIONS
        if unknown:
            raise UnsupportedSchema(f"{base}: unsupported keyword(s) {', '.join(sorted(unknown))}")
        if "$id" in schema and schema is not _schema_file(base):  # it would change what its $refs resolve to
            raise UnsupportedSchema(f"{base}: a $id below the root")
        for keyword in ("allOf", "anyOf", "oneOf"):
            if not isinstance(schema.get(keyword, []), list):
                raise UnsupportedSchema(f"{base}: {keyword} must be a list")

        def sub(child):
            return self.node(child, base, stack)
        # The inliner converts the patterns of the nodes it copies, except of a node holding a $ref.
        convert = python_pattern if stack is not None and "$ref" not in schema else _as_written
        types = schema.get("type")
        # A check of one instance type (None: no keyword for it) also does the work of a "type"
        # keyword naming that type alone.
        by_type = {"object": self.object_check(schema, sub, convert, types == "object"),
                   "array": _array_check(schema, sub, types == "array"),
                   "string": string_check(schema, convert, types == "string", base),
                   "number": number_check(schema, types == "number")}
        merged = isinstance(types, str) and by_type.get(types) is not None
        checks = [] if types is None or merged else [type_check(types, base)]
        if "const" in schema:
            checks.append(const_check(schema["const"]))
        if "enum" in schema:
            checks.append(enum_check(schema["enum"], base))
        checks += [check for check in by_type.values() if check is not None]
        checks += [sub(child) for child in schema.get("allOf", ())]
        if "anyOf" in schema:
            branches = tuple(sub(child) for child in schema["anyOf"])
            checks.append(lambda value: any(branch(value) for branch in branches))
        if "oneOf" in schema:
            checks.append(_exactly_one(tuple(sub(child) for child in schema["oneOf"])))
        if "not" in schema:
            negated = sub(schema["not"])
            checks.append(lambda value: not negated(value))
        if "if" in schema and ("then" in schema or "else" in schema):  # either alone does nothing in jsonschema too
            condition = sub(schema["if"])
            then, otherwise = sub(schema.get("then", True)), sub(schema.get("else", True))
            checks.append(lambda value: then(value) if condition(value) else otherwise(value))
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"], base, stack))
        return _all_of(checks)

    def ref(self, ref, base, stack):
        """A '#/...' pointer into this file or 'name.schema.json#/...' into another, as the inliner reads it."""
        name, fragment, target, ancestors = _resolve(ref, base)
        if stack is not None and (name, fragment) not in stack:
            # Only a target that can reach itself can be met again on the stack; keeping just those
            # lets every other target compile once rather than once per chain of refs leading to it.
            grown = stack + ((name, fragment),) if self.recurs(name, fragment) else stack
            return self.target(name, fragment, target, grown)
        if name != self.kind:
            return self.target(name, fragment, target, None)
        # The kind's own file is the inlined root, which has this node at the same place, inlined with
        # an empty stack, when nothing on the way was rewritten (a $ref node or a converted key).
        rewritten = [node for node in ancestors if isinstance(node, dict) and "$ref" in node]
        if rewritten or "patternProperties" in fragment.split("/"):
            raise UnsupportedSchema(f"{base}: $ref {ref!r} passes through a node the inliner rewrites")
        return self.target(name, fragment, target, ())

    def recurs(self, name, fragment):
        """Whether the target's $refs lead back to it (counting every $ref in its subtree: at worst a
        target counted recursive that is not, which only compiles it more often)."""
        start, seen, todo = (name, fragment), set(), [(name, fragment)]
        while todo:
            for found in self.refs_in(*todo.pop()):
                if found == start:
                    return True
                if found not in seen:
                    seen.add(found)
                    todo.append(found)
        return False

    def refs_in(self, name, fragment):
        if (name, fragment) not in self.direct_refs:
            found, nodes = set(), [_resolve("#" + fragment, name)[2]]
            while nodes:
                node = nodes.pop()
                if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                    found.add(_resolve(node["$ref"], name)[:2])
                nodes += node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
            self.direct_refs[(name, fragment)] = found
        return self.direct_refs[(name, fragment)]

    def target(self, name, fragment, schema, stack):
        key = (name, fragment, stack)
        cell = self.targets.get(key)
        if cell is None:
            cell = self.targets[key] = []
            cell.append(self.node(schema, name, stack))
        if cell:
            return cell[0]
        return lambda value: cell[0](value)  # a ref back into a node still being compiled

    def object_check(self, schema, sub, convert, typed):
        if not OBJECT_KEYWORDS & schema.keys():
            return None
        properties = {name: sub(child) for name, child in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        low, high = schema.get("minProperties", 0), schema.get("maxProperties", math.inf)
        rest = sub(schema["additionalProperties"]) if "additionalProperties" in schema else None
        patterns = [convert(p) for p in schema.get("patternProperties", {})]
        by_pattern = tuple((compile_regex(p, self.kind).search, sub(child))
                           for p, child in zip(patterns, schema.get("patternProperties", {}).values()))
        names = sub(schema["propertyNames"]) if "propertyNames" in schema else None
        # jsonschema finds the keys additionalProperties judges with one regex: the patterns joined by |.
        joined = "|".join(patterns)
        covered = compile_regex(joined, self.kind).search if joined else None

        def check(value):
            if not isinstance(value, dict):
                return not typed
            if not low <= len(value) <= high:
                return False
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                judge = properties.get(key, rest)
                if judge is not None and not judge(item):
                    return False
            return True

        def check_with_key_patterns(value):
            if not isinstance(value, dict):
                return not typed
            if not low <= len(value) <= high or any(key not in value for key in required):
                return False
            for key, item in value.items():
                judge = properties.get(key)
                if judge is None and rest is not None and (covered is None or not covered(key)):
                    judge = rest
                if judge is not None and not judge(item) or names is not None and not names(key):
                    return False
                if any(matches(key) and not judge_match(item) for matches, judge_match in by_pattern):
                    return False
            return True
        return check if not by_pattern and names is None else check_with_key_patterns


def _all_of(checks):
    checks = tuple(check for check in checks if check is not accept)
    if not checks:
        return accept
    if len(checks) == 1:
        return checks[0]

    def all_hold(value):
        for check in checks:
            if not check(value):
                return False
        return True
    return all_hold


def _exactly_one(branches):
    def one_holds(value):
        found = False
        for branch in branches:
            if branch(value):
                if found:
                    return False
                found = True
        return found
    return one_holds


def _array_check(schema, sub, typed):
    if not ARRAY_KEYWORDS & schema.keys():
        return None
    items = sub(schema["items"]) if "items" in schema else accept
    low, high = schema.get("minItems", 0), schema.get("maxItems", math.inf)
    unique = schema.get("uniqueItems", False)

    def check(value):
        if not isinstance(value, list):
            return not typed
        if not low <= len(value) <= high or unique and not all_unique(value):
            return False
        for item in value:
            if not items(item):
                return False
        return True
    return check
