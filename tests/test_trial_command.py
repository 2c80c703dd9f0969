"""Trial argv from W&B command macros, as wandb agent builds it."""
from __future__ import annotations

import json
import unittest

import support  # noqa: F401
from metaopt_lib.contract.trial_command import trial_argv

PARAMS = {"lr": 0.001, "layers": 3, "amp": True, "dropout_off": False, "name": "a b"}


def argv(template, env=None):
    return trial_argv(template, "train.py", PARAMS, env or {}, "/tmp/args.json", interpreter="/py")


class TrialCommandTest(unittest.TestCase):
    def test_default_template_runs_the_program_with_dashed_arguments(self):
        self.assertEqual(argv(None), ["/usr/bin/env", "/py", "train.py", "--lr=0.001", "--layers=3", "--amp=True",
                                      "--dropout_off=False", "--name=a b"])

    def test_every_argument_macro(self):
        self.assertEqual(argv(["${args_no_hyphens}"]), ["lr=0.001", "layers=3", "amp=True", "dropout_off=False",
                                                         "name=a b"])
        self.assertEqual(argv(["${args_no_equals}"])[:4], ["--lr", "0.001", "--layers", "3"])
        self.assertEqual(argv(["${args_no_boolean_flags}"]), ["--lr=0.001", "--layers=3", "--amp", "--name=a b"])
        self.assertEqual(json.loads(argv(["${args_json}"])[0]), PARAMS)
        self.assertEqual(argv(["${args_json_file}"]), ["/tmp/args.json"])
        self.assertEqual(argv(["${args_override_hydra}"])[0], "++lr=0.001")
        self.assertEqual(argv(["${args_append_hydra}"])[0], "+lr=0.001")

    def test_envvar_macro_is_replaced_inside_items_and_left_as_its_name_when_unset(self):
        self.assertEqual(argv(["--data=${envvar:DATA_DIR}/x", "${envvar:MISSING}"], {"DATA_DIR": "/d"}),
                         ["--data=/d/x", "MISSING"])

    def test_unknown_macros_vanish_and_plain_items_stay(self):
        self.assertEqual(argv(["python3", "${nope}", "${program}", "--fixed"]), ["python3", "train.py", "--fixed"])

    def test_a_macro_inside_a_longer_item_is_not_expanded(self):
        # wandb replaces whole items only; so do we (the item reaches the program unchanged).
        self.assertEqual(argv(["--cfg=${args_json_file}"]), ["--cfg=${args_json_file}"])


if __name__ == "__main__":
    unittest.main()
