"""History out of the hot state, and the trusted fast path (issue 15): state.json stays small while the
history lives in append-only files; a version 4 state is migrated by the next step (and read, not
written, by status); a state the journal vouches for is not validated again, and one edited by hand is;
a damaged history file is refused by name, leaving the state and the journal as they were."""
import hashlib
import io
import json
import unittest
from pathlib import Path

import support
import bad_input
import metaopt
import sim_host
from bad_input import fresh_copy, journal, tree

from metaopt_lib.contract import history
from metaopt_lib.control.state_store import CampaignDir

AFTER_ITERATION = (2, "IDEATE", "plan_ideation")
STATE = Path(".ml-metaopt/state.json")


def step(root, command="step"):
    out = io.StringIO()
    code = metaopt.main([command, "--project-root", str(root), "--json", "--now", bad_input.clock(root)], out=out)
    return code, json.loads(out.getvalue())


def to_version_4(root) -> dict:
    """Rewrite the project's state as the version 4 format kept it: every completed iteration, learning
    and spend entry inline, no history/ files."""
    view = support.campaign_view(root)
    state = {key: value for key, value in view.items() if key != "history"}
    state["schema_version"] = 4
    state["spend_ledger"] = {key: value for key, value in view["spend_ledger"].items() if key != "closed_usd"}
    for kind in history.KINDS:
        (Path(root) / history.file_path(kind)).unlink(missing_ok=True)
    (Path(root) / STATE).write_text(json.dumps(state, indent=2))
    return state


def finish(root) -> dict:
    """Run the simulated host to the end; what must not depend on how the state got there."""
    sim_host.Host(root).run()
    view = support.campaign_view(root)
    return {"iterations": view["completed_iterations"], "learnings": view["learnings"],
            "ledger": view["spend_ledger"], "baseline": view["baseline"], "state": view["machine_state"]}


class Migration(unittest.TestCase):
    def test_a_version_4_state_is_migrated_by_the_next_step_and_the_campaign_goes_on_as_before(self):
        reference = finish(fresh_copy(AFTER_ITERATION))
        root = fresh_copy(AFTER_ITERATION)
        old = to_version_4(root)
        self.assertEqual(step(root)[0], 0)
        state = json.loads((root / STATE).read_text())
        self.assertEqual(state["schema_version"], 5)
        self.assertNotIn("completed_iterations", state)
        view = support.campaign_view(root)
        self.assertEqual(view["completed_iterations"], old["completed_iterations"])
        self.assertEqual(view["learnings"], old["learnings"])
        self.assertEqual(view["spend_ledger"]["entries"], old["spend_ledger"]["entries"])
        self.assertEqual(view["spend_ledger"]["total_usd"], old["spend_ledger"]["total_usd"])
        self.assertIn("migrated", [entry.get("event") for entry in journal(root)])
        self.assertEqual(finish(root), reference)

    def test_a_migration_killed_part_way_is_done_again_by_the_next_step(self):
        reference = finish(fresh_copy(AFTER_ITERATION))
        with self.subTest(killed="while writing the history files, before the state"):
            root = fresh_copy(AFTER_ITERATION)
            old = to_version_4(root)
            for kind in history.KINDS:  # a torn first line: what a kill mid-write leaves
                path = root / history.file_path(kind)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b'{"iteration": 1, "torn')
            self.assertEqual(step(root)[0], 0)
            view = support.campaign_view(root)
            self.assertEqual((view["completed_iterations"], view["learnings"]),
                             (old["completed_iterations"], old["learnings"]))
            self.assertEqual(finish(root), reference)
        with self.subTest(killed="after the state, before the journal's record of it"):
            root = fresh_copy(AFTER_ITERATION)
            to_version_4(root)
            CampaignDir(root).read_state()  # the migration alone, as a step makes it before anything else
            journal_path = root / ".ml-metaopt" / "journal.jsonl"
            lines = journal_path.read_bytes().splitlines(keepends=True)
            self.assertEqual(json.loads(lines[-1])["event"], "migrated")
            journal_path.write_bytes(b"".join(lines[:-1]))
            self.assertEqual(json.loads((root / STATE).read_text())["schema_version"], 5)
            self.assertEqual(step(root)[0], 0, "a state the journal does not vouch for is validated and used")
            self.assertEqual(finish(root), reference)

    def test_status_reads_a_version_4_state_without_writing_anything(self):
        root = fresh_copy(AFTER_ITERATION)
        to_version_4(root)
        before = tree(root)
        code, document = step(root, "status")
        self.assertEqual((code, document["completed_iterations"]), (0, 1))
        self.assertEqual(tree(root), before)

    def test_a_version_4_state_that_cannot_be_migrated_is_refused_and_left_as_it_is(self):
        root = fresh_copy(AFTER_ITERATION)
        old = to_version_4(root)
        del old["learnings"]
        (root / STATE).write_text(json.dumps(old, indent=2))
        before = tree(root)
        code, document = step(root)
        self.assertEqual((code, document["error"]["code"]), (1, "state-invalid"))
        self.assertIn("state.migration_failed", [issue["rule"] for issue in document["error"]["issues"]]
                      or [document["error"]["message"]])
        self.assertEqual(tree(root), before)


