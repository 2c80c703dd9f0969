"""The example campaigns are valid, cover both backends, and comment every field."""
import re
import unittest

import support
import validate

from metaopt_lib.contract import campaign as campaign_lib

EXAMPLES = {"ml_metaopt_campaign.yaml": "skypilot", "ml_metaopt_campaign.local.yaml": "local",
            "quickstart/ml_metaopt_campaign.yaml": "local"}


class ExampleCampaigns(unittest.TestCase):
    def test_examples_validate_through_the_cli(self):
        for name in EXAMPLES:
            with self.subTest(example=name):
                code, out, err = support.run_cli(validate.main, [str(support.ROOT / "examples" / name)])
                self.assertEqual(code, 0, out)

    def test_each_example_uses_its_backend(self):
        for name, backend in EXAMPLES.items():
            document = support.validation.load_valid("campaign", support.ROOT / "examples" / name)
            self.assertEqual(campaign_lib.apply_defaults(document)["compute"]["backend"], backend)

    def test_every_field_has_a_comment_on_its_line_or_just_above(self):
        for name in EXAMPLES:
            lines = (support.ROOT / "examples" / name).read_text(encoding="utf-8").splitlines()
            for index, line in enumerate(lines):
                if re.match(r"^\s*[A-Za-z_][\w-]*:", line):
                    above = lines[index - 1].strip() if index else ""
                    with self.subTest(example=name, line=index + 1):
                        self.assertTrue("#" in line or above.startswith("#"), line)


if __name__ == "__main__":
    unittest.main()
