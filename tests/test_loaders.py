"""Strict readers: every malformed input becomes an Issue with a rule and a path, never an exception."""
import tempfile
import unittest
from pathlib import Path

import support  # noqa: F401

from metaopt_lib.contract import loaders


class Readers(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = Path(self.tmp.name)

    def _file(self, name, data):
        path = self.dir / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    def _rules(self, name, data):
        document, issues = loaders.load_document(self._file(name, data), name)
        return document, [(i.rule, i.path) for i in issues]

    def test_missing_file(self):
        _, issues = loaders.load_document(self.dir / "absent.json", "absent.json")
        self.assertEqual([(i.rule, i.path) for i in issues], [("file.missing", "$")])

    def test_directory_instead_of_file(self):
        _, issues = loaders.load_document(self.dir, "dir")
        self.assertEqual(issues[0].rule, "file.not_regular")

    def test_file_larger_than_the_cap_is_refused_before_reading(self):
        path = self._file("big.json", b" ")
        with open(path, "wb") as handle:
            handle.truncate(loaders.MAX_FILE_BYTES + 1)
        _, issues = loaders.load_document(path, "big.json")
        self.assertEqual(issues[0].rule, "file.too_large")

    def test_an_integer_too_long_to_convert_is_an_issue_not_an_exception(self):
        document, issues = self._rules("long.json", '{"a": ' + "9" * 5000 + "}")
        self.assertEqual((document, issues), (None, [("parse.json_number", "$")]))

    def test_invalid_utf8(self):
        self.assertEqual(self._rules("a.json", b'{"a": "\xff\xfe"}')[1], [("parse.encoding", "$")])

    def test_utf8_byte_order_mark_is_accepted(self):
        self.assertEqual(self._rules("a.json", b'\xef\xbb\xbf{"a": 1}'), ({"a": 1}, []))

    def test_empty_and_blank_files(self):
        self.assertEqual(self._rules("a.json", "")[1], [("parse.empty", "$")])
        self.assertEqual(self._rules("a.yaml", "  \n\n")[1], [("parse.empty", "$")])

    def test_truncated_json_names_line_and_column(self):
        document, issues = loaders.load_document(self._file("a.json", '{"a": [1, 2'), "a.json")
        self.assertIsNone(document)
        self.assertEqual(issues[0].rule, "parse.json_syntax")
        self.assertIn("line 1 column", issues[0].problem)

    def test_json_nan_and_infinity_are_flagged_at_their_path(self):
        _, rules = self._rules("a.json", '{"x": {"y": [1, NaN]}, "z": -Infinity, "w": 1e999}')
        self.assertEqual(sorted(rules), [("parse.non_finite", "$.w"), ("parse.non_finite", "$.x.y[1]"),
                                         ("parse.non_finite", "$.z")])

    def test_json_duplicate_key(self):
        self.assertIn(("parse.duplicate_key", "$.a.b"), self._rules("a.json", '{"a": {"b": 1, "b": 2}}')[1])

    def test_deeply_nested_json_is_refused_cleanly(self):
        # 450 levels parse but would overflow recursive walkers; 100000 overflow the parser itself.
        for depth in (loaders.MAX_DEPTH + 2, 450, 100000):
            with self.subTest(depth=depth):
                self.assertEqual(self._rules("a.json", "[" * depth + "]" * depth)[1], [("parse.too_deep", "$")])
                self.assertEqual(self._rules("a.yaml", "[" * depth + "]" * depth)[1], [("parse.too_deep", "$")])

    def test_nesting_up_to_the_limit_is_accepted(self):
        depth = loaders.MAX_DEPTH
        self.assertEqual(self._rules("a.json", "[" * depth + "]" * depth)[1], [])

    def test_yaml_exponent_without_dot_is_the_string_trap(self):
        document, rules = self._rules("a.yaml", "lr:\n  min: 1e-5\n  max: 1.0e-3\n")
        self.assertEqual(rules, [("parse.yaml_exponent_float", "$.lr.min")])
        self.assertEqual(document["lr"]["max"], 0.001)

    def test_yaml_exponent_fix_suggestion_really_parses_as_a_number(self):
        import yaml
        _, issues = loaders.load_document(self._file("a.yaml", "v: 3E5\n"), "a.yaml")
        suggestion = issues[0].fix.split()[1]
        self.assertEqual(yaml.safe_load(f"v: {suggestion}")["v"], 300000.0)

    def test_quoted_exponent_string_is_left_alone(self):
        self.assertEqual(self._rules("a.yaml", "tag: '1e-5'\n"), ({"tag": "1e-5"}, []))

    def test_yaml_nan_and_inf(self):
        _, rules = self._rules("a.yaml", "a: .nan\nb: [-.inf]\n")
        self.assertEqual(rules, [("parse.non_finite", "$.a"), ("parse.non_finite", "$.b[0]")])

    def test_yaml_duplicate_key(self):
        self.assertIn(("parse.duplicate_key", "$.a"), self._rules("a.yaml", "a: 1\na: 2\n")[1])

    def test_yaml_dates_and_non_string_keys(self):
        _, rules = self._rules("a.yaml", "when: 2026-11-22\n1: one\n")
        self.assertEqual(sorted(rules), [("parse.non_string_key", "$['1']"), ("parse.yaml_non_json", "$.when")])

    def test_yaml_syntax_error_and_multiple_documents(self):
        self.assertEqual(self._rules("a.yaml", "a: [1\n")[1][0][0], "parse.yaml_syntax")
        self.assertEqual(self._rules("a.yaml", "a: 1\n---\nb: 2\n")[1][0][0], "parse.yaml_syntax")

    def test_yaml_alias_bomb_is_bounded(self):
        lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for index in range(1, 9):
            prev = chr(ord("a") + index - 1)
            name = chr(ord("a") + index)
            lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
        _, rules = self._rules("a.yaml", "\n".join(lines) + "\n")
        self.assertIn("parse.too_large", [rule for rule, _ in rules])

    def test_yaml_python_tags_are_not_constructed(self):
        _, rules = self._rules("a.yaml", "a: !!python/object/apply:os.system ['true']\n")
        self.assertEqual(rules[0][0], "parse.yaml_syntax")


class BothYamlParsers(unittest.TestCase):
    """A YAML file reads the same whether PyYAML parses it with libyaml (its wheels have it) or with its
    own Python parser (an install without libyaml): same document, same rules at the same paths."""

    CASES = ("lr:\n  min: 1e-5\n  max: 1.0e-3\n", "v: 3E5\nw: '3E5'\nx: \"3E5\"\n", "a: .nan\nb: [-.inf]\n",
             "a: 1\na: 2\n", "when: 2026-11-22\n1: one\n", "a: [1\n", "a: 1\n---\nb: 2\n",
             "a: !!python/object/apply:os.system ['true']\n", "a: \x00\n", "a: \x07b\n", "\ta: 1\n",
             "a: &x [1, 2]\nb: *x\n", "a: *missing\n", "k: 0x1F\nm: 0o17\nn: 1_000\np: ~\nq: yes\n",
             "s: |\n  line one\n  line two\n", "[" * (loaders.MAX_DEPTH + 2) + "]" * (loaders.MAX_DEPTH + 2),
             "[" * 1500 + "]" * 1500, "".join(" " * i + "a:\n" for i in range(1500)) + " " * 1500 + "b\n")

    def test_libyaml_and_the_python_parser_agree(self):
        import yaml
        from unittest import mock

        if not getattr(yaml, "__with_libyaml__", False):
            self.skipTest("this PyYAML has no libyaml")
        for text in self.CASES:
            with self.subTest(text=text[:40]):
                document, issues = loaders.parse_yaml(text, "a.yaml")
                with mock.patch.object(yaml, "CSafeLoader", yaml.SafeLoader):
                    python_document, python_issues = loaders.parse_yaml(text, "a.yaml")
                self.assertEqual(document, python_document)
                self.assertEqual([(i.rule, i.path) for i in issues], [(i.rule, i.path) for i in python_issues])


class Limits(unittest.TestCase):
    def test_a_json_document_with_too_many_values_gives_one_issue(self):
        _, issues = loaders.parse_json("[" + ",".join(["0"] * (loaders.MAX_NODES + 5)) + "]", "big.json")
        self.assertEqual([(i.rule, i.path) for i in issues], [("parse.too_large", "$")])


if __name__ == "__main__":
    unittest.main()
