"""Bad input for the campaign reader: a malformed ml_metaopt_campaign.yaml on a fresh project creates
no state; mid-campaign it blocks BLOCKED_CONFIG with progress kept, and resume continues once fixed."""
import unittest

import yaml

import support  # noqa: F401
import sim_host

from bad_input import (ANALYSIS_GATE_2, CAMPAIGN, IDEATION_GATE, IDEATION_GATE_2, ITERATIONS, POLL_GATE_2,
                       SELECTION_GATE_2, SMOKE_GATE_2, STATE, DriverCase, fresh_copy, journal, read_state, tree,
                       work_dir, write_bytes)
from metaopt_lib.contract import schemas, validation


def campaign_cases() -> list:
    """(name, bytes) for ml_metaopt_campaign.yaml: every one is an invalid campaign."""
    document = sim_host.campaign_document()
    text = yaml.safe_dump(document, sort_keys=False)
    last_section = text.index("stop_conditions:")
    cases = [(f"truncated-at-{cut}", text[:cut].encode()) for cut in (1, 10, last_section // 4, last_section // 2,
                                                                      last_section - 1)]
    cases += [
        # A YAML null document (null, ~, a bare ---) is a known bug with a test of its own below.
        ("empty-file", b""), ("top-level-list", b"- a\n- b\n"),
        ("top-level-string", b"just a string\n"), ("top-level-number", b"42\n"),
        ("invalid-utf8-bytes", text.encode()[:20] + b"\xff\xfe" + text.encode()[20:]),
        ("utf-16", text.encode("utf-16")),
        ("latin-1", text.replace("sim-campaign", "sim-caf\u00e9").encode("latin-1")),
        ("tab-indentation", text.replace("  name: sim-campaign", "\tname: sim-campaign").encode()),
        ("unclosed-flow", text.replace("name: sim-campaign", "name: [sim-campaign").encode()),
        ("python-tag", text.replace("name: sim-campaign", "name: !!python/object:os.system x").encode()),
        ("duplicate-key", text.replace("compute:\n", "compute:\n  run_cap: 3\n", 1).encode()),
        ("alias-bomb", ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(8))).encode()),
    ]
    for key in schemas.load_schema("campaign")["required"]:
        cases.append((f"missing-{key}", yaml.safe_dump({k: v for k, v in document.items() if k != key}).encode()))
    replacements = [
        ("campaign.name", 123), ("campaign.name", "Not A Slug!"), ("compute.max_budget_usd", "five"),
        ("compute.run_cap", "4"), ("objective.direction", 1), ("objective.direction", "sideways"),
        ("stop_conditions.max_iterations", [1]), ("proposal_policy", "x"), ("wandb", ["sim"]),
        ("compute.max_budget_usd", -5.0), ("compute.run_cap", 0), ("compute.run_cap", 10 ** 12),
        ("stop_conditions.max_iterations", 10 ** 9), ("compute.max_budget_usd", 10 ** 30),
        ("project.repo", "../outside"), ("project.repo", "/etc"), ("project.program", "../../evil.py"),
        ("project.program", "/usr/bin/python3"), ("project.smoke_test_command", ""),
        ("campaign.unexpected", True), ("unexpected_section", {"a": 1}), ("compute.local.unexpected", 1),
    ]
    for dotted, value in replacements:
        cases.append((f"set-{dotted}={value!r}"[:80], yaml.safe_dump(sim_host.campaign_document(**{dotted: value}),
                                                                    sort_keys=False).encode()))
    for token in (".nan", ".inf", "-.inf", "1.0e+400", "1e-5"):
        cases.append((f"number-{token}", text.replace("max_budget_usd: 5.0", f"max_budget_usd: {token}").encode()))
    cases.append(("threshold-nan", text.replace("improvement_threshold: 0.005",
                                                "improvement_threshold: .nan").encode()))
    cases.append(("date-as-name", text.replace("name: sim-campaign", "name: 2026-01-01").encode()))
    return cases


