"""The one redaction rule of the skill: env-var values and well-known credential shapes become [REDACTED],
with one marker everywhere."""
from __future__ import annotations

import re
import time
import unittest

import support
from metaopt_lib.contract.campaign_secrets import (campaign_secret_values, command_secrets, command_words,
                                                   redactor_for)
from metaopt_lib.contract.redaction import REDACTED, Redactor, looks_secret, redact, redact_prefix, secret_values

WANDB_LEGACY = "0123456789abcdef0123456789abcdef01234567"
# The shape W&B issues since wandb 0.22.3 (86 characters); made-up characters.
WANDB_V1 = "wandb_v1_" + "Ab3" * 9 + "_" + "xY9z" * 12 + "Q"


class SecretValuesTest(unittest.TestCase):
    def test_values_of_secret_looking_names_are_collected_longest_first(self):
        env = {"WANDB_API_KEY": "k" * 40, "VAST_API_KEY": "v" * 64, "AWS_SECRET_ACCESS_KEY": "s" * 44,
               "hf_token": "h" * 37, "GITHUB_TOKEN": "g" * 40, "DB_PASSWORD": "p" * 12, "FTP_PASSWD": "q" * 9,
               "GOOGLE_APPLICATION_CREDENTIALS": "/keys/gcp.json", "HTTP_AUTH": "a" * 20}
        self.assertEqual(secret_values(env), sorted(env.values(), key=lambda v: (-len(v), v)))

    def test_ordinary_names_short_values_and_repeats_are_left_out(self):
        env = {"HOME": "/home/someone/long/path", "PATH": "/usr/bin:/bin", "WANDB_MODE": "offline-mode",
               "SHORT_TOKEN": "abc1234", "A_KEY": "same-value-123", "B_KEY": "same-value-123"}
        self.assertEqual(secret_values(env), ["same-value-123"])

    def test_names_are_judged_case_insensitively(self):
        for name in ("api_key", "Hf_Token", "my-secret", "PassWord", "oauth"):
            with self.subTest(name=name):
                self.assertTrue(looks_secret(name))
        for name in ("HOME", "WANDB_PROJECT", "lr", "epochs"):
            with self.subTest(name=name):
                self.assertFalse(looks_secret(name))


class RedactValuesTest(unittest.TestCase):
    def test_every_occurrence_of_a_secret_value_is_replaced(self):
        secret = "p4ss-w0rd-value"
        text = f"{secret} then again {secret}!"
        self.assertEqual(redact(text, [secret]), f"{REDACTED} then again {REDACTED}!")

    def test_a_secret_containing_another_is_hidden_whole(self):
        self.assertEqual(redact("x longsecret-abcdefgh y", ["secret-abcdefgh", "longsecret-abcdefgh"]),
                         f"x {REDACTED} y")

    def test_text_without_secrets_is_unchanged(self):
        for line in ("epoch 3/10 loss=0.2514 lr=1e-3 val_acc: 0.91", "Saved checkpoint to ./ckpt/model.pt",
                     "max_tokens: 512", "num_keys=3 key_dim = 64", "wandb: Tracking run with wandb version 0.31.0",
                     "commit abc1234 (short sha)", ""):
            with self.subTest(line=line):
                self.assertEqual(redact(line, ["unrelated-secret"]), line)


