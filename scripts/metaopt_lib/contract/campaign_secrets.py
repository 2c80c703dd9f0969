"""The secrets of one campaign: the values every sink hides, the warnings about secrets written into the
campaign file, and the real values the executor runs with when a directive shows them [REDACTED].

A campaign's secrets are (references/secrets.md):
  - the values of secret-named environment variables of the process (redaction.secret_values);
  - in ml_metaopt_campaign.yaml, every string under a key that names a credential (names_a_credential:
    its last word is key, token, secret, password...), at any depth (a search_space parameter's
    `distribution` aside);
  - in every string of it (read as a command line) and every list of strings (read as an argv), the
    values of inline `NAME=value` assignments with a secret NAME and of secret-named flags
    (`--api-key VALUE`, `--api-key=VALUE`).
A value written as a reference ($NAME, ${NAME}, ${envvar:NAME}) stands for the environment's value,
which then is a secret too. Values shorter than MIN_SECRET_LENGTH are left to the shapes and the
assignment rule, as for the environment.

The control plane writes a directive with its secrets [REDACTED]; the executor takes the real command
from the campaign file (real_value), checking that it is the one the directive shows.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from collections.abc import Mapping

from . import validation
from .issues import Issue, sort_issues
from .paths import CAMPAIGN_FILE
from .redaction import MIN_SECRET_LENGTH, REDACTED, Redactor, looks_secret, secret_values

WARNING_CODE = "secret-in-campaign"
ENVIRONMENT_FIX = ("pass it through the environment: export it in the shell that runs metaopt.py (the smoke test "
                   "and every trial inherit it), read it with os.environ in the program, and where a command needs "
                   "it write \"$NAME\" in project.smoke_test_command or ${envvar:NAME} in project.command instead of "
                   "the value (references/secrets.md)")
# Under a secret-named search_space parameter, its `distribution` is a word of the contract, not a value.
NOT_A_VALUE_KEYS = ("distribution",)
CREDENTIAL_WORDS = ("key", "apikey", "token", "secret", "password", "passwd", "credential", "credentials", "auth")
_NAME_WORDS = re.compile(r"[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])")
_ASSIGNED_NAME = re.compile(r"-{0,2}[A-Za-z_][A-Za-z0-9_.\-]*")
_REFERENCE = re.compile(r"\$(?:\{envvar:(?P<macro>\w+)\}|\{(?P<braced>[A-Za-z_]\w*)\}|(?P<bare>[A-Za-z_]\w*))")


def names_a_credential(key) -> bool:
    """Whether a key of the campaign (in practice a search_space parameter: the rest of the file has
    fixed names) names a credential: its last word is one (`api_key`, `hfToken`, `service_password`).
    Stricter than an environment variable's name, because a hyperparameter's values reach the
    program: `tokenizer`, `key_dim` or `max_tokens` name no credential, and hiding their values
    would break the trials."""
    if not isinstance(key, str):
        return False
    words = [w.lower() for w in _NAME_WORDS.split(key) if w]
    return bool(words) and words[-1] in CREDENTIAL_WORDS


class SecretUnavailable(Exception):
    """A directive shows a value [REDACTED] that the campaign file no longer holds."""


def read_campaign(project_root):
    """The campaign document as parsed, valid or not (an invalid one still holds its secrets); None when
    there is none to read."""
    root = Path(project_root)
    document, _ = validation.load_and_validate("campaign", root / CAMPAIGN_FILE, label=CAMPAIGN_FILE, within=root)
    return document if isinstance(document, dict) else None


def redactor_for(campaign, env: Mapping[str, str]) -> Redactor:
    """The one redaction of a campaign run in environment `env` (campaign: a parsed document or None)."""
    return Redactor(secret_values(env) + campaign_secret_values(campaign, env))


def project_redactor(project_root, env: Mapping[str, str]) -> Redactor:
    return redactor_for(read_campaign(project_root), env)


def campaign_secret_values(campaign, env: Mapping[str, str] | None = None) -> list[str]:
    """The secret values the campaign document holds (see the module docstring), longest first."""
    found: set[str] = set()
    _collect(campaign, False, env or {}, found)
    return sorted({v for v in found if len(v) >= MIN_SECRET_LENGTH}, key=lambda v: (-len(v), v))


def command_secrets(words, env: Mapping[str, str]) -> set[str]:
    """Values of secret-named `NAME=value` / `--flag=value` words and of the word after a secret-named flag."""
    out: set[str] = set()
    for index, word in enumerate(words):
        name, equals, value = word.partition("=")
        if equals and _ASSIGNED_NAME.fullmatch(name) and looks_secret(name):
            out |= _meant(value, env)
        elif (word.startswith("-") and looks_secret(word) and index + 1 < len(words)
              and not words[index + 1].startswith("-")):
            out |= _meant(words[index + 1], env)
    return out


def command_words(text: str) -> list[str]:
    """A command line split as /bin/sh would (operators such as ; and && apart); on bad quoting, by blanks."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:
        return text.split()


