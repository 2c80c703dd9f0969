"""The fast validator (contract/fast_schema.py) gives jsonschema's verdict, and imports no jsonschema.

The reference verdict is schemas.validator(kind) (Draft202012Validator with our registry and a
FormatChecker): valid exactly when it yields no error; where it raises, the fast validator must say
"invalid" (the caller then asks jsonschema). Compared on every fixture, on a seeded corpus of sampled
and mutated documents of every kind (tests/schema_corpus.py, tests/schema_mutations.py), and on probe
schemas that exercise keyword semantics our own schemas cannot show (two matching oneOf branches,
uniqueItems over 1 and 1.0, a lower-case date-time). A failure names the first disagreeing document.
"""
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import schema_corpus
import schema_mutations
import support

from metaopt_lib.contract import fast_schema, schemas

SEED = 15
SAMPLED_PER_KIND = 20
MUTANTS_PER_KIND = 400
STRICT_KINDS = sorted("strict/" + p.name[: -len(schemas.SCHEMA_SUFFIX)]
                      for p in (schemas.SCHEMA_DIR / "strict").glob("*" + schemas.SCHEMA_SUFFIX))


def reference_verdict(kind, document):
    try:
        return schemas.validator(kind).is_valid(document)
    except Exception as exc:  # noqa: BLE001 - a raise is a verdict too: the fast validator must say "invalid"
        return f"raises {type(exc).__name__}"


def first_disagreement(kind, documents):
    """A message naming the first (label, document) on which the two validators differ, or None."""
    fast = fast_schema.compile_validator(kind)
    for label, document in documents:
        expected, got = reference_verdict(kind, document), fast(document)
        if got != (expected is True):
            errors = [] if expected is not False else list(schemas.validator(kind).iter_errors(document))[:3]
            text = json.dumps(document, default=repr, ensure_ascii=False)
            return (f"kind {kind}, document {label}: jsonschema says {expected}, fast_schema says {got}\n"
                    + "".join(f"  jsonschema: {e.json_path}: {e.message[:200]}\n" for e in errors) + text[:3000])
    return None


def corpus(kind, strings):
    """The kind's seeds (fixtures, examples, sampled documents) and seeded mutants of them."""
    rng = random.Random(f"{SEED}-{kind}")
    sampler = schema_corpus.Sampler(rng, strings)
    seeds = schema_corpus.fixture_documents(kind)
    seeds += [(f"sampled #{index}", sampler.sample(kind)) for index in range(SAMPLED_PER_KIND)]
    mutator = schema_mutations.Mutator(rng, kind, strings)
    donors = [document for _, document in seeds]
    documents = list(seeds)
    for _ in range(MUTANTS_PER_KIND):
        label, seed = rng.choice(seeds)
        mutant, what = mutator.mutant(seed, donors)
        documents.append((f"{label} after {what}", mutant))
    return documents


class Agreement(unittest.TestCase):
    def assert_agree(self, kind, documents):
        message = first_disagreement(kind, documents)
        if message:
            self.fail(message)


class EveryKindCompiles(unittest.TestCase):
    def test_every_schema_compiles_with_no_unsupported_keyword(self):
        for kind in schemas.schema_names() + STRICT_KINDS:
            with self.subTest(kind=kind):
                fast_schema.build_validator(kind)  # raises UnsupportedSchema naming the keyword
                self.assertIsNotNone(fast_schema.compile_validator(kind))

    def test_importing_and_validating_a_state_imports_no_jsonschema(self):
        state = support.FIXTURES / "state" / "valid" / "wait-for-sweep.json"
        code = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
                "from metaopt_lib.contract import fast_schema; "
                "document = json.load(open(sys.argv[2])); "
                "print(fast_schema.compile_validator('state')(document), 'jsonschema' in sys.modules)")
        done = subprocess.run([sys.executable, "-c", code, str(support.SCRIPTS), str(state)], capture_output=True,
                              text=True, check=True)
        self.assertEqual(done.stdout.split(), ["True", "False"], done.stderr)