class RedactShapesTest(unittest.TestCase):
    """Credentials that never passed through the environment are still caught by their shape."""

    def check(self, text, expected):
        self.assertEqual(redact(text, []), expected)

    def test_legacy_wandb_key_and_therefore_any_40_hex_sha_is_redacted(self):
        self.check(f"key {WANDB_LEGACY} end", f"key {REDACTED} end")
        self.check(f"HEAD is {WANDB_LEGACY.upper()}", f"HEAD is {REDACTED}")
        self.check(f"local-{WANDB_LEGACY}", f"local-{REDACTED}")  # self-hosted prefix stays

    def test_hex_runs_of_other_lengths_are_kept(self):
        for text in ("a" * 39, "a" * 41, "sha256 " + "b" * 64, "g" + "a" * 40):
            with self.subTest(length=len(text)):
                self.check(text, text)

    def test_new_format_wandb_key(self):
        self.assertEqual(len(WANDB_V1), 86)
        self.check(f"login with {WANDB_V1!r} ok", f"login with '{REDACTED}' ok")
        self.check(f"using {WANDB_V1}.", f"using {REDACTED}.")

    def test_cloud_and_hub_tokens(self):
        tokens = ["AKIAIOSFODNN7EXAMPLE", "ASIAJ3Z7EXAMPLE4ABCD", "ghp_" + "a1B2" * 9, "gho_" + "Z" * 36,
                  "ghs_" + "q" * 36, "github_pat_11ABCDEFG0" + "x_y" * 20, "hf_" + "AbCd" * 8 + "xy",
                  "sk-" + "a" * 48, "sk-proj-" + "Bc_-" * 12]
        for token in tokens:
            with self.subTest(token=token[:12]):
                self.check(f"token {token} here", f"token {REDACTED} here")

    def test_secret_looking_assignments_lose_their_value(self):
        cases = {"WANDB_API_KEY=abc123 next": f"WANDB_API_KEY={REDACTED} next",
                 "export HF_TOKEN='hf-value'": f"export HF_TOKEN={REDACTED}",
                 "password: hunter2": f"password: {REDACTED}",
                 '{"api_key": "abc", "lr": 0.1}': '{"api_key": ' + REDACTED + ', "lr": 0.1}',
                 "env: VAST_API_KEY=v4st": f"env: VAST_API_KEY={REDACTED}",
                 "--db-secret=s3cr3t": f"--db-secret={REDACTED}"}
        for text, expected in cases.items():
            with self.subTest(text=text):
                self.check(text, expected)

    def test_plain_numbers_under_secret_looking_names_stay_readable(self):
        self.check("max_tokens: 512, key_size=0.5", "max_tokens: 512, key_size=0.5")

    def test_a_json_path_in_a_message_is_not_an_assignment(self):
        for text in ("state.json: $.unexpected_key: unknown key 'unexpected_key'",
                     "$.proposals[0].api_key: got string"):
            with self.subTest(text=text):
                self.check(text, text)
        self.check("config.api_key: abc", f"config.api_key: {REDACTED}")

    def test_an_unset_value_under_a_secret_looking_name_stays_readable(self):
        text = '{"HF_TOKEN": null, "api_key": None, "use_auth": true}'
        self.check(text, text)

    def test_authorization_headers_keep_the_scheme_and_hide_the_credential(self):
        self.check("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {REDACTED}")
        self.check('curl -H "Authorization: Basic dXNlcjpwYXNz" url', f'curl -H "Authorization: Basic {REDACTED}" url')
        self.check("authorization=opaquetoken", f"authorization={REDACTED}")
        self.check("sent bearer tok_123==", f"sent bearer {REDACTED}")

    def test_credentials_inside_a_url(self):
        self.check("index https://user:t0ken@pypi.example/simple", f"index https://user:{REDACTED}@pypi.example/simple")


class RedactFlagsTest(unittest.TestCase):
    """The value passed to a secret-named command-line flag, in a command line or an argv shown as a list."""

    def check(self, text, expected):
        self.assertEqual(redact(text, []), expected)

    def test_the_value_after_a_secret_named_flag_is_hidden(self):
        cases = {"train.py --api-key abc123xyz --lr 0.1": f"train.py --api-key {REDACTED} --lr 0.1",
                 "--token tok-1 --password 'two words'": f"--token {REDACTED} --password {REDACTED}",
                 "-auth-secret hush": f"-auth-secret {REDACTED}",
                 "argv ['t.py', '--api-key', 'flagvalue']": f"argv ['t.py', '--api-key', '{REDACTED}']",
                 '["--hf-token", "hub-value", "--epochs", "3"]': f'["--hf-token", "{REDACTED}", "--epochs", "3"]'}
        for text, expected in cases.items():
            with self.subTest(text=text):
                self.check(text, expected)

    def test_other_flags_numbers_the_next_flag_and_hyphenated_words_are_kept(self):
        for text in ("train.py --lr 0.1 --name run-7", "--max-tokens 512", "--api-key --verbose",
                     "re-auth now", "--tokens=64"):
            with self.subTest(text=text):
                self.check(text, text)