def _collect(value, under_secret_key: bool, env, found: set) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if under_secret_key and key in NOT_A_VALUE_KEYS:
                continue
            _collect(item, under_secret_key or names_a_credential(key), env, found)
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            found |= command_secrets(value, env)
        for item in value:
            _collect(item, under_secret_key, env, found)
    elif isinstance(value, str):
        if under_secret_key:
            found |= _meant(value, env)
        found |= command_secrets(command_words(value), env)


def _meant(value: str, env) -> set[str]:
    """The secret a written value stands for: the environment's value of a reference, else the value."""
    match = _REFERENCE.fullmatch(value.strip("\"'"))
    if match:
        referenced = env.get(match.group("macro") or match.group("braced") or match.group("bare"))
        return {referenced} if referenced else set()
    return {value} if value else set()


# -- the real values behind a redacted directive ------------------------------------------------------

def real_value(shown, campaign, path: tuple):
    """The campaign's value at `path` (keys), which `shown` is with its secrets [REDACTED]; `shown`
    itself when it hides nothing. Raises SecretUnavailable when the campaign no longer holds a value
    that `shown` can be the redaction of (the campaign file changed, or is unreadable)."""
    if not _hides(shown):
        return shown
    real = campaign
    for key in path:
        real = real.get(key) if isinstance(real, dict) else None
    if not _could_show(shown, real):
        raise SecretUnavailable(f"{'.'.join(path)} holds a secret that the directive shows as {REDACTED}, and "
                                f"{CAMPAIGN_FILE} no longer has a value it could be")
    return real


def _hides(value) -> bool:
    if isinstance(value, list):
        return any(_hides(item) for item in value)
    return isinstance(value, str) and REDACTED in value


def _could_show(shown, real) -> bool:
    if isinstance(shown, list):
        return (isinstance(real, list) and len(real) == len(shown)
                and all(_could_show(s, r) for s, r in zip(shown, real)))
    if not isinstance(shown, str) or not isinstance(real, str):
        return False
    marker = REDACTED  # each one hides at least one character of the real value
    pattern = "(?:.+?)".join(re.escape(piece) for piece in shown.split(marker))
    return re.fullmatch(pattern, real, re.DOTALL) is not None


# -- warnings about secrets written into the campaign ---------------------------------------------------

def campaign_secret_warnings(campaign, label: str = CAMPAIGN_FILE) -> list[Issue]:
    """One warning per field of the campaign that holds a secret, naming its JSON path and the fix, never
    the value: a secret-named key with a literal value, a credential-shaped value, or a secret in a command."""
    redactor = redactor_for(campaign, {})
    warnings: list[Issue] = []
    _warn(campaign, (), None, redactor, label, warnings)
    return sort_issues(warnings)


def _warn(value, parts, secret_key, redactor, label, warnings) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if secret_key is not None and key in NOT_A_VALUE_KEYS:
                continue
            named = key if names_a_credential(key) else None
            _warn(item, parts + (key,), secret_key or named, redactor, label, warnings)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _warn(item, parts + (index,), secret_key, redactor, label, warnings)
    elif isinstance(value, str) and value:
        literal = secret_key is not None and not _REFERENCE.fullmatch(value.strip("\"'"))
        if literal or redactor.text(value) != value:
            what = (f"a literal value under the secret-named key {secret_key!r}" if literal else
                    "a secret (a credential-shaped value, or the value of a secret-named NAME=value or --flag)")
            warnings.append(Issue(label, parts, WARNING_CODE, f"holds {what}; every file and output of the skill "
                                  f"shows it as {REDACTED}", "no secret in the campaign file", ENVIRONMENT_FIX))
