"""Seeded mutations of a document, aimed at the edges of a schema's keywords, for tests/test_fast_schema.py.

Each mutant changes one to three places of a seed document: a required key dropped, an unknown or
misspelt key added, a key renamed (a trailing newline against a pattern's '$'), a value of another
type, a number at or just beyond one of the kind's bounds, a string at a maxLength or one code point
over it, NaN and infinities, a bool for an int and 1.0 for 1, an array item duplicated, a value nested
deeper, a constant of another branch (oneOf, if/then) swapped in, a subtree moved, an impossible
date-time. Mutants share unchanged subtrees with their seed; nothing is changed in place.
"""
from __future__ import annotations

import math

from metaopt_lib.contract import schemas

BOUND_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength", "minItems", "maxItems",
                  "minProperties", "maxProperties")
LENGTH_KEYWORDS = ("minLength", "maxLength")
# Pairs jsonschema's uniqueItems calls equal (1 and 1.0) or not (1 and True), the same NaN object twice.
NAN = float("nan")
TWINS = [[1, 1.0], [1, True], [0, False], [[1], [True]], [[1], [1.0]], [{"a": 1}, {"a": 1.0}], [NAN, NAN],
         [float("nan"), float("nan")], ["a", "a"], [None, None], [1, "1"], [1, 2, 1.0], [NAN, 1, NAN]]
DATE_TIMES = ["2026-02-29T10:00:00Z", "2024-02-29T10:00:00Z", "2026-11-31T00:00:00Z", "2026-11-22T24:00:00Z",
              "2026-11-22T10:00:60Z", "2026-11-22t10:00:00z", "2026-11-22T10:00:00+00:00", "2026-11-22T10:00:00.123Z",
              "2026-11-22T10:00:00Z\n", "1969-12-31T23:59:59Z", "2999-12-31T23:59:59Z", "3000-01-01T00:00:00Z",
              "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "0000-01-01T00:00:00Z", "2026-11-22 10:00:00Z",
              "2026-11-22T10:00:00+01:00", "2026-11-22T10:00:00"]
ODD_VALUES = [None, True, False, 0, 1, -1, 1.0, 0.0, -0.0, 0.5, 1e300, -1e300, 10 ** 20, "", "x", " ", "\n", [], {},
              [1, True], [1, 1.0], [0, False], [None], {"a": 1}, float("nan"), float("inf"), float("-inf")]


def schema_pools(kind):
    """(bound numbers, constants, property names) anywhere in the kind's schema and what it references."""
    numbers, lengths, constants, names, seen = set(), set(), [], set(), set()

    def walk(node, base):
        if isinstance(node, list):
            for item in node:
                walk(item, base)
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in BOUND_KEYWORDS and isinstance(value, (int, float)):
                numbers.add(value)
                if key in LENGTH_KEYWORDS:
                    lengths.add(value)
            elif key in ("const", "enum"):
                constants.extend(value if key == "enum" else [value])
            elif key == "properties":
                names.update(value)
            elif key == "$ref":
                target_file, _, fragment = value.partition("#")
                name = target_file[: -len(schemas.SCHEMA_SUFFIX)] if target_file else base
                if (name, fragment) not in seen:
                    seen.add((name, fragment))
                    walk(schemas.load_schema(name), name)
            if key not in ("const", "enum", "default", "examples"):
                walk(value, base)
    walk(schemas.load_schema(kind), kind)
    return sorted(numbers, key=repr), sorted(lengths), constants, sorted(names)


def edges_of(number):
    out = [number, number - 1, number + 1, math.nextafter(number, -math.inf), math.nextafter(number, math.inf),
           float(number), -number]
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e15:
        out.append(int(number))
    return out