class ReferencesAndTwiceTest(unittest.TestCase):
    def test_a_reference_to_a_variable_is_not_a_secret(self):
        for text in ("--api-key $WANDB_API_KEY", 'HF_TOKEN="${HF_TOKEN}"', "--token ${envvar:MY_TOKEN}",
                     "password: $DB_PASSWORD"):
            with self.subTest(text=text):
                self.assertEqual(redact(text, []), text)

    def test_redacting_twice_changes_nothing(self):
        texts = ["api_key: abc123 password='x y' --token t0k", "Authorization: Bearer abc.def",
                 f'{{"hf_token": "hub-secret-1", "k": "{WANDB_LEGACY}"}}', "https://u:pw@host/x",
                 "env HF_TOKEN=hub-secret-1 run --secret-file=/a/b"]
        for text in texts:
            with self.subTest(text=text):
                once = redact(text, ["hub-secret-1"])
                self.assertNotEqual(once, text)
                self.assertEqual(redact(once, ["hub-secret-1"]), once)


class RedactPrefixTest(unittest.TestCase):
    def test_the_text_used_up_runs_to_the_end_of_a_secret_that_crosses_the_limit(self):
        secret = "crossing-secret-value"
        text = "ab " + secret + " rest"
        shown, used = redact_prefix(text, [secret], 5)
        self.assertEqual((shown, text[used:]), ("ab " + REDACTED, " rest"))
        self.assertEqual(redact_prefix(text, [secret], 2), ("ab", 2))


class CampaignSecretsTest(unittest.TestCase):
    """Which values of a campaign file are secrets (references/secrets.md)."""

    def test_strings_under_a_secret_named_key_at_any_depth_but_a_distribution(self):
        campaign = {"search_space": {"hf_token": {"distribution": "constant", "value": "hub-value-1"},
                                     "auth": {"parameters": {"inner": {"values": ["deep-value-1", "deep-value-2"]}}},
                                     "lr": {"values": ["plain-value-1"]}}}
        self.assertEqual(sorted(campaign_secret_values(campaign)), ["deep-value-1", "deep-value-2", "hub-value-1"])

    def test_inline_assignments_and_flag_values_in_command_strings(self):
        campaign = {"project": {"smoke_test_command": "MY_SECRET_TOKEN=inline-1234 python3 t.py --api-key flag-1234 "
                                                      "--password='pass 1234' && echo HF_TOKEN=short; ls"}}
        self.assertEqual(sorted(campaign_secret_values(campaign)), ["flag-1234", "inline-1234", "pass 1234"])

    def test_flag_values_in_command_lists_item_by_item(self):
        campaign = {"project": {"command": ["${env}", "CMD_TOKEN=listed-1234", "${interpreter}", "${program}",
                                            "--api-key", "listed-5678", "--auth-token=listed-9012", "${args}"]}}
        self.assertEqual(sorted(campaign_secret_values(campaign)), ["listed-1234", "listed-5678", "listed-9012"])

    def test_a_reference_stands_for_the_value_in_the_environment(self):
        campaign = {"project": {"command": ["--api-key", "${envvar:KEY_SOURCE}"],
                                "smoke_test_command": 'run --token "$TOKEN_SOURCE" --secret ${UNSET_ONE}'}}
        env = {"KEY_SOURCE": "from-env-1234", "TOKEN_SOURCE": "from-env-5678"}
        self.assertEqual(sorted(campaign_secret_values(campaign, env)), ["from-env-1234", "from-env-5678"])

    def test_short_values_and_non_secret_names_are_left_to_the_shapes(self):
        campaign = {"project": {"smoke_test_command": "API_KEY=short python3 t.py --lr 0.1 --name long-name-1"},
                    "campaign": {"name": "tokenless"}}
        self.assertEqual(campaign_secret_values(campaign), [])

    def test_command_words_split_like_the_shell_and_survive_bad_quoting(self):
        self.assertEqual(command_words("A_TOKEN='x y';run && B=2"), ["A_TOKEN=x y", ";", "run", "&&", "B=2"])
        self.assertEqual(command_words('run --token "unclosed'), ["run", "--token", '"unclosed'])
        self.assertEqual(command_secrets(["--token", "--next", "--key", "kept-value"], {}), {"kept-value"})

    def test_the_redactor_of_a_campaign_hides_its_values_and_the_environment_s(self):
        redactor = redactor_for({"project": {"smoke_test_command": "X_TOKEN=camp-value-1 run"}},
                                {"WANDB_API_KEY": "env-value-12", "HOME": "/home/someone"})
        self.assertEqual(redactor.text("camp-value-1 env-value-12 /home/someone"),
                         f"{REDACTED} {REDACTED} /home/someone")
        self.assertEqual(redactor_for(None, {}).text("nothing-to-hide"), "nothing-to-hide")


