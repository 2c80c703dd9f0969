"""How the JSON Schema keywords that hold no subschema judge one value, exactly as jsonschema's
Draft202012Validator with a FormatChecker does: type membership, const and enum equality, uniqueness,
string length in code points, the regex dialect of `pattern`, the `date-time` format and numeric
bounds. Stdlib only, so the fast validator (fast_schema.py) can use it without importing jsonschema."""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence

STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "format"})
NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum"})


def python_pattern(pattern: str) -> str:
    """ECMA-262 '$' ends the input; Python's also matches before a final newline. Use '\\Z'."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


def is_number(value) -> bool:
    """The type "number", and what minimum, maximum and exclusiveMinimum apply to."""
    if type(value) in (int, float):  # what JSON gives, without the ABC check
        return True
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def is_integer(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# A bool is neither a number nor an integer; a float with no fraction (1.0) is an integer.
TYPE_CHECKS = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": is_number,
    "integer": is_integer,
}


_TRUE, _FALSE = object(), object()


def _unbool(value):
    """True and 1 (False and 0) are different JSON values; Python says they are equal."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def json_equal(one, two) -> bool:
    """const and enum equality: 1 == 1.0, True != 1, recursively through arrays and objects."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(json_equal(i, j) for i, j in zip(one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(key in two and json_equal(value, two[key]) for key, value in one.items())
    return _unbool(one) == _unbool(two)


def all_unique(items) -> bool:
    """uniqueItems. jsonschema compares neighbours after sorting when the items sort, and every pair
    otherwise; the two can differ (a NaN breaks the sort order), so this follows the same steps."""
    try:
        ordered = sorted(_unbool(item) for item in items)
        return not any(json_equal(i, j) for i, j in zip(ordered, ordered[1:]))
    except (NotImplementedError, TypeError):
        seen = []
        for item in items:
            item = _unbool(item)
            if any(json_equal(other, item) for other in seen):
                return False
            seen.append(item)
        return True


# RFC 3339 date-time as jsonschema's FormatChecker judges it (with rfc3339-validator, a requirement of
# the skill): the upper-cased string must be YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), with ASCII
# digits, a month 01-12, hours 00-23, minutes and seconds 00-59 (no leap second), a year other than
# 0000 and a day that exists in that month; like its `$`, one final newline is allowed. Written here,
# not imported, so a step that checks its own state does not load that package and `six`. Were the
# package missing, jsonschema would not check the format at all: this check is then the stricter
# one, and a "no" only sends the document on to jsonschema, which settles it.
_DATE_TIME = re.compile(r"(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
                        r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)\n?", re.ASCII)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date_time(value) -> bool:
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value.upper())
    if match is None:
        return False
    year, month, day = (int(part) for part in match.groups())
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return year != 0 and 1 <= day <= _DAYS[month - 1] + leap


FORMATS = {"date-time": is_date_time}


class UnsupportedSchema(ValueError):
    """A schema uses something the fast validator does not implement exactly as jsonschema does."""


def accept(value):
    return True


def reject(value):
    return False


def type_check(types, where):
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or any(name not in TYPE_CHECKS for name in names):
        raise UnsupportedSchema(f"{where}: unknown type {types!r}")
    if len(names) == 1:
        return TYPE_CHECKS[names[0]]
    checks = tuple(TYPE_CHECKS[name] for name in names)
    return lambda value: any(check(value) for check in checks)


def const_check(expected):
    if isinstance(expected, str):  # json_equal with a string is ==
        return lambda value: value == expected
    return lambda value: json_equal(value, expected)


def enum_check(allowed, where):
    if not isinstance(allowed, list):
        raise UnsupportedSchema(f"{where}: enum must be a list")
    if all(isinstance(each, str) for each in allowed):
        strings = frozenset(allowed)
        return lambda value: isinstance(value, str) and value in strings
    return lambda value: any(json_equal(each, value) for each in allowed)


def compile_regex(pattern, where):
    try:
        return re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise UnsupportedSchema(f"{where}: pattern {pattern!r} does not compile in Python: {exc}") from exc


def string_check(schema, convert, typed, where):
    """minLength, maxLength (in code points), pattern (a search, its text passed through convert) and
    format; `typed`: the node's type is "string", so anything else fails. None: no such keyword."""
    if not STRING_KEYWORDS & schema.keys():
        return None
    low, high = schema.get("minLength", 0), schema.get("maxLength", math.inf)
    search = compile_regex(convert(schema["pattern"]), where).search if "pattern" in schema else None
    if "format" in schema and schema["format"] not in FORMATS:
        raise UnsupportedSchema(f"{where}: unsupported format {schema['format']!r}")
    form = FORMATS.get(schema.get("format"), accept)

    def check(value):
        if not isinstance(value, str):
            return not typed
        if not low <= len(value) <= high or search is not None and not search(value):
            return False
        return form(value)
    return check


def number_check(schema, typed):
    """minimum, maximum, exclusiveMinimum; `typed`: the node's type is "number". None: no such keyword."""
    if not NUMBER_KEYWORDS & schema.keys():
        return None
    # jsonschema fails `value < minimum` rather than passing `value >= minimum`: a NaN fails no bound.
    failures = []
    if "minimum" in schema:
        failures.append(lambda value, bound=schema["minimum"]: value < bound)
    if "maximum" in schema:
        failures.append(lambda value, bound=schema["maximum"]: value > bound)
    if "exclusiveMinimum" in schema:
        failures.append(lambda value, bound=schema["exclusiveMinimum"]: value <= bound)

    def check(value):
        if not is_number(value):
            return not typed
        for fails in failures:
            if fails(value):
                return False
        return True
    return check
