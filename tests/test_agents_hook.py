"""The AGENTS.md hook touches nothing else: added then removed, the user's file comes back byte for
byte (line endings, byte order mark, missing final newline, empty file), and a file the skill
created is removed."""
import os
import tempfile
import unittest
from pathlib import Path

import support  # noqa: F401

from metaopt_lib.control.agents_hook import add_hook, remove_hook
from metaopt_lib.control.state_store import CampaignDir

TEXT = "An ml-metaoptimization campaign (demo) is running in this project.\nStep it again."
ORIGINALS = {
    "lf": b"# Agents\n\nUse tabs.\n",
    "no-final-newline": b"# Agents\nUse tabs.",
    "crlf": b"# Agents\r\n\r\nUse tabs.\r\n",
    "crlf-no-final-newline": b"# Agents\r\nUse tabs.",
    "bom": b"\xef\xbb\xbf# Agents\nUse tabs.\n",
    "bom-only": b"\xef\xbb\xbf",
    "empty": b"",
    "trailing-blank-lines": b"# Agents\n\n\n",
    "only-newline": b"\n",
    "non-ascii": "# Agenten — bitte Tabs.\n".encode("utf-8"),
}


class AgentsHook(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name)
        self.cdir = CampaignDir(self.root)
        self.cdir.dir.mkdir()
        self.path = self.root / "AGENTS.md"

    def test_add_then_remove_gives_the_users_bytes_back(self):
        for name, original in ORIGINALS.items():
            with self.subTest(original=name):
                self.path.write_bytes(original)
                add_hook(self.cdir, "demo", TEXT)
                added = self.path.read_bytes()
                self.assertTrue(added.startswith(original), "the user's text is kept in front")
                self.assertIn(b"<!-- BEGIN ml-metaoptimization: demo -->", added)
                newline = b"\r\n" if b"\r\n" in original else b"\n"
                self.assertTrue(added.endswith(b"-->" + newline))
                if newline == b"\r\n":
                    self.assertNotIn(b"\n", added.replace(b"\r\n", b""), "one line ending throughout")
                remove_hook(self.cdir, "demo")
                self.assertEqual(self.path.read_bytes(), original)

    def test_a_file_the_skill_created_is_removed(self):
        add_hook(self.cdir, "demo", TEXT)
        self.assertTrue(self.path.read_bytes().startswith(b"<!-- BEGIN ml-metaoptimization: demo -->\n"))
        remove_hook(self.cdir, "demo")
        self.assertFalse(self.path.exists())
        self.assertFalse((self.cdir.dir / "agents-hook.json").exists())

    def test_adding_and_removing_twice_is_the_same_as_once(self):
        original = ORIGINALS["crlf"]
        self.path.write_bytes(original)
        add_hook(self.cdir, "demo", TEXT)
        once = self.path.read_bytes()
        add_hook(self.cdir, "demo", TEXT)
        self.assertEqual(self.path.read_bytes(), once)
        remove_hook(self.cdir, "demo")
        remove_hook(self.cdir, "demo")
        self.assertEqual(self.path.read_bytes(), original)

    def test_what_the_user_wrote_after_the_block_stays(self):
        self.path.write_bytes(b"# Agents\n")
        add_hook(self.cdir, "demo", TEXT)
        self.path.write_bytes(self.path.read_bytes() + b"\nAdded later.\n")
        remove_hook(self.cdir, "demo")
        self.assertEqual(self.path.read_bytes(), b"# Agents\n\nAdded later.\n")

    def test_another_campaigns_block_is_left_alone(self):
        self.path.write_bytes(b"# Agents\n")
        add_hook(self.cdir, "other", "Other campaign.")
        with_other = self.path.read_bytes()
        add_hook(self.cdir, "demo", TEXT)
        remove_hook(self.cdir, "demo")
        self.assertEqual(self.path.read_bytes(), with_other)

    def test_the_files_permissions_are_kept(self):
        self.path.write_bytes(b"# Agents\n")
        os.chmod(self.path, 0o640)
        add_hook(self.cdir, "demo", TEXT)
        self.assertEqual(self.path.stat().st_mode & 0o777, 0o640)
        remove_hook(self.cdir, "demo")
        self.assertEqual(self.path.stat().st_mode & 0o777, 0o640)

    def test_a_lost_record_still_removes_the_block_and_nothing_of_the_users(self):
        self.path.write_bytes(b"# Agents\n")
        add_hook(self.cdir, "demo", TEXT)
        (self.cdir.dir / "agents-hook.json").unlink()
        remove_hook(self.cdir, "demo")
        self.assertTrue(self.path.read_bytes().startswith(b"# Agents\n"))
        self.assertNotIn(b"ml-metaoptimization", self.path.read_bytes())


if __name__ == "__main__":
    unittest.main()
