"""The file rules (references/contracts.md, File rules and Size bounds): only regular files, inside the
project, read within a bound; a refused input changes nothing."""
import contextlib
import io
import json
import os
import tempfile
import unittest
from pathlib import Path

import support  # noqa: F401
import metaopt
import sim_host
from bad_input import tree
from metaopt_lib.contract import validation
from metaopt_lib.contract.bounds import READ_BOUNDS, max_bytes
from metaopt_lib.contract.locks import FileLock
from metaopt_lib.contract.regular_files import FileRefused, append_regular, open_append, read_regular, read_tail

NOW = "2026-11-22T08:00:00Z"


class Scratch(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.base = Path(tmp.name).resolve()
        self.root = self.base / "project"
        self.root.mkdir()
        self.outside = self.base / "outside.json"
        self.outside.write_text('{"a": 1}')

    def refused(self, call) -> str:
        with self.assertRaises(FileRefused) as caught:
            call()
        return caught.exception.issue.rule


class Reader(Scratch):
    def test_a_regular_file_inside_the_project_is_read(self):
        path = self.root / "f.json"
        path.write_bytes(b"abc")
        self.assertEqual(read_regular(path, "f.json", 10, within=self.root), b"abc")

    def test_a_link_inside_the_project_is_followed_and_one_leaving_it_refused(self):
        (self.root / "real.json").write_bytes(b"inside")
        (self.root / "in.json").symlink_to(self.root / "real.json")
        (self.root / "out.json").symlink_to(self.outside)
        self.assertEqual(read_regular(self.root / "in.json", "in.json", 10, within=self.root), b"inside")
        self.assertEqual(self.refused(lambda: read_regular(self.root / "out.json", "out.json", 10, within=self.root)),
                         "file.outside_project")
        # without a project (validate.py on any file) the target is read by the other rules
        self.assertEqual(read_regular(self.root / "out.json", "out.json", 10), b'{"a": 1}')

    def test_a_link_through_a_directory_leaving_the_project_is_refused(self):
        (self.root / "sub").symlink_to(self.base)
        rule = self.refused(lambda: read_regular(self.root / "sub" / "outside.json", "x", 100, within=self.root))
        self.assertEqual(rule, "file.outside_project")

    def test_fifo_device_directory_and_socket_are_refused_without_blocking(self):
        fifo = self.root / "fifo"
        os.mkfifo(fifo)
        (self.root / "zero").symlink_to("/dev/zero")
        (self.root / "dir").mkdir()
        for name in ("fifo", "dir"):
            with self.subTest(name):
                self.assertEqual(self.refused(lambda: read_regular(self.root / name, name, 10, within=self.root)),
                                 "file.not_regular")
        self.assertEqual(self.refused(lambda: read_regular(self.root / "zero", "zero", 10)), "file.not_regular")
        self.assertEqual(self.refused(lambda: read_tail(fifo, "fifo", 10)), "file.not_regular")

    def test_a_file_above_its_bound_is_refused_before_it_is_read_whole(self):
        path = self.root / "big"
        path.write_bytes(b"x" * 101)
        self.assertEqual(self.refused(lambda: read_regular(path, "big", 100)), "file.too_large")
        self.assertEqual(read_regular(path, "big", 101), b"x" * 101)

    def test_missing_files(self):
        self.assertEqual(self.refused(lambda: read_regular(self.root / "no", "no", 10)), "file.missing")
        self.assertEqual(read_tail(self.root / "no", "no", 10), b"")

    def test_appends_follow_a_link_only_inside_the_project_and_never_block_on_a_fifo(self):
        (self.root / "journal").symlink_to(self.root / "real-journal")
        append_regular(self.root / "journal", "journal", b"x\n", within=self.root)
        self.assertEqual((self.root / "real-journal").read_bytes(), b"x\n")
        self.assertTrue((self.root / "journal").is_symlink(), "the link is kept")
        (self.root / "out").symlink_to(self.base / "elsewhere")
        self.assertEqual(self.refused(lambda: append_regular(self.root / "out", "out", b"x\n", within=self.root)),
                         "file.outside_project")
        self.assertFalse((self.base / "elsewhere").exists())
        os.mkfifo(self.root / "log")
        self.assertEqual(self.refused(lambda: open_append(self.root / "log", "log")), "file.not_regular")
        append_regular(self.root / "new", "new", b"a\n")
        append_regular(self.root / "new", "new", b"b\n")
        self.assertEqual((self.root / "new").read_bytes(), b"a\nb\n")

    def test_a_lock_file_is_never_created_through_a_link(self):
        (self.root / "lock").symlink_to(self.base / "lock-target")
        with self.assertRaises(OSError):
            FileLock(self.root / "lock").acquire()
        self.assertFalse((self.base / "lock-target").exists())

    def test_an_existing_file_is_locked_through_a_link_to_it(self):
        (self.root / "directive.json").write_text("{}")
        (self.root / "link.json").symlink_to(self.root / "directive.json")
        FileLock(self.root / "link.json", create=False).acquire().release()


class Bounds(Scratch):
    def test_every_readable_kind_has_a_bound_with_a_reason(self):
        for kind in validation.KINDS:
            self.assertIn(kind, READ_BOUNDS)
        for kind, bound in READ_BOUNDS.items():
            self.assertGreater(bound.max_bytes, 0, kind)
            self.assertTrue(bound.reason.strip(), kind)

    def test_a_huge_worker_result_is_refused_without_parsing(self):
        proposals = [{"proposal_id": f"p{i}", "title": "t" * 20} for i in range(100_000)]
        path = self.root / "result.json"
        path.write_text(json.dumps({"schema_version": 1, "proposals": proposals}))
        self.assertGreater(path.stat().st_size, max_bytes("ideation-result"))
        document, issues = validation.load_and_validate("ideation-result", path)
        self.assertIsNone(document)
        self.assertEqual([i.rule for i in issues], ["file.too_large"])

    def test_a_wrong_document_within_its_bound_reports_a_bounded_number_of_problems(self):
        path = self.root / "result.json"
        path.write_text(json.dumps([{"x": [None] * 5}] * 5000))
        self.assertLess(path.stat().st_size, max_bytes("ideation-result"))
        _, issues = validation.load_and_validate("ideation-result", path)
        self.assertTrue(1 <= len(issues) <= 200, len(issues))


class Driver(Scratch):
    """The measured failures: each was a traceback or a hang, and must be a JSON error that changes nothing."""

    def setUp(self):
        super().setUp()
        sim_host.write_project(self.root)

    def drive(self, command="step"):
        out = io.StringIO()
        argv = [command, "--project-root", str(self.root), "--json"]
        if command in ("step", "resume"):
            argv += ["--now", NOW]
        with contextlib.redirect_stderr(io.StringIO()):
            code = metaopt.main(argv, out=out)
        return code, json.loads(out.getvalue())

    def test_a_state_linked_outside_the_project_is_an_error_that_changes_nothing(self):
        self.drive()
        state = self.root / ".ml-metaopt" / "state.json"
        self.outside.write_bytes(state.read_bytes())
        state.unlink()
        state.symlink_to(self.outside)
        before = tree(self.root)
        for command in ("step", "status", "resume", "reset"):
            with self.subTest(command):
                code, document = self.drive(command)
                self.assertEqual(code, 1, document)
                self.assertIn(".ml-metaopt/state.json", document["error"]["message"])
                self.assertIn("outside the project", document["error"]["message"])
                self.assertEqual(tree(self.root), before)

    def test_a_state_linked_to_a_device_is_refused_not_read_forever(self):
        self.drive()
        state = self.root / ".ml-metaopt" / "state.json"
        state.unlink()
        state.symlink_to("/dev/zero")
        for command in ("step", "status"):
            code, document = self.drive(command)
            self.assertEqual((code, document["error"]["code"]), (1, "state-invalid"))

    def test_a_campaign_with_nul_bytes_or_a_huge_integer_is_refused_before_any_state_exists(self):
        campaign = self.root / "ml_metaopt_campaign.yaml"
        good = campaign.read_bytes()
        cases = {"nul": good.replace(b"\n", b"\n\x00", 1), "digits": good + b"\nextra: " + b"9" * 5000 + b"\n",
                 "device": None, "huge": good + b"#" * (max_bytes("campaign") + 1)}
        for name, data in cases.items():
            with self.subTest(name):
                campaign.unlink()
                if data is None:
                    campaign.symlink_to("/dev/zero")
                else:
                    campaign.write_bytes(data)
                code, document = self.drive()
                self.assertEqual((code, document["error"]["code"]), (1, "campaign-invalid"), document)
                self.assertFalse((self.root / ".ml-metaopt" / "state.json").exists())
                self.assertFalse((self.root / ".ml-metaopt" / "journal.jsonl").exists())

    def test_a_metaopt_directory_leaving_the_project_is_refused_before_anything_is_written(self):
        elsewhere = self.base / "elsewhere"
        elsewhere.mkdir()
        metaopt_dir = self.root / ".ml-metaopt"
        for item in metaopt_dir.iterdir():
            item.rename(elsewhere / item.name)
        metaopt_dir.rmdir()
        metaopt_dir.symlink_to(elsewhere)
        before = sorted(p.name for p in elsewhere.iterdir())
        code, document = self.drive()
        self.assertEqual((code, document["error"]["code"]), (1, "input-invalid"), document)
        self.assertEqual(sorted(p.name for p in elsewhere.iterdir()), before)

    def test_a_metaopt_path_that_is_a_file_is_an_error(self):
        metaopt_dir = self.root / ".ml-metaopt"
        for item in metaopt_dir.iterdir():
            item.unlink()
        metaopt_dir.rmdir()
        metaopt_dir.write_text("not a directory")
        code, document = self.drive()
        self.assertEqual((code, document["error"]["code"]), (1, "input-invalid"), document)


if __name__ == "__main__":
    unittest.main()
