"""Seed documents of every schema kind, for tests/test_fast_schema.py: the fixtures and the repository's
own documents, parsed as the readers parse them, plus documents sampled from each schema (every kind,
fixtures or not: one oneOf/anyOf branch chosen at random, conditionals followed, strings taken from a
pool of real ones that fit the pattern). tests/schema_mutations.py turns them into a corpus.
"""
from __future__ import annotations

import copy
import re

import support  # noqa: F401  (puts scripts/ on sys.path)
from jsonschema import Draft202012Validator

from metaopt_lib.contract import schemas
from metaopt_lib.contract.loaders import load_document
from metaopt_lib.contract.schema_values import is_date_time

EXAMPLES = {"campaign": ["examples/ml_metaopt_campaign.yaml", "examples/ml_metaopt_campaign.local.yaml",
                         "examples/quickstart/ml_metaopt_campaign.yaml"],
            "worker-registry": ["agents/workers.yaml"]}
# Strings no fixture holds that some pattern needs.
EXTRA_STRINGS = ["lr", "batch_size", "a.b-c", "gpu:1", "A100:8", "/a/b", "/0/x~1y", "scripts/metaopt.py",
                 ".github/agents/metaopt-ideation-worker.agent.md", "references/schemas/state.schema.json",
                 ".ml-metaopt/results/iter-1/task-1.json", ".ml-metaopt/reports/final.md", "my-proj", "proj-",
                 "sha256:" + "ab" * 32, "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.5+00:00", "src/train.py",
                 "camp-iter-3-noise", "x", "snake_case", "Ab9.:[x]-", "a" * 100]


def fixture_documents(kind) -> list:
    """(label, document) of every fixture and repository example of the kind that parses."""
    found = []
    paths = [support.FIXTURES / kind / name for name in support.listed_fixture_files(kind)]
    for path in paths + [support.ROOT / name for name in EXAMPLES.get(kind, [])]:
        document, _ = load_document(path, str(path), "yaml" if path.suffix in (".yaml", ".yml") else "json")
        if document is not None:
            found.append((str(path.relative_to(support.ROOT)), document))
    return found


def strings_of(value, out):
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            strings_of(key, out)
            strings_of(item, out)
    elif isinstance(value, list):
        for item in value:
            strings_of(item, out)
    return out


def string_pool() -> list:
    pool = set(EXTRA_STRINGS)
    for kind in support.fixture_kinds():
        for _, document in fixture_documents(kind):
            strings_of(document, pool)
    for name in schemas.schema_names():
        strings_of(schemas.load_schema(name).get("$defs", {}), pool)
    return sorted(s for s in pool if len(s) <= 400)


def resolve(ref, base):
    target, _, fragment = ref.partition("#")
    name = target[: -len(schemas.SCHEMA_SUFFIX)] if target else base
    node = schemas.load_schema(name)
    for part in [p for p in fragment.split("/") if p]:
        node = node[part]
    return node, name


