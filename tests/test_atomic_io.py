"""Atomic writes: the target holds the old or the new content, never a partial file; no temp left behind."""
import json
import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401

from metaopt_lib.contract import atomic_io


class AtomicWrites(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)

    def test_writes_json_and_creates_parent_directories(self):
        target = self.dir / ".ml-metaopt" / "state.json"
        atomic_io.write_json_atomic(target, {"b": 1, "a": [1.5]})
        self.assertEqual(json.loads(target.read_text()), {"a": [1.5], "b": 1})
        self.assertEqual(os.listdir(target.parent), ["state.json"])

    def test_a_failed_replace_keeps_the_old_content_and_removes_the_temp_file(self):
        target = self.dir / "state.json"
        atomic_io.write_json_atomic(target, {"v": 1})
        with mock.patch("metaopt_lib.contract.atomic_io.os.replace", side_effect=OSError("disk full")):
            with self.assertRaises(OSError):
                atomic_io.write_json_atomic(target, {"v": 2})
        self.assertEqual(json.loads(target.read_text()), {"v": 1})
        self.assertEqual(os.listdir(self.dir), ["state.json"])

    def test_a_written_file_has_the_mode_the_umask_gives_a_new_file(self):
        for mask in (0o022, 0o077, 0o002):
            with self.subTest(umask=oct(mask)):
                target = self.dir / f"report-{mask:o}.md"
                with mock.patch.object(atomic_io, "FILE_MODE", 0o666 & ~mask):
                    atomic_io.write_text_atomic(target, "# report\n")
                self.assertEqual(target.stat().st_mode & 0o777, 0o666 & ~mask)
        previous = os.umask(0o027)
        os.umask(previous)
        self.assertEqual(atomic_io.FILE_MODE, 0o666 & ~previous, "the process's own umask")

    def test_non_finite_numbers_are_refused_before_touching_the_file(self):
        target = self.dir / "state.json"
        atomic_io.write_json_atomic(target, {"v": 1})
        with self.assertRaises(ValueError):
            atomic_io.write_json_atomic(target, {"v": float("nan")})
        self.assertEqual(json.loads(target.read_text()), {"v": 1})
        self.assertEqual(os.listdir(self.dir), ["state.json"])


if __name__ == "__main__":
    unittest.main()