class RedactLimitTest(unittest.TestCase):
    def test_a_secret_crossing_the_limit_is_hidden_whole_and_nothing_after_the_limit_is_kept(self):
        secret = "crossing-secret-value"
        text = "x" * 10 + secret + "tail"
        self.assertEqual(redact(text, [secret], limit=15), "x" * 10 + REDACTED)
        self.assertEqual(redact(text, [secret], limit=5), "x" * 5)
        self.assertEqual(redact("short", [secret], limit=100), "short")

    def test_a_shape_crossing_the_limit_is_hidden_whole(self):
        self.assertEqual(redact("id=" + WANDB_LEGACY, [], limit=10), "id=" + REDACTED)


class RedactorTest(unittest.TestCase):
    def test_binds_secrets_and_redacts_text_and_lines(self):
        redactor = Redactor(secret_values({"HF_TOKEN": "hub-secret-1", "HOME": "/root"}))
        self.assertEqual(redactor.text("got hub-secret-1"), f"got {REDACTED}")
        self.assertEqual(redactor.lines(["a hub-secret-1", "/root ok"]), [f"a {REDACTED}", "/root ok"])

    def test_empty_secrets_are_ignored(self):
        self.assertEqual(Redactor(["", "value-12345"]).text("abc value-12345"), f"abc {REDACTED}")

    def test_a_document_is_redacted_at_every_depth_and_only_changed_strings_are_post_processed(self):
        redactor = Redactor(["hub-secret-1"])
        document = {"a": ["x hub-secret-1", {"b": "login " + WANDB_LEGACY}], "n": 3, "ok": "plain", "none": None}
        seen = []
        hidden = redactor.document(document, on_change=lambda text: seen.append(text) or text.upper())
        self.assertEqual(hidden, {"a": [f"X {REDACTED}", {"b": f"LOGIN {REDACTED}"}], "n": 3, "ok": "plain",
                                  "none": None})
        self.assertEqual(seen, [f"x {REDACTED}", f"login {REDACTED}"])
        self.assertEqual(document["a"][0], "x hub-secret-1", "the input is left as it was")


class OneRuleTest(unittest.TestCase):
    def test_no_other_redaction_marker_is_written_anywhere_in_the_library(self):
        marker = re.compile(r"[<\[(]redacted[>\])]", re.IGNORECASE)
        for path in sorted((support.SCRIPTS / "metaopt_lib").rglob("*.py")):
            text = path.read_text(encoding="utf-8").replace(REDACTED, "")
            with self.subTest(module=path.name):
                self.assertIsNone(marker.search(text), f"{path}: a second redaction marker")

    def test_cloud_messages_use_the_same_rule(self):
        from metaopt_lib.executor.cloud.common import one_line

        message = one_line(f"launch failed\n  WANDB_API_KEY=env-secret-9 and a token {WANDB_V1}",
                           {"WANDB_API_KEY": "env-secret-9"})
        self.assertEqual(message, f"launch failed WANDB_API_KEY={REDACTED} and a token {REDACTED}")


class RedactCostTest(unittest.TestCase):
    def test_large_adversarial_text_is_redacted_in_roughly_linear_time(self):
        # Runs of name characters and separators are where a careless pattern backtracks quadratically.
        for text in ("key" * 300_000, "a=b " * 250_000, "Authorization " * 70_000, "x" * 1_000_000):
            with self.subTest(text=text[:12]):
                started = time.monotonic()
                redact(text, ["some-secret-value"])
                self.assertLess(time.monotonic() - started, 10.0)


if __name__ == "__main__":
    unittest.main()