class TrustedState(unittest.TestCase):
    def test_the_journal_vouches_for_the_state_the_driver_wrote(self):
        root = fresh_copy(AFTER_ITERATION)
        data = (root / STATE).read_bytes()
        self.assertEqual(journal(root)[-1]["state_sha256"], "sha256:" + hashlib.sha256(data).hexdigest())

    def test_a_state_edited_by_hand_is_validated_again_and_a_broken_edit_refused(self):
        root = fresh_copy(AFTER_ITERATION)
        state = json.loads((root / STATE).read_text())
        state["step_seq"] = "twelve"
        (root / STATE).write_text(json.dumps(state))
        before = tree(root)
        code, document = step(root)
        self.assertEqual((code, document["error"]["code"]), (1, "state-invalid"))
        self.assertIn("$.step_seq", document["error"]["message"])
        self.assertEqual(tree(root), before, "a refused state leaves everything as it was")

    def test_a_valid_edit_written_another_way_is_validated_and_the_campaign_goes_on(self):
        root = fresh_copy(AFTER_ITERATION)
        state = json.loads((root / STATE).read_text())
        (root / STATE).write_text(json.dumps(state, separators=(",", ":")))  # same content, other bytes
        self.assertFalse(CampaignDir(root)._vouched("sha256:" + hashlib.sha256((root / STATE).read_bytes()).hexdigest()))
        self.assertEqual(step(root)[0], 0)


class DamagedHistory(unittest.TestCase):
    def damaged(self, change):
        root = fresh_copy(AFTER_ITERATION)
        path = root / history.file_path("iterations")
        path.write_bytes(change(path.read_bytes()))
        before = {STATE.as_posix(): (root / STATE).read_bytes(),
                  "journal": (root / ".ml-metaopt" / "journal.jsonl").read_bytes()}
        code, document = step(root)
        self.assertEqual(code, 1, document)
        self.assertIn("history.damaged", [issue["rule"] for issue in document["error"]["issues"]])
        self.assertIn(".ml-metaopt/history/iterations.jsonl", document["error"]["message"])
        self.assertEqual({STATE.as_posix(): (root / STATE).read_bytes(),
                          "journal": (root / ".ml-metaopt" / "journal.jsonl").read_bytes()}, before)

    def test_a_truncated_history_is_refused_by_name(self):
        self.damaged(lambda data: data[:len(data) // 2])

    def test_a_changed_record_is_refused_by_name(self):
        # same length, still valid JSON: only the digest tells
        self.damaged(lambda data: data.replace(b'"sim-campaign-iter-1"', b'"sim-campaign-iter-9"', 1))

    def test_lines_after_the_committed_part_are_not_read_and_are_cut_off_by_the_next_append(self):
        root = fresh_copy(AFTER_ITERATION)
        path = root / history.file_path("iterations")
        committed = path.read_bytes()
        path.write_bytes(committed + b'{"iteration": 2, "torn')  # what a killed append leaves
        self.assertEqual(support.campaign_view(root)["completed_iterations"],
                         [json.loads(line) for line in committed.splitlines()])
        sim_host.Host(root).run()
        records = [json.loads(line) for line in path.read_bytes().splitlines()]
        self.assertEqual([r["iteration"] for r in records], [1, 2])


class SmallState(unittest.TestCase):
    def test_the_state_holds_no_history(self):
        root = fresh_copy((2, "COMPLETE", "stopped"))
        state = json.loads((root / STATE).read_text())
        self.assertFalse({"completed_iterations", "learnings"} & set(state))
        self.assertEqual([e["iteration"] for e in state["spend_ledger"]["entries"]], [2])
        self.assertEqual(state["history"]["iterations"]["count"], 2)


if __name__ == "__main__":
    unittest.main()