def locations(document, path=()):
    """Every path into the document (root included)."""
    yield path
    if isinstance(document, dict):
        for key, value in document.items():
            yield from locations(value, path + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from locations(value, path + (index,))


def replaced(document, path, change):
    """A copy of document with the value at path replaced by change(value); copies only the path."""
    if not path:
        return change(document)
    head, rest = path[0], path[1:]
    out = dict(document) if isinstance(document, dict) else list(document)
    out[head] = replaced(document[head], rest, change)
    return out


class Mutator:
    def __init__(self, rng, kind, strings):
        self.rng, self.strings = rng, strings
        self.numbers, self.lengths, self.constants, self.names = schema_pools(kind)
        self.operators = [getattr(self, name) for name in sorted(dir(self)) if name.startswith("op_")]

    def mutant(self, document, donors):
        """(mutant, what was done) after one to three mutations."""
        done = []
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            paths = list(locations(document))
            path = self.rng.choice(paths)
            operator = self.rng.choice(self.operators)
            result = operator(document, path, donors)
            if result is not None:
                document = result
                done.append(f"{operator.__name__[3:]} at {'/'.join(map(str, path)) or '(root)'}")
        return document, "; ".join(done) or "unchanged"

    def pick(self, values):
        return self.rng.choice(values)

    def op_drop(self, document, path, donors):
        if not path:
            return None

        def drop(parent):
            out = dict(parent) if isinstance(parent, dict) else list(parent)
            del out[path[-1]]
            return out
        return replaced(document, path[:-1], drop)

    def op_add_key(self, document, path, donors):
        def add(value):
            if not isinstance(value, dict):
                return None
            existing = list(value) or ["key"]
            name = self.pick([self.pick(self.names or existing), self.pick(existing) + "s", "unknown_key",
                              self.pick(existing).upper(), "x\n", "", self.pick(self.strings)])
            return {**value, name: self.pick(ODD_VALUES + [self.pick(self.strings)] + list(value.values()))}
        return self.apply(document, path, add)

    def op_rename_key(self, document, path, donors):
        def rename(value):
            if not isinstance(value, dict) or not value:
                return None
            old = self.pick(list(value))
            new = self.pick([old + "\n", old + " ", old[:-1], old.upper(), "-" + old, old + "." + old, old * 3])
            return {(new if key == old else key): item for key, item in value.items()}
        return self.apply(document, path, rename)

    def op_retype(self, document, path, donors):
        return replaced(document, path, lambda value: self.pick(ODD_VALUES))

    def op_number_edge(self, document, path, donors):
        if not self.numbers:
            return None
        return replaced(document, path, lambda value: self.pick(edges_of(self.pick(self.numbers))))

    def op_bool_int_float(self, document, path, donors):
        swaps = {True: 1, False: 0}

        def swap(value):
            if isinstance(value, bool):
                return swaps[value]
            if isinstance(value, int):
                return self.pick([float(value), value == 1, -value, value + 1, True, False])
            if isinstance(value, float):
                return self.pick([int(value) if math.isfinite(value) else value, math.nan, math.inf, -math.inf])
            return None
        return self.apply(document, path, swap)

    def op_string_edge(self, document, path, donors):
        def edge(value):
            if not isinstance(value, str):
                return None
            length = self.pick([n for n in self.lengths if 0 <= n < 5000] or [len(value)])
            # Padding with the string's own last character keeps most patterns matching; "😀" is one code point.
            pad = self.pick([value[-1:] or "a", value[-1:] or "a", "é", "😀", "_"])
            at = self.pick([length - 1, length, length, length + 1])
            return self.pick([(value + pad * at)[:at] if at >= 0 else "", (value + pad * at)[:at] if at >= 0 else "",
                              value + "\n", value[:-1], value.upper(), "", self.pick(self.strings),
                              self.pick(DATE_TIMES)])
        return self.apply(document, path, edge)

    def op_constant(self, document, path, donors):
        if not self.constants:
            return None
        return replaced(document, path, lambda value: self.pick(self.constants))

    def op_duplicate_item(self, document, path, donors):
        def duplicate(value):
            if not isinstance(value, list) or not value:
                return None
            item = self.pick(value)
            return self.pick([value + [item], value + [copy_of(item)], self.pick(TWINS), value + self.pick(TWINS)])
        return self.apply(document, path, duplicate)

    def op_nest(self, document, path, donors):
        def nest(value):
            if isinstance(value, dict) and value:
                key = self.pick(list(value))
                return {**value, key: self.pick([value, {"parameters": value}, [value[key]]])}
            return self.pick([[value], {"value": value}, {"parameters": {"inner": {"value": value}}}])
        return replaced(document, path, nest)

    def op_nested_parameter(self, document, path, donors):
        """A parameter map (a sweep config's `parameters`) gains an entry nested one to three levels deep,
        its name at the edge of the name pattern: the one recursive structure of the schemas."""
        maps = [p for p in locations(document) if p and p[-1] == "parameters" and isinstance(lookup(document, p), dict)]
        if not maps:
            return None
        name = self.pick(["inner\n", "inner", "in ner", "x" * 100, "x" * 101, "_", "9lives"])
        entry = {name: self.pick([{"value": 1}, {"values": [1, 1.0]}, {"min": 0, "max": 1.0}, {}])}
        for _ in range(self.rng.randint(0, 2)):
            entry = {self.pick(["outer", "mid"]): {"parameters": entry}}
        return replaced(document, self.pick(maps), lambda value: {**value, **entry})

    def op_transplant(self, document, path, donors):
        donor = self.pick(donors)
        source = self.pick(list(locations(donor)))
        subtree = lookup(donor, source)
        return replaced(document, path, lambda value: subtree)

    def apply(self, document, path, change):
        """replaced(), or None when change does not apply to that value."""
        new = change(lookup(document, path))
        return None if new is None else replaced(document, path, lambda value: new)


def lookup(document, path):
    for part in path:
        document = document[part]
    return document


def copy_of(value):
    if isinstance(value, dict):
        return {key: copy_of(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_of(item) for item in value]
    return value
