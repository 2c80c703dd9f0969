"""No secret on disk or in any output (references/secrets.md): a real local campaign whose environment,
smoke command, sweep command, campaign file and program output hold planted secrets leaves none of them
in any file under the project or in anything a command printed, while the program saw every real value.
Then each sink on its own: the smoke test runs the campaign's real command, a trial's output reaches
output.log redacted even after its runner died, the runner's own output, and the warnings about a
campaign that holds secrets."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

import support
import validate as validate_cli
from local_sweep_support import TRAINING, Project, optuna_and_wandb, wait_until
from metaopt_lib.contract.campaign_secrets import (SecretUnavailable, campaign_secret_values, campaign_secret_warnings,
                                                   real_value)
from metaopt_lib.contract.redaction import REDACTED, Redactor
from metaopt_lib.dispatch.cli import run_cli
from metaopt_lib.executor.cloud.backend import with_real_values
from metaopt_lib.executor.local.output_relay import relay_argv, send_secrets
from metaopt_lib.executor.local.sweep import runner_alive
from metaopt_lib.executor.outcome import ExecContext
from metaopt_lib.executor.redacted_output import LineRedactor
from metaopt_lib.executor.smoke import run_smoke_test
from metaopt_lib.preflight import checks as preflight

METAOPT = support.SCRIPTS / "metaopt.py"
PREFLIGHT = support.SCRIPTS / "preflight.py"
VALIDATE = support.SCRIPTS / "validate.py"
# None of them has a credential's shape: each is found only by the rule it tests.
ENV_SECRETS = {"WANDB_API_KEY": "planted-wandb-key-7Jq2x", "AWS_SECRET_ACCESS_KEY": "planted/aws+secret/Zk81",
               "HF_TOKEN": "planted-hub-token-Lw30"}
SMOKE_TOKEN, SMOKE_FLAG = "planted-inline-token-Rv55", "planted-smoke-flag-Pk09"
COMMAND_TOKEN, COMMAND_FLAG = "planted-command-token-Ys12", "planted-command-flag-Nb47"
CAMPAIGN_FIELD = "planted-campaign-field-Mt63"
PROGRAM_TOKEN = "hf_" + "OwnTokenOfTheProgram" * 2  # printed by train_secrets.py, never given to it
PLANTED = {**ENV_SECRETS, "smoke inline": SMOKE_TOKEN, "smoke flag": SMOKE_FLAG, "command inline": COMMAND_TOKEN,
           "command flag": COMMAND_FLAG, "campaign field": CAMPAIGN_FIELD, "program's own token": PROGRAM_TOKEN}


def sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def secret_campaign() -> dict:
    return {
        "campaign": {"name": "secrets-check"},
        "project": {"repo": "repo", "program": "train_secrets.py",
                    "command": ["${env}", f"CMD_SECRET_TOKEN={COMMAND_TOKEN}", "${interpreter}", "${program}",
                                "--api-key", COMMAND_FLAG, "${args}"],
                    "smoke_test_command": f"MY_SECRET_TOKEN={SMOKE_TOKEN} python3 train_secrets.py --api-key {SMOKE_FLAG}"},
        "wandb": {"entity": "lab", "project": "secrets"},
        "compute": {"backend": "local", "run_cap": 1, "num_sweep_agents": 1, "idle_timeout_minutes": 10,
                    "local": {"max_wall_clock_minutes": 20}},
        "objective": {"metric": "val_loss", "direction": "minimize"},
        "search_space": {"lr": {"distribution": "log_uniform_values", "min": 1.0e-4, "max": 0.1},
                         "batch_size": {"values": [32, 64, 128]},
                         "service_password": {"value": CAMPAIGN_FIELD}},
        "proposal_policy": {"ideation_workers": 1, "proposals_per_worker": 1},
        "stop_conditions": {"max_iterations": 1}}


def leaks(data: bytes, planted=PLANTED) -> list:
    return [name for name, value in planted.items() if value.encode("utf-8") in data]


def files_with_leaks(root: Path, skip=()) -> dict:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path not in skip:
            names = leaks(path.read_bytes())
            if names:
                found[str(path.relative_to(root))] = names
    return found


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class CampaignLeavesNoSecret(unittest.TestCase):
    """metaopt.py run with the heuristic workers, the real executor and the local backend."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        base = Path(cls._tmp.name).resolve()
        cls.root, cls.seen = base / "project", base / "seen"
        cls.seen.mkdir()
        shutil.copytree(TRAINING, cls.root / "repo")
        cls.campaign_path = cls.root / "ml_metaopt_campaign.yaml"
        cls.campaign_path.write_text(yaml.safe_dump(secret_campaign(), sort_keys=False), encoding="utf-8")
        cls.env = dict(os.environ, **ENV_SECRETS, METAOPT_SEEN_DIR=str(cls.seen))
        cls.outputs = {}
        cls.run_code = cls._run("run", [sys.executable, str(METAOPT), "run", "--project-root", str(cls.root),
                                        "--workers", "heuristic", "--json"])
        cls._run("status", [sys.executable, str(METAOPT), "status", "--project-root", str(cls.root), "--json"])
        cls._run("validate", [sys.executable, str(VALIDATE), "campaign", str(cls.campaign_path)])
        cls._run("preflight", [sys.executable, str(PREFLIGHT), "--project-root", str(cls.root)])

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    @classmethod
    def _run(cls, name, argv):
        done = subprocess.run(argv, env=cls.env, capture_output=True, timeout=1200)
        cls.outputs[name] = done
        return done.returncode

    def test_the_campaign_completes(self):
        run = self.outputs["run"]
        self.assertEqual(self.run_code, 0, run.stderr.decode()[-3000:])
        self.assertEqual(json.loads(run.stdout)["machine_state"], "COMPLETE")

    def test_no_file_under_the_project_holds_a_planted_value(self):
        # The campaign file is the user's own: the secrets were written there by the user, not the skill.
        self.assertEqual(files_with_leaks(self.root, skip={self.campaign_path}), {})

    def test_no_command_printed_a_planted_value(self):
        for name, done in self.outputs.items():
            for stream in ("stdout", "stderr"):
                with self.subTest(command=name, stream=stream):
                    self.assertEqual(leaks(getattr(done, stream)), [])

    def test_the_program_saw_every_real_value(self):
        records = [json.loads(p.read_text()) for p in self.seen.glob("*.json")]
        smoke = [r for r in records if r["sweep_id"] == "smoke"]
        trials = [r for r in records if r["sweep_id"] != "smoke"]
        trial_dirs = list((self.root / ".ml-metaopt").glob("sweeps/*/trials/*"))
        self.assertEqual((len(smoke), len(trials)), (1, len(trial_dirs)), records)
        self.assertGreaterEqual(len(trials), 1)
        environment = {name: sha(value) for name, value in ENV_SECRETS.items()}
        self.assertEqual(smoke[0], {"sweep_id": "smoke", **environment, "MY_SECRET_TOKEN": sha(SMOKE_TOKEN),
                                    "CMD_SECRET_TOKEN": None, "api_key": sha(SMOKE_FLAG)})
        for record in trials:
            self.assertEqual(record, {"sweep_id": record["sweep_id"], **environment, "MY_SECRET_TOKEN": None,
                                      "CMD_SECRET_TOKEN": sha(COMMAND_TOKEN), "api_key": sha(COMMAND_FLAG)})

    def test_what_was_written_shows_the_marker_where_the_secrets_were(self):
        metaopt = self.root / ".ml-metaopt"
        documents = [json.loads(p.read_text()) for p in metaopt.rglob("smoke-*.json")]
        self.assertEqual([d["payload"]["command"] for d in documents if "payload" in d],
                         [f"MY_SECRET_TOKEN={REDACTED} python3 train_secrets.py --api-key {REDACTED}"])
        [spec] = [json.loads(p.read_text()) for p in metaopt.glob("sweeps/*/sweep.json")]
        self.assertEqual(spec["command"], ["${env}", f"CMD_SECRET_TOKEN={REDACTED}", "${interpreter}", "${program}",
                                           "--api-key", REDACTED, "${args}"])
        logs = [p.read_text() for p in metaopt.glob("sweeps/*/trials/*/output.log")]
        self.assertGreaterEqual(len(logs), 1)
        for log in logs:
            self.assertIn("after init: ", log, "the program's output reaches output.log")
            self.assertIn(REDACTED, log)

    def test_the_campaign_s_secrets_are_warned_about_by_path_never_by_value(self):
        validate, preflight_run = self.outputs["validate"], self.outputs["preflight"]
        self.assertEqual(validate.returncode, 0, validate.stderr)
        paths = [w["path"] for w in json.loads(validate.stdout)["warnings"]]
        self.assertEqual(paths, ["$.project.command[1]", "$.project.command[5]", "$.project.smoke_test_command",
                                 "$.search_space.service_password.value"])
        self.assertIn("pass it through the environment", validate.stderr.decode())
        self.assertEqual(preflight_run.returncode, 0, preflight_run.stderr)
        self.assertEqual(preflight_run.stderr.decode().count("preflight.py: warning: "), 4)
        check = next(c for c in json.loads(preflight_run.stdout)["checks"] if c["name"] == "campaign-secrets")
        self.assertEqual(check["result"], "pass")
        self.assertTrue(check["detail"].startswith("warning: $.project.command[1]"), check["detail"])


