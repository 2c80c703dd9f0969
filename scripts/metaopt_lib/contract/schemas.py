"""Load every contract schema once and turn jsonschema errors into clear Issues."""
from __future__ import annotations

import json
import re
from functools import lru_cache

from .issues import Issue
from .paths import SCHEMA_DIR, SCHEMA_SUFFIX
from .schema_values import python_pattern

MAX_SCHEMA_ISSUES = 200


def schema_names() -> list:
    """Names of every contract schema, e.g. 'campaign' for campaign.schema.json."""
    return sorted(p.name[: -len(SCHEMA_SUFFIX)] for p in SCHEMA_DIR.glob("*" + SCHEMA_SUFFIX))


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    with open(SCHEMA_DIR / (name + SCHEMA_SUFFIX), encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=None)
def registry():
    from referencing import Registry, Resource  # jsonschema's; imported only when something is validated

    resources = [(load_schema(n)["$id"], Resource.from_contents(load_schema(n))) for n in schema_names()]
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(name: str):
    """jsonschema's validator of a contract (imported here: a step that validates nothing never loads it)."""
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(compiled_schema(name), registry=registry(), format_checker=FormatChecker())


@lru_cache(maxsize=None)
def compiled_schema(name: str) -> dict:
    """The schema with every non-recursive $ref replaced by its target.

    Resolving references dominates validation time on a large state; inlining them once keeps a
    1,000-iteration state cheap to validate. Recursive references stay, made absolute."""
    return _inline(load_schema(name), name, ())


def _resolve_ref(base, ref):
    target, _, fragment = ref.partition("#")
    name = target[: -len(SCHEMA_SUFFIX)] if target else base
    node = load_schema(name)
    for part in [p for p in fragment.split("/") if p]:
        node = node[part]
    return name, fragment, node