class CampaignReader(DriverCase):
    def test_malformed_campaign_on_a_fresh_project_creates_no_state(self):
        root = work_dir() / "fresh-campaign"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        cases = campaign_cases()
        for name, data in cases:
            with self.subTest(case=name):
                write_bytes(root / CAMPAIGN, data)
                self.assertTrue(validation.load_and_validate("campaign", root / CAMPAIGN)[1], "not malformed")
                before = tree(root)
                code, document, _ = self.drive(root)
                self.assert_error_report(code, document, "campaign-invalid")
                self.assertIn(CAMPAIGN, document["error"]["message"])
                self.assertTrue(document["error"]["issues"])
                self.assertFalse((root / STATE).exists(), "no state.json may be created")
                self.assertFalse((root / ".ml-metaopt" / "journal.jsonl").exists())
                self.assertEqual(tree(root), before)
        self.assertGreaterEqual(len(cases), 40)

    def _block_and_resume(self, key, corrupt):
        """Corrupt the campaign at a position, step until stopped, restore it, resume; returns the root."""
        root = fresh_copy(key)
        host = sim_host.Host(root)
        good = (root / CAMPAIGN).read_bytes()
        before = read_state(root)
        write_bytes(root / CAMPAIGN, corrupt(good))
        code, document, _ = self.drive(root)
        self.assert_progress(code, document)
        self.assertEqual(document["machine_state"], "BLOCKED_CONFIG")
        self.assertEqual(next(e["outcome"] for e in reversed(journal(root)) if "outcome" in e), "blocked")
        for _ in range(5):  # the terminal cleanup (teardown of a live sweep) may need the executor
            if document["action"]["kind"] == "stop":
                break
            self.assertEqual(document["action"]["kind"], "run_executor", document)
            host.act(document["action"])
            code, document, _ = self.drive(root)
            self.assert_progress(code, document)
        self.assertEqual(document["action"]["kind"], "stop")
        blocked = read_state(root)
        self.assertEqual(blocked["block"]["code"], "campaign-invalid")
        self.assertEqual((blocked["block"]["resume_state"], blocked["block"]["resume_phase"]), key[1:])
        for field in ("completed_iterations", "spend_ledger", "baseline", "learnings", "iteration", "campaign"):
            self.assertEqual(blocked[field], before[field], field)
        code, document, _ = self.drive(root, "resume")
        self.assert_error_report(code, document, "campaign-invalid")  # still broken: resume refuses
        self.assertEqual(read_state(root), blocked)
        write_bytes(root / CAMPAIGN, good)
        code, document, _ = self.drive(root, "resume")
        self.assert_progress(code, document)
        resumed = next(e for e in journal(root) if e.get("event") == "resume")
        self.assertEqual((resumed["from"], resumed["to"]), ("BLOCKED_CONFIG", key[1]))
        self.assertIn(f"{key[1]}/{key[2]}", resumed["summary"])
        return root

    def test_malformed_campaign_mid_campaign_blocks_config_and_resume_continues(self):
        corruptions = {
            IDEATION_GATE_2: lambda good: good[: len(good) // 2],
            SELECTION_GATE_2: lambda good: good.replace(b"max_budget_usd: 5.0", b"max_budget_usd: .nan"),
            SMOKE_GATE_2: lambda good: good.replace(b"program: train.py", b"program: ../train.py"),
            POLL_GATE_2: lambda good: good[:30] + b"\xff" + good[30:],
            ANALYSIS_GATE_2: lambda good: good.replace(b"run_cap: 4", b"run_cap: four"),
        }
        for key, corrupt in corruptions.items():
            with self.subTest(position=key):
                root = self._block_and_resume(key, corrupt)
                final = sim_host.Host(root).run()
                self.assertEqual(final["action"]["terminal_state"], "COMPLETE", final)
                self.assertEqual(len(read_state(root)["completed_iterations"]), ITERATIONS)

    def test_campaign_fixed_during_first_ideation_resumes_without_a_protocol_block(self):
        root = self._block_and_resume(IDEATION_GATE, lambda good: good.replace(b"run_cap: 4", b"run_cap: -1"))
        final = sim_host.Host(root).run()
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE", final["action"])

    def test_campaign_file_missing_or_a_directory_on_a_fresh_project(self):
        root = work_dir() / "no-campaign-file"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        (root / CAMPAIGN).unlink()
        for make in (lambda: None, lambda: (root / CAMPAIGN).mkdir()):
            make()
            code, document, _ = self.drive(root)
            self.assert_error_report(code, document, "campaign-invalid")
            self.assertFalse((root / STATE).exists())

    def test_campaign_yaml_null(self):
        root = work_dir() / "null-campaign"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        for data in (b"null\n", b"~\n", b"---\n"):
            write_bytes(root / CAMPAIGN, data)
            code, document, _ = self.drive(root)
            self.assert_error_report(code, document, "campaign-invalid")
            self.assertFalse((root / STATE).exists())

    def test_campaign_name_with_a_trailing_newline(self):
        root = work_dir() / "newline-campaign"
        root.mkdir(parents=True)
        sim_host.write_project(root, **{"campaign.name": "sim-campaign\n"})
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "campaign-invalid")
        self.assertFalse((root / STATE).exists())

    def test_malformed_campaign_on_fresh_project_through_the_script(self):
        root = work_dir() / "subprocess-fresh"
        root.mkdir(parents=True)
        sim_host.write_project(root)
        write_bytes(root / CAMPAIGN, b"campaign: {name: [unclosed\n")
        code, document, _ = self.run_script(root)
        self.assertEqual((code, document["error"]["code"]), (1, "campaign-invalid"))
        self.assertFalse((root / STATE).exists())


if __name__ == "__main__":
    unittest.main()