class Sampler:
    """Builds a document that tries to satisfy a schema; most come out valid, the rest nearly so."""

    def __init__(self, rng, strings):
        self.rng, self.strings, self.by_pattern = rng, strings, {}
        self.validators = {}

    def sample(self, kind):
        return self.value([(schemas.load_schema(kind), kind)], 0)

    def merged(self, pairs):
        """One dict for all of `pairs` ((schema, base file)): $ref targets, allOf members and one chosen
        oneOf/anyOf branch folded in; subschema keywords hold lists of pairs."""
        out = {"properties": {}, "required": set(), "conditions": [], "items": [], "additional": [],
               "names": []}
        work = list(pairs)
        while work:
            schema, base = work.pop(0)
            if not isinstance(schema, dict):  # true, or false (nothing satisfies it)
                continue
            if "$ref" in schema:
                work.append(resolve(schema["$ref"], base))
            work += [(each, base) for each in schema.get("allOf", [])]
            for key in ("oneOf", "anyOf"):
                if key in schema:
                    work.append((self.rng.choice(schema[key]), base))
            for name, sub in schema.get("properties", {}).items():
                out["properties"].setdefault(name, []).append((sub, base))
            for pattern, sub in schema.get("patternProperties", {}).items():
                out["additional"].append((sub, base))
                out["names"].append(({"pattern": pattern}, base))
            out["required"] |= set(schema.get("required", []))
            if "if" in schema:
                out["conditions"].append((base, schema["if"], schema.get("then"), schema.get("else")))
            for key, slot in (("items", "items"), ("additionalProperties", "additional"), ("propertyNames", "names")):
                if key in schema:
                    out[slot].append((schema[key], base))
            for key, value in schema.items():
                if key not in out and key not in ("$ref", "allOf", "oneOf", "anyOf", "if", "then", "else"):
                    out[key] = value
        return out

    def value(self, pairs, depth):
        node = self.merged(pairs)
        if "const" in node:
            return copy.deepcopy(node["const"])
        if "enum" in node:
            return copy.deepcopy(self.rng.choice(node["enum"]))
        kind = node.get("type")
        if isinstance(kind, list):
            kind = self.rng.choice([t for t in kind if t != "null"] or kind) if self.rng.random() < 0.85 else kind[-1]
        if kind is None:
            kind = ("object" if node["properties"] else "array" if node["items"] else
                    self.rng.choice(["string", "number", "integer", "boolean", "array", "null"]))
        return getattr(self, "make_" + kind)(node, depth)

    def make_object(self, node, depth):
        optional = 0.6 if depth < 4 else 0.15
        properties, additional = node["properties"], [pair for pair in node["additional"] if pair[0] is not False]
        keys = [k for k in properties if k in node["required"] or self.rng.random() < optional]
        keys += sorted(node["required"] - properties.keys())
        spare = [k for k in properties if k not in keys]
        self.rng.shuffle(spare)
        keys += spare[:max(0, node.get("minProperties", 0) - len(keys))]
        document = {key: self.value(properties.get(key, additional), depth + 1) for key in keys}
        if not properties and additional:
            low = max(1, node.get("minProperties", 1))
            for _ in range(self.rng.randint(low, 3 if depth < 6 else low)):
                name = self.value(node["names"], depth + 1) if node["names"] else self.rng.choice(self.strings)
                document[name if isinstance(name, str) else "name"] = self.value(additional, depth + 1)
        for base, condition, then, otherwise in node["conditions"]:
            branch = then if self.holds(condition, base, document) else otherwise
            if isinstance(branch, dict):
                extra = self.merged([(branch, base)])
                for key in sorted(extra["required"] | (extra["properties"].keys() & document.keys())):
                    wanted = properties.get(key, []) + extra["properties"].get(key, [])
                    for _ in range(5):  # a oneOf of the key's own schema may have picked a branch `then` excludes
                        document[key] = self.value(wanted, depth + 1)
                        if all(self.holds(sub, where, document[key]) for sub, where in wanted):
                            break
        return document

    def holds(self, schema, base, value):
        if base not in self.validators:
            self.validators[base] = Draft202012Validator(schemas.load_schema(base), registry=schemas.registry())
        return self.validators[base].evolve(schema=schema).is_valid(value)

    def make_array(self, node, depth):
        low = node.get("minItems", 0)
        count = self.rng.randint(low, min(node.get("maxItems", low + 3), low + (3 if depth < 4 else 1)))
        items = [self.value(node["items"], depth + 1) if node["items"] else self.rng.random() for _ in range(count)]
        if node.get("uniqueItems"):
            unique = []
            for item in items:
                if item not in unique:
                    unique.append(item)
            items = unique
        return items

    def string(self, node, depth):
        pattern = node.get("pattern")
        low, high = node.get("minLength", 0), node.get("maxLength", 10 ** 6)
        key = (pattern, low, high)
        if key not in self.by_pattern:
            search = re.compile(schemas.python_pattern(pattern)).search if pattern else (lambda s: True)
            fits = [s for s in self.strings if low <= len(s) <= high and search(s)]
            self.by_pattern[key] = [s for s in fits if node.get("format") != "date-time" or is_date_time(s)]
        fits = self.by_pattern[key]
        return self.rng.choice(fits) if fits else "x" * max(low, 1)

    def make_string(self, node, depth):
        return self.string(node, depth)

    def make_number(self, node, depth, integer=False):
        low = node.get("minimum", node.get("exclusiveMinimum", -1000))
        high = node.get("maximum", low + 1000)
        low, high = max(low, -1e6), min(high, max(low, -1e6) + 1e6)
        if integer:
            return self.rng.randint(int(low) + (1 if "exclusiveMinimum" in node else 0), int(high))
        value = self.rng.uniform(low, high)
        return value if value != node.get("exclusiveMinimum") else high

    def make_integer(self, node, depth):
        return self.make_number(node, depth, integer=True)

    def make_boolean(self, node, depth):
        return self.rng.random() < 0.5

    def make_null(self, node, depth):
        return None