class VerdictsAgree(Agreement):
    def test_every_fixture(self):
        for kind in support.fixture_kinds():
            for label, document in schema_corpus.fixture_documents(kind):
                with self.subTest(fixture=label):
                    self.assert_agree(kind, [(label, document)])

    def test_a_generated_corpus_of_every_kind(self):
        strings = schema_corpus.string_pool()
        for kind in schemas.schema_names():
            with self.subTest(kind=kind):
                self.assert_agree(kind, corpus(kind, strings))


DRAFT = "https://json-schema.org/draft/2020-12/schema"
OTHER = {
    "$schema": DRAFT,
    "$id": "https://ml-metaoptimization.invalid/schemas/other.schema.json",
    "$defs": {"exact": {"type": "string", "pattern": "^ok$"}, "text": {"type": "string"},
              "names": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"},
                        "additionalProperties": {"$ref": "#/$defs/names"}}},
}
PROBE = {
    "$schema": DRAFT,
    "$id": "https://ml-metaoptimization.invalid/schemas/probe.schema.json",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "one_of": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        "unique": {"type": "array", "uniqueItems": True},
        "const_true": {"const": True},
        "const_one": {"const": 1},
        "const_tree": {"const": {"a": [1, True]}},
        "enum": {"enum": [1, "1", None, [1], {"a": 1}]},
        "when": {"format": "date-time"},
        "int": {"type": "integer", "minimum": 0, "exclusiveMinimum": -1, "maximum": 10},
        "num": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1},
        "text": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[a-zé😀]+$"},
        "map": {"type": "object", "patternProperties": {"^x-": {"type": "integer"}, "^x-y": {"minimum": 5}},
                "additionalProperties": {"type": "string"}, "propertyNames": {"maxLength": 5},
                "minProperties": 1, "maxProperties": 3},
        "cond": {"if": {"required": ["kind"], "properties": {"kind": {"const": "a"}}}, "then": {"required": ["a"]},
                 "else": {"not": {"required": ["a"]}}},
        "anything": True,
        "nothing": False,
        "no_items": {"type": "array", "items": False},
        "any_of": {"anyOf": [{"type": "string", "maxLength": 1}, {"type": "array", "minItems": 2, "maxItems": 2}]},
        "all_of": {"allOf": [{"minimum": 1}, {"maximum": 2}], "not": {"const": 1.5}},
        "tree": {"$ref": "#/$defs/tree"},
        "remote": {"$ref": "other.schema.json#/$defs/exact"},
        "names": {"$ref": "other.schema.json#/$defs/names"},
        "ref_and_pattern": {"$ref": "other.schema.json#/$defs/text", "pattern": "^ok$"},
    },
    "$defs": {"tree": {"type": "object", "additionalProperties": False,
                       "properties": {"name": {"pattern": "^[a-z]+$"},
                                      "children": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}}},
}
NAN = float("nan")
PROBE_VALUES = [
    None, True, False, 0, 1, -1, 1.0, 1.5, 2, 10, 11, 10.0, 0.5, -0.0, 1e308, 10 ** 30, NAN, float("inf"),
    float("-inf"), "", "a", "ab", "abc", "abcd", "é😀", "😀😀😀😀", "ab\n", "1", "ok", "ok\n", "2026-11-22T10:00:00Z",
    "2026-11-22t10:00:00z", "2026-02-30T10:00:00Z", "2026-11-22T10:00:00Z\n", [], [1], [1.0], [True], [1, 1.0],
    [1, True], [0, False], [NAN, NAN], [float("nan"), float("nan")], [[1], [True]], [{"a": 1}, {"a": 1.0}], ["a", "a"],
    [1, "1"], {}, {"a": 1}, {"a": [1, True]}, {"a": [1.0, True]}, {"a": [1, 1]}, {"x-1": 1}, {"x-1": 1.0},
    {"x-y": 3}, {"x-y": 6}, {"other": "s"}, {"other": 1}, {"toolong": "s"}, {"a": "1", "b": "2", "c": "3", "d": "4"},
    {"kind": "a"}, {"kind": "a", "a": 1}, {"kind": "b", "a": 1}, {"kind": "b"}, {"name": "a", "children": []},
    {"name": "a", "children": [{"name": "b\n"}]}, {"children": [{"children": [{"name": "c\n"}]}]},
    {"a": {}}, {"a\n": {}}, {"a": {"b\n": {}}}, {"a": {"b": {"c\n": {}}}}, {"a": {"B": {}}},
]