class SmokeRunsTheCampaignsRealCommand(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root, self.seen = Path(tmp.name).resolve() / "project", Path(tmp.name).resolve() / "seen.txt"
        (self.root / "repo").mkdir(parents=True)
        (self.root / "repo" / "show.sh").write_text(f'printf "%s %s" "$MY_SECRET_TOKEN" "$2" > {self.seen}\n'
                                                    'echo "token $MY_SECRET_TOKEN flag $2"\n')
        self.command = f"MY_SECRET_TOKEN={SMOKE_TOKEN} sh show.sh --api-key {SMOKE_FLAG}"
        self.write_campaign(self.command)

    def write_campaign(self, command):
        (self.root / "ml_metaopt_campaign.yaml").write_text(yaml.safe_dump({"project": {"smoke_test_command": command}}))

    def smoke(self, shown):
        payload = {"command": shown, "working_dir": "repo", "timeout_seconds": 60, "max_output_lines": 10}
        return run_smoke_test(payload, ExecContext(self.root, env={"PATH": os.environ["PATH"]}), limit_seconds=120)

    def test_the_directive_shows_the_marker_and_the_program_gets_the_real_values(self):
        shown = f"MY_SECRET_TOKEN={REDACTED} sh show.sh --api-key {REDACTED}"
        outcome = self.smoke(shown)
        self.assertTrue(outcome.details["passed"], outcome.details)
        self.assertEqual(self.seen.read_text(), f"{SMOKE_TOKEN} {SMOKE_FLAG}")
        self.assertEqual(outcome.details["stdout_tail"], [f"token {REDACTED} flag {REDACTED}"])

    def test_a_campaign_that_no_longer_holds_the_command_runs_nothing(self):
        self.write_campaign("sh show.sh --api-key other-flag-value")
        outcome = self.smoke(f"MY_SECRET_TOKEN={REDACTED} sh show.sh --api-key {REDACTED}")
        self.assertEqual(outcome.error.code, "smoke-command-changed")
        self.assertFalse(self.seen.exists(), "the program ran")


class RealValuesBehindTheMarker(unittest.TestCase):
    def test_a_list_or_string_is_restored_only_from_a_campaign_value_it_can_be(self):
        campaign = {"project": {"command": ["run", "--api-key", COMMAND_FLAG]},
                    "compute": {"skypilot": {"setup": f"pip install x && login --token {COMMAND_TOKEN}"}}}
        self.assertEqual(real_value(["run", "--api-key", REDACTED], campaign, ("project", "command")),
                         campaign["project"]["command"])
        self.assertEqual(real_value(["run"], campaign, ("project", "command")), ["run"], "nothing hidden")
        for shown in (["run", "--other", REDACTED], ["run", REDACTED], f"run --api-key {REDACTED}"):
            with self.subTest(shown=shown), self.assertRaises(SecretUnavailable):
                real_value(shown, campaign, ("project", "command"))
        payload = {"sweep_config": {"command": ["run", "--api-key", REDACTED], "run_cap": 2},
                   "skypilot": {"setup": f"pip install x && login --token {REDACTED}", "accelerator": "A:1"}}
        real = with_real_values(payload, campaign)
        self.assertEqual((real["sweep_config"]["command"], real["skypilot"]["setup"]),
                         (campaign["project"]["command"], campaign["compute"]["skypilot"]["setup"]))
        self.assertIn(REDACTED, payload["skypilot"]["setup"], "the directive's payload is left as it was")


class TrialOutputRelay(unittest.TestCase):
    """output_relay.py as the runner starts it: the program's output reaches the log redacted."""

    def relay(self, program: str, env=None, secrets=(SMOKE_TOKEN,), cwd=None):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        log = Path(tmp.name) / "output.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(relay_argv(sys.executable, [sys.executable, "-c", program, "--api-key",
                                                                   SMOKE_FLAG]),
                                       env=dict(os.environ, MY_SECRET_TOKEN=SMOKE_TOKEN, PYTHONUNBUFFERED="1",
                                                **(env or {})),
                                       stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True, cwd=cwd)
        send_secrets(process, Redactor(secrets))
        return process.wait(timeout=300), log.read_bytes()

    def test_both_streams_are_redacted_and_the_exit_code_is_the_program_s(self):
        program = ("import os, sys\n"
                   "print('env', os.environ['MY_SECRET_TOKEN'], 'argv', sys.argv[1:], 'stdin', repr(sys.stdin.read()))\n"
                   "sys.stderr.write('half ' + os.environ['MY_SECRET_TOKEN'][:7]); sys.stderr.flush()\n"
                   "sys.stderr.write(os.environ['MY_SECRET_TOKEN'][7:] + ' end\\n')\n"
                   "print('no newline at the end', end='')\n"
                   "sys.exit(7)")
        code, log = self.relay(program)
        self.assertEqual(code, 7)
        self.assertEqual(leaks(log), [])
        self.assertEqual(log.decode().splitlines(),
                         [f"env {REDACTED} argv ['--api-key', '{REDACTED}'] stdin ''", f"half {REDACTED} end",
                          "no newline at the end"])

    def test_a_file_of_the_repository_never_stands_in_for_a_module_of_the_relay(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        for name in ("json", "signal", "selectors", "metaopt_lib"):
            (Path(tmp.name) / f"{name}.py").write_text("raise SystemExit('the repository shadowed the relay')")
        code, log = self.relay(f"print('ran with', {SMOKE_TOKEN!r})", cwd=tmp.name)
        self.assertEqual((code, log.decode()), (0, f"ran with {REDACTED}\n"))

    def test_a_program_killed_by_a_signal_looks_killed_by_it(self):
        code, _ = self.relay("import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
        self.assertEqual(code, -signal.SIGTERM)

    def test_a_program_that_cannot_start_is_exit_127_with_the_reason_in_the_log(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        log = Path(tmp.name) / "output.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(relay_argv(sys.executable, [str(Path(tmp.name) / "missing")]),
                                       stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
        send_secrets(process, Redactor([]))
        self.assertEqual(process.wait(timeout=300), 127)
        self.assertIn("could not start the trial's program", log.read_text())


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class TrialOutlivesItsRunner(unittest.TestCase):
    PROGRAM = ("import os, time, wandb\n"
               "run = wandb.init(config={'epochs': 1})\n"
               "for epoch in range(100000):\n"
               "    print('epoch', epoch, 'token', os.environ['HF_TOKEN'], flush=True)\n"
               "    wandb.log({'loss': 1.0 / (epoch + 1)})\n"
               "    time.sleep(0.05)\n")

    def test_a_trial_whose_runner_died_goes_on_writing_its_log_redacted(self):
        p = Project()
        self.addCleanup(p.close)
        p.ctx = dataclasses.replace(p.ctx, env=dict(p.ctx.env, HF_TOKEN=ENV_SECRETS["HF_TOKEN"]))
        (p.root / "repo" / "loop.py").write_text(self.PROGRAM)
        p.run(p.launch_directive({"epochs": {"value": 1}, "x": {"min": 0.0, "max": 1.0}}, method="random",
                                 run_cap=1, agents=1, program="loop.py"))
        log = p.files.trial_dir(0) / "output.log"
        wait_until(lambda: _epochs(log) >= 2, timeout=300, what="the trial to log")
        os.kill(p.status()["runner_pid"], signal.SIGKILL)
        wait_until(lambda: not runner_alive(p.files), timeout=300, what="the runner's end")
        written = _epochs(log)
        wait_until(lambda: _epochs(log) > written + 2, timeout=300, what="the orphaned trial to go on writing")
        self.assertEqual(leaks(log.read_bytes()), [])
        self.assertIn(f"token {REDACTED}", log.read_text())


def _epochs(log: Path) -> int:
    """Lines the program wrote whole (the relay writes a line once it ended)."""
    text = log.read_text() if log.exists() else ""
    return sum(1 for line in text.splitlines(keepends=True) if line.startswith("epoch ") and line.endswith("\n"))


class RunnerOwnOutput(unittest.TestCase):
    def test_what_the_runner_prints_logs_and_raises_is_redacted(self):
        program = ("import sys, logging, warnings\n"
                   f"sys.path.insert(0, {str(support.SCRIPTS)!r})\n"
                   "from metaopt_lib.contract.redaction import Redactor\n"
                   "from metaopt_lib.executor.redacted_output import redact_standard_streams\n"
                   f"redact_standard_streams(Redactor([{SMOKE_TOKEN!r}]))\n"
                   f"print('printed {SMOKE_TOKEN}')\n"
                   f"logging.getLogger('optuna').warning('logged {SMOKE_TOKEN}')\n"
                   f"warnings.warn('warned {SMOKE_TOKEN}')\n"
                   f"raise RuntimeError('raised {SMOKE_TOKEN}')\n")
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=300)
        self.assertEqual(done.returncode, 1)
        self.assertEqual(leaks(done.stdout + done.stderr), [])
        for word in ("printed", "logged", "warned", "raised"):
            self.assertIn(f"{word} {REDACTED}".encode(), done.stdout + done.stderr)


class WorkerCliLog(unittest.TestCase):
    def test_a_worker_cli_s_log_hides_the_campaign_s_and_the_environment_s_secrets(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = Path(tmp.name)
        (root / "ml_metaopt_campaign.yaml").write_text(yaml.safe_dump(secret_campaign()))
        log = root / ".ml-metaopt" / "logs" / "workers" / "ideation-1-1-1.log"
        env = dict(os.environ, **ENV_SECRETS)
        run = run_cli(["sh", "-c", f'echo "$HF_TOKEN {COMMAND_FLAG}"; echo "{SMOKE_TOKEN}" >&2'], root, "", 60, log, env)
        self.assertEqual(run.exit_code, 0)
        self.assertEqual(leaks(log.read_bytes()), [])
        self.assertIn(f"{REDACTED} {REDACTED}", log.read_text())


class LineRedactorTest(unittest.TestCase):
    def feed(self, chunks, secrets=(SMOKE_TOKEN,)):
        written = []
        lines = LineRedactor(Redactor(secrets), written.append)
        for chunk in chunks:
            lines.feed(chunk)
        lines.close()
        return b"".join(written)

    def test_a_secret_split_across_reads_is_hidden_whole(self):
        data = f"a {SMOKE_TOKEN} b\r{SMOKE_TOKEN}\n".encode()
        for cut in range(1, len(data)):
            with self.subTest(cut=cut):
                self.assertEqual(self.feed([data[:cut], data[cut:]]), f"a {REDACTED} b\r{REDACTED}\n".encode())

    def test_a_long_line_without_an_end_is_written_in_bounded_pieces_without_a_fragment(self):
        data = b"x" * 200_000 + SMOKE_TOKEN.encode() + b"y" * 200_000
        out = self.feed([data[i:i + 4096] for i in range(0, len(data), 4096)])
        self.assertEqual(out, b"x" * 200_000 + REDACTED.encode() + b"y" * 200_000)

    def test_bytes_that_are_not_utf8_pass_unchanged(self):
        self.assertEqual(self.feed([b"\xff\xfe ok \xe2\x82", b"\xac\n"]), b"\xff\xfe ok \xe2\x82\xac\n")


class WarningsInProcess(unittest.TestCase):
    def test_validate_and_the_preflight_name_paths_and_the_fix_and_never_a_value(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = Path(tmp.name)
        (root / "repo").mkdir()
        (root / "repo" / "train_secrets.py").write_text("")
        path = root / "ml_metaopt_campaign.yaml"
        path.write_text(yaml.safe_dump(secret_campaign()))
        code, out, err = support.run_cli(validate_cli.main, ["campaign", str(path)])
        self.assertEqual((code, json.loads(out)["valid"]), (0, True))
        self.assertEqual(leaks((out + err).encode()), [])
        warning = json.loads(out)["warnings"][0]
        self.assertEqual((warning["rule"], warning["path"]), ("secret-in-campaign", "$.project.command[1]"))
        self.assertIn("pass it through the environment", warning["fix"])
        outcome = preflight.run(root, importable=lambda name: True, executor_exists=lambda: True, environ={},
                                home=root)
        self.assertEqual(outcome.artifact["status"], "READY")
        self.assertEqual(len(outcome.warnings), 4)
        self.assertEqual(leaks(json.dumps([outcome.artifact, outcome.warnings]).encode()), [])

    def test_a_campaign_without_secrets_gets_no_warning(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        path = Path(tmp.name) / "ml_metaopt_campaign.yaml"
        campaign = secret_campaign()
        campaign["project"] = {"repo": "repo", "program": "train_secrets.py",
                               "command": ["${env}", "${interpreter}", "${program}", "--api-key",
                                           "${envvar:MY_API_KEY}", "${args}"],
                               "smoke_test_command": 'python3 train_secrets.py --api-key "$MY_API_KEY"'}
        del campaign["search_space"]["service_password"]
        path.write_text(yaml.safe_dump(campaign))
        code, out, _ = support.run_cli(validate_cli.main, ["campaign", str(path)])
        self.assertEqual((code, json.loads(out)["warnings"]), (0, []))


class HyperparametersAreNotSecrets(unittest.TestCase):
    def test_only_a_parameter_named_for_a_credential_holds_a_secret(self):
        campaign = {"search_space": {"tokenizer": {"values": ["bert-base-uncased", "roberta-base"]},
                                     "key_dim": {"values": ["sixty-four", "one-twenty-eight"]},
                                     "max_tokens": {"value": "unlimited-length"},
                                     "service_password": {"value": CAMPAIGN_FIELD},
                                     "hfToken": {"value": "planted-camel-token"}}}
        self.assertEqual(sorted(campaign_secret_values(campaign)), sorted([CAMPAIGN_FIELD, "planted-camel-token"]))
        self.assertEqual([w.path for w in campaign_secret_warnings(campaign)],
                         ["$.search_space.hfToken.value", "$.search_space.service_password.value"])


if __name__ == "__main__":
    unittest.main()