def _inline(node, base, stack):
    if isinstance(node, list):
        return [_inline(item, base, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name, fragment, target = _resolve_ref(base, node["$ref"])
        rest = {k: _inline(v, base, stack) for k, v in node.items() if k != "$ref"}
        if (name, fragment) in stack:
            resolved = {"$ref": load_schema(name)["$id"] + "#" + fragment}
        else:
            resolved = _inline({k: v for k, v in target.items() if k not in ("$id", "$schema")}, name,
                               stack + ((name, fragment),))
        return {**rest, "allOf": rest.get("allOf", []) + [resolved]} if rest else resolved
    compiled = {k: _inline(v, base, stack) for k, v in node.items()}
    if isinstance(compiled.get("pattern"), str):
        compiled["pattern"] = python_pattern(compiled["pattern"])
    if isinstance(compiled.get("patternProperties"), dict):
        compiled["patternProperties"] = {python_pattern(k): v for k, v in compiled["patternProperties"].items()}
    return compiled


def schema_issues(name: str, document, label: str) -> list:
    """Every schema violation of document as Issues (unsorted), at most MAX_SCHEMA_ISSUES of them. The
    fast validator (fast_schema.py, the same verdict) answers first; jsonschema is asked, for the issues,
    only about a document it refuses."""
    from .fast_schema import compile_validator

    check = compile_validator(name)
    if check is not None and check(document):
        return []
    out = []
    for error in validator(name).iter_errors(document):
        out.extend(_translate(error, label))
        if len(out) >= MAX_SCHEMA_ISSUES:  # a document this wrong is the wrong file; more would only cost time
            break
    return out


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# Abbreviations whose dot does not end a sentence.
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)\.\s")
# Names from the retired v3 design; suggesting a near-miss for them would mislead.
RETIRED_NAMES = ("hetzner", "ray-hetzner", "design-worker", "materialization", "diagnosis", "rollover")


def _first_sentence(schema) -> str:
    text = schema.get("description", "") if isinstance(schema, dict) else ""
    return _SENTENCE_END.split(text, maxsplit=1)[0].rstrip(".")[:200]


def _did_you_mean(word, choices) -> str:
    if any(name in str(word) for name in RETIRED_NAMES):
        return f"'{word}' belongs to the retired v3 design and is not built"
    import difflib  # only a document with a problem gets a suggestion

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _a(noun) -> str:
    return ("an " if str(noun)[:1] in "aeiou" else "a ") + str(noun)


def _plural(count, unit) -> str:
    return f"{count} {unit}" if count != 1 else f"{count} {unit[:-1] if unit.endswith('s') else unit}"


def _in_condition(error) -> bool:
    return any(step in ("then", "else") for step in error.absolute_schema_path)


def _branch_errors(error):
    """For oneOf/anyOf: the errors of the branch the instance was meant for, or None."""
    branches = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    deeper = [errs for errs in branches.values()
              if not any(not e.relative_path and e.validator in ("type", "const", "enum") for e in errs)]
    if len(deeper) == 1:
        return deeper[0]
    return None


def _describe_branch(schema) -> str:
    if not isinstance(schema, dict):
        return "a value"
    if "required" in schema:
        return "keys " + " and ".join(schema["required"])
    if "type" in schema:
        return str(schema["type"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    return "a matching value"


def _translate(error, label):
    if "propertyNames" in error.absolute_schema_path:
        parts = tuple(error.absolute_path) + (str(error.instance),)
        return [Issue(label, parts, "schema.bad_key_name", f"key {_short(error.instance)} is not allowed here",
                      f"a name matching {error.validator_value}" if error.validator == "pattern" else "a valid name",
                      "rename the key")]
    parts = tuple(error.absolute_path)
    kw = error.validator
    value = error.validator_value
    inst = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    if kw in ("oneOf", "anyOf") and error.context:
        branch = _branch_errors(error)
        if branch is not None:
            return [issue for sub in branch for issue in _translate(sub, label)]
        shapes = " or ".join(_describe_branch(b) for b in value)
        return [Issue(label, parts, "schema.no_matching_shape", f"{_short(inst)} matches none of the allowed shapes",
                      _first_sentence(schema) or shapes, f"use {shapes}")]
    if kw == "required":
        props = schema.get("properties", {})
        return [Issue(label, parts + (key,), "schema.missing_key", f"required key '{key}' is missing",
                      _first_sentence(props.get(key, {})) or f"an entry named '{key}'", f"add '{key}'")
                for key in value if isinstance(inst, dict) and key not in inst]
    if kw == "additionalProperties" and value is False and isinstance(inst, dict):
        allowed = list(schema.get("properties", {}))
        patterns = schema.get("patternProperties", {})
        out = []
        for key in inst:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            hint = _did_you_mean(key, allowed)
            out.append(Issue(label, parts + (key,), "schema.unknown_key", f"unknown key '{key}'",
                             "one of: " + ", ".join(allowed) if allowed else "no other keys",
                             f"{hint} Rename or remove it" if hint else "remove it"))
        return out
    if kw == "type":
        wanted = value if isinstance(value, str) else " or ".join(value)
        got = "null" if inst is None else f"{_json_type(inst)} {_short(inst)}"
        expected = _first_sentence(schema) if _in_condition(error) and schema.get("description") else wanted
        return [Issue(label, parts, "schema.wrong_type", f"got {got}", expected, f"write {_a(wanted)} here")]
    if kw in ("enum", "const"):
        choices = value if kw == "enum" else [value]
        hint = _did_you_mean(inst, choices) if isinstance(inst, str) else ""
        expected = "one of " + ", ".join(_short(c) for c in choices) if kw == "enum" else _short(value)
        if _in_condition(error) and schema.get("description"):
            expected = _first_sentence(schema)
        return [Issue(label, parts, "schema.not_allowed", f"{_short(inst)} is not allowed", expected,
                      hint or "use an allowed value")]
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kw]
        return [Issue(label, parts, "schema.out_of_range", f"{_short(inst)} is out of range",
                      f"a value {op} {value}", f"use a value {op} {value}")]
    if kw == "minLength" and inst == "":
        return [Issue(label, parts, "schema.empty_string", "empty string", "a non-empty string",
                      "fill in the value or remove the key if it is optional")]
    if kw in ("minLength", "maxLength"):
        op = "at least" if kw == "minLength" else "at most"
        return [Issue(label, parts, "schema.bad_length", f"string of length {len(inst)}",
                      f"{op} {value} characters", f"use {op} {value} characters")]
    if kw in ("pattern", "format"):
        what = _first_sentence(schema) or f"the format {value}"
        examples = schema.get("examples")
        fix = "rewrite the value in the expected format" + (f", e.g. {_short(examples[0])}" if examples else "")
        return [Issue(label, parts, "schema.bad_format", f"{_short(inst)} has the wrong format", what, fix)]
    if kw in ("minItems", "maxItems", "minProperties", "maxProperties"):
        op = "at least" if kw.startswith("min") else "at most"
        unit = "items" if kw.endswith("Items") else "entries"
        return [Issue(label, parts, "schema.bad_count", f"has {_plural(len(inst), unit)}",
                      f"{op} {_plural(value, unit)}", f"use {op} {_plural(value, unit)}")]
    if kw == "not":
        return [Issue(label, parts, "schema.forbidden", f"{_short(inst)} is not allowed in this combination",
                      _first_sentence(schema) or "the documented shape", "remove or change the conflicting value")]
    return [Issue(label, parts, "schema." + kw, error.message[:200], _first_sentence(schema) or "a valid value",
                  "see references/contracts.md")]
