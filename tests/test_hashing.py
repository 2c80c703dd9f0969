"""Identity and runtime hashes: published vectors, what each hash covers, canonical form."""
import copy
import hashlib
import json
import unittest

import support

from metaopt_lib.contract import campaign

VECTORS = json.loads((support.ROOT / "references" / "hash-test-vectors.json").read_text(encoding="utf-8"))["vectors"]
FIELDS = {"identity": campaign.identity_fields, "runtime": campaign.runtime_fields}
HASHES = {"identity": campaign.identity_hash, "runtime": campaign.runtime_config_hash}


class PublishedVectors(unittest.TestCase):
    def test_there_are_vectors_for_both_hashes(self):
        self.assertEqual({v["kind"] for v in VECTORS}, {"identity", "runtime"})

    def test_each_published_hash_is_sha256_of_its_published_canonical_json(self):
        # Independent of the library: anyone can recompute these from the docs.
        for vector in VECTORS:
            with self.subTest(vector=vector["name"]):
                digest = hashlib.sha256(vector["canonical_json"].encode("utf-8")).hexdigest()
                self.assertEqual(vector["hash"], "sha256:" + digest)

    def test_the_library_reproduces_each_vector(self):
        for vector in VECTORS:
            with self.subTest(vector=vector["name"]):
                fields = FIELDS[vector["kind"]](vector["campaign"])
                self.assertEqual(campaign.canonical_json(fields), vector["canonical_json"])
                self.assertEqual(HASHES[vector["kind"]](vector["campaign"]), vector["hash"])

    def test_vector_campaigns_are_valid_campaigns(self):
        from metaopt_lib.contract import validation
        for vector in VECTORS:
            with self.subTest(vector=vector["name"]):
                self.assertEqual(validation.validate_document("campaign", vector["campaign"], "vector"), [])


class WhatEachHashCovers(unittest.TestCase):
    def setUp(self):
        self.base = VECTORS[0]["campaign"]

    def _changed(self, edit):
        other = copy.deepcopy(self.base)
        edit(other)
        return (campaign.identity_hash(other) != campaign.identity_hash(self.base),
                campaign.runtime_config_hash(other) != campaign.runtime_config_hash(self.base))

    def test_identity_fields_change_only_the_identity_hash(self):
        edits = [lambda c: c["campaign"].update(name="other-name"),
                 lambda c: c["objective"].update(metric="val_acc"),
                 lambda c: c["objective"].update(direction="maximize"),
                 lambda c: c["wandb"].update(entity="someone-else"),
                 lambda c: c["wandb"].update(project="other-project")]
        for edit in edits:
            self.assertEqual(self._changed(edit), (True, False))

    def test_runtime_fields_change_only_the_runtime_hash(self):
        edits = [lambda c: c["compute"].update(run_cap=7),
                 lambda c: c["compute"].update(backend="skypilot", skypilot={
                     "provider": "vast_ai", "accelerator": "A100:1", "max_hourly_cost_usd": 2.0}),
                 lambda c: c["project"].update(repo="src"),
                 lambda c: c["project"].update(smoke_test_command="python train.py --dry")]
        for edit in edits:
            self.assertEqual(self._changed(edit), (False, True))

    def test_other_fields_change_neither(self):
        edits = [lambda c: c["stop_conditions"].update(max_iterations=99),
                 lambda c: c.update(proposal_policy={"ideation_workers": 4}),
                 lambda c: c["objective"].update(improvement_threshold=0.5),
                 lambda c: c["campaign"].update(description="new words")]
        for edit in edits:
            self.assertEqual(self._changed(edit), (False, False))

    def test_writing_a_default_explicitly_does_not_change_the_runtime_hash(self):
        self.assertEqual(self._changed(lambda c: c["compute"].update(num_sweep_agents=1, backend="local")),
                         (False, False))

    def test_integral_floats_hash_like_integers(self):
        self.assertEqual(self._changed(lambda c: c["compute"].update(max_budget_usd=10.0)), (False, False))
        self.assertEqual(self._changed(lambda c: c["compute"].update(max_budget_usd=10.5)), (False, True))

    def test_hash_format(self):
        self.assertRegex(campaign.identity_hash(self.base), r"^sha256:[0-9a-f]{64}$")

    def test_canonical_json_is_sorted_compact_utf8(self):
        self.assertEqual(campaign.canonical_json({"b": 1, "a": ["é", 2.5]}), '{"a":["é",2.5],"b":1}')


if __name__ == "__main__":
    unittest.main()
