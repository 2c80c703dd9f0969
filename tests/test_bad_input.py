"""Generated malformed inputs across every reader: clear issues, never an exception or a traceback."""
import json
import tempfile
import unittest
from pathlib import Path

import yaml

import support

from metaopt_lib.contract import schemas, validation

BAD_VALUES = [None, "", [], {"unexpected": True}, -1, 10 ** 20, "x" * 50000, True, [[[]]]]


def _seeds():
    """(kind, document) for the first valid fixture of every kind."""
    for kind in support.fixture_kinds():
        valid = sorted(n for n in support.fixture_cases(kind) if n.startswith("valid/"))
        path = support.FIXTURES / kind / valid[0]
        text = path.read_text(encoding="utf-8")
        yield kind, (yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)), path.suffix


def _paths(value, parts=(), depth=0):
    if depth >= 3:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield parts + (key,)
            yield from _paths(item, parts + (key,), depth + 1)
    elif isinstance(value, list) and value:
        yield parts + (0,)
        yield from _paths(value[0], parts + (0,), depth + 1)


def _with(document, parts, value, delete=False):
    copy = json.loads(json.dumps(document))
    node = copy
    for part in parts[:-1]:
        node = node[part]
    if delete and isinstance(node, dict):
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return copy


class MalformedInputs(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        self.count = 0

    def _check(self, kind, suffix, text_or_bytes, must_fail):
        self.count += 1
        path = self.dir / f"case-{self.count}{suffix}"
        data = text_or_bytes if isinstance(text_or_bytes, bytes) else text_or_bytes.encode("utf-8")
        path.write_bytes(data)
        _, issues = validation.load_and_validate(kind, path)  # must not raise
        for issue in issues:
            self.assertTrue(issue.rule in support.RULES or issue.rule.startswith("schema."), issue.rule)
            self.assertTrue(issue.message.startswith(f"{path}: {issue.path}: "), issue.message)
            self.assertTrue(issue.expected and issue.fix, issue.message)
        if must_fail:
            self.assertTrue(issues, f"{kind}: expected a rejection of case {self.count}")
        return issues

    def _dump(self, document, suffix):
        return yaml.safe_dump(document, sort_keys=False) if suffix == ".yaml" else json.dumps(document)

    def test_at_least_two_hundred_generated_malformed_inputs(self):
        for kind, seed, suffix in _seeds():
            schema = schemas.load_schema(kind)
            with self.subTest(kind=kind):
                text = self._dump(seed, suffix)
                for cut in (1, len(text) // 3, len(text) // 2, len(text) - 2):
                    self._check(kind, suffix, text[:cut], must_fail=True)
                self._check(kind, suffix, text.encode("utf-8")[:10] + b"\xff\xfe" + text.encode("utf-8")[10:],
                            must_fail=True)
                self._check(kind, suffix, "", must_fail=True)
                self._check(kind, suffix, "[1, 2, 3]", must_fail=True)
                self._check(kind, suffix, self._dump({**seed, "unexpected_key": 1}, suffix), must_fail=True)
                for key in schema.get("required", []):
                    self._check(kind, suffix, self._dump(_with(seed, (key,), None, delete=True), suffix),
                                must_fail=True)
                    self._check(kind, suffix, self._dump(_with(seed, (key,), [[[]]]), suffix), must_fail=True)
                for parts in list(_paths(seed))[:12]:
                    for bad in BAD_VALUES:
                        self._check(kind, suffix, self._dump(_with(seed, parts, bad), suffix), must_fail=False)
                    self._check(kind, suffix, self._dump(_with(seed, parts, None, delete=True), suffix),
                                must_fail=False)
                if suffix == ".json":
                    self._check(kind, suffix, json.dumps(_with(seed, next(iter(_paths(seed))), float("nan"))),
                                must_fail=True)
        self.assertGreaterEqual(self.count, 200)


if __name__ == "__main__":
    unittest.main()
