"""Every rule id the validators can emit is documented in the catalog, and every catalog entry is used."""
import re
import unittest

import support

from metaopt_lib.contract.rules import RULES

RULE_LITERAL = re.compile(r'"((?:file|parse|schema|sweep|campaign|worker|directive|budget|path|executor|preflight|'
                          r'registry|state|envelope|local|trial_table|history)\.(?!json"|yaml"|lock")[a-z_]+)"')


class RulesCatalog(unittest.TestCase):
    def setUp(self):
        lib = support.SCRIPTS / "metaopt_lib"
        self.used = set()
        for path in lib.rglob("*.py"):
            if path.name != "rules.py":
                self.used |= set(RULE_LITERAL.findall(path.read_text(encoding="utf-8")))

    def test_every_emitted_rule_is_documented(self):
        self.assertEqual(sorted(self.used - set(RULES)), [])

    def test_every_documented_rule_is_emitted(self):
        self.assertEqual(sorted(set(RULES) - self.used), [])

    def test_rule_descriptions_are_single_sentences(self):
        for rule, text in RULES.items():
            self.assertRegex(text, r"^[A-Za-z*].*\.$", rule)
            self.assertNotIn("\n", text)


if __name__ == "__main__":
    unittest.main()