@contextlib.contextmanager
def schema_dir(path):
    """Both validators read their schemas from `path` meanwhile (their caches emptied on the way in and out)."""
    caches = (schemas.load_schema, schemas.registry, schemas.validator, schemas.compiled_schema,
              fast_schema._schema_file, fast_schema.compile_validator)
    saved = schemas.SCHEMA_DIR, fast_schema.SCHEMA_DIR
    for cache in caches:
        cache.cache_clear()
    schemas.SCHEMA_DIR = fast_schema.SCHEMA_DIR = Path(path)
    try:
        yield
    finally:
        schemas.SCHEMA_DIR, fast_schema.SCHEMA_DIR = saved
        for cache in caches:
            cache.cache_clear()


class ProbeSchemas(Agreement):
    def write(self, directory, name, schema):
        Path(directory, name + schemas.SCHEMA_SUFFIX).write_text(json.dumps(schema), encoding="utf-8")

    def test_keyword_semantics_our_schemas_cannot_show(self):
        with tempfile.TemporaryDirectory() as tmp, schema_dir(tmp):
            self.write(tmp, "probe", PROBE)
            self.write(tmp, "other", OTHER)
            documents = [(f"{{{key!r}: {value!r}}}", {key: value}) for key in PROBE["properties"]
                         for value in PROBE_VALUES]
            self.assert_agree("probe", documents)

    def test_a_keyword_it_does_not_implement_is_refused_not_ignored(self):
        for schema in ({"type": "integer", "multipleOf": 2}, {"properties": {"a": {"format": "email"}}},
                       {"prefixItems": [{"type": "integer"}]}, {"$ref": "https://example.com/x.schema.json"},
                       {"properties": {"a": {"$id": "https://example.com/a", "$ref": "#/$defs/b"}}}):
            with self.subTest(schema=schema), tempfile.TemporaryDirectory() as tmp, schema_dir(tmp):
                self.write(tmp, "refused", schema)
                with self.assertRaises(fast_schema.UnsupportedSchema):
                    fast_schema.build_validator("refused")
                self.assertIsNone(fast_schema.compile_validator("refused"))


if __name__ == "__main__":
    unittest.main()


class DateTimeFormat(unittest.TestCase):
    """The fast validator's own RFC 3339 check gives rfc3339-validator's verdict (jsonschema's, with the
    package the skill requires) on every string: the formats the state writes, and their edges."""

    def test_the_check_agrees_with_rfc3339_validator(self):
        from rfc3339_validator import validate_rfc3339
        from metaopt_lib.contract.schema_values import is_date_time
        dates = ["2026-11-22", "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "0000-01-01", "0001-01-01",
                 "2026-13-01", "2026-00-10", "2026-04-31", "2026-04-30", "2026-12-32", "9999-12-31", "2026-1-01"]
        times = ["T00:00:00Z", "T23:59:59Z", "T24:00:00Z", "T12:60:00Z", "T12:00:60Z", "t12:00:00z",
                 "T12:00:00.123456Z", "T12:00:00.Z", "T12:00:00+05:30", "T12:00:00-23:59", "T12:00:00+24:00",
                 "T12:00:00+05:60", "T12:00:00", " T12:00:00Z", "T12:00:00Z\n", "T12:00:00Z\n\n", "T12:00:00Z ",
                 "T١٢:00:00Z", "T12:00:00+0530"]
        cases = [d + t for d in dates for t in times] + ["", "Z", "2026-11-22T12:00:00Z" * 2, "\n"]
        for text in cases:
            with self.subTest(text=text):
                self.assertEqual(is_date_time(text), bool(validate_rfc3339(text.upper())))
        self.assertTrue(is_date_time(12), "a non-string is not the format's to judge")
