"""The one redaction rule: what counts as a secret, and how it is hidden ([REDACTED]) in anything
the skill writes or prints (executor results, smoke output, cloud messages, the preflight artifact).

Two nets: the literal values of secret-looking environment variables, and the shapes of well-known
credentials even when they never passed through the environment.

W&B keys: legacy keys are 40 hex characters (self-hosted ones carry a `<prefix>-` in front, which we
leave). W&B now issues longer keys (about 86 characters, shaped `wandb_v1_<key id>_<secret>`; the SDK
accepts them since wandb 0.22.3). The SDK's own format check (wandb/sdk/lib/wbauth/validation.py)
allows an optional `prefix-` and 40 or more word characters; a key of some other shape is caught
only through the environment. A 40-hex git commit sha looks exactly like a legacy key, so every
40-hex run is redacted: a lost sha costs a little context, a leaked key costs the account.

Assignments such as `HF_TOKEN=...` or `"api_key": "..."`, and the values of command-line flags such as
`--api-key VALUE` (also as the items of an argv shown as a list: `'--api-key', 'VALUE'`), lose their
value when the name looks secret, except plain numbers (`max_tokens: 512` stays readable: no credential
is only digits and dots), null, true and false, references to a variable (`$WANDB_API_KEY`,
`${envvar:HF_TOKEN}`: the way to keep a key out of a file) and what is already [REDACTED], so
redacting twice changes nothing.

Which values are secrets for a campaign (its environment's and its file's) is campaign_secrets.py.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

REDACTED = "[REDACTED]"
SECRET_NAME_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")
MIN_SECRET_LENGTH = 8

_NAME_CHARS = r"A-Za-z0-9_.\-"
_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"
_SCHEME_WORDS = ("bearer", "basic", "digest", "token")
_LITERALS = ("null", "none", "true", "false")  # what JSON, YAML and Python print for an unset value
_AUTH_SCHEMES = "(?:" + "|".join(_SCHEME_WORDS) + ")"

# Each pattern's group "s" is the part to hide; whatever else it matches is context that stays.
_PATTERNS = tuple(re.compile(p) for p in (
    # W&B legacy key (and, unavoidably, any 40-hex git sha or SHA-1 digest)
    _NOT_ALNUM_BEFORE + r"(?P<s>[0-9a-fA-F]{40})" + _NOT_ALNUM_AFTER,
    # W&B keys in the newer, longer format: wandb_v1_<key id>_<secret>
    _NOT_ALNUM_BEFORE + r"(?P<s>wandb_v\d+_[A-Za-z0-9_]{20,})",
    # AWS access key ids (long-term AKIA, temporary ASIA)
    _NOT_ALNUM_BEFORE + r"(?P<s>(?:AKIA|ASIA)[A-Z0-9]{16})" + _NOT_ALNUM_AFTER,
    # GitHub tokens: classic personal, OAuth, app server/user, refresh; fine-grained personal
    _NOT_ALNUM_BEFORE + r"(?P<s>(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}))",
    # Hugging Face tokens
    _NOT_ALNUM_BEFORE + r"(?P<s>hf_[A-Za-z0-9]{20,})",
    # sk-... API keys (OpenAI, Anthropic and others)
    _NOT_ALNUM_BEFORE + r"(?P<s>sk-[A-Za-z0-9_\-]{16,})",
    # Authorization header values, with or without a scheme word
    r"(?i)authorization[\"']?\s*[:=]\s*[\"']?(?:" + _AUTH_SCHEMES + r"\s+)?(?P<s>[^\s\"',;]+)",
    # a bearer token anywhere (curl -H, logged request headers)
    r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9._~+/\-]+=*)",
    # credentials inside a URL: scheme://user:password@host
    r"://[^/\s:@]+:(?P<s>[^/\s@]+)@",
))
# NAME=value / NAME: value / "name": "value". A lookahead, so that runs overlap ("env: HF_TOKEN=x" is
# looked at from "env" and from "HF_TOKEN"); the name is judged in Python by looks_secret().
_ASSIGNMENT = re.compile(
    r"(?<![" + _NAME_CHARS + r"])(?=[\"']?(?P<name>[" + _NAME_CHARS + r"]+)[\"']?[ \t]*[:=][ \t]*"
    r"(?P<s>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;}\]\"']+))")
# --api-key VALUE, and the same as argv items shown as a list ("--api-key", "VALUE"); the value never
# starts with "-" (that is the next flag). The --api-key=VALUE form is an assignment.
_FLAG = re.compile(
    r"(?<![A-Za-z0-9_\-])--?(?P<name>[A-Za-z][A-Za-z0-9_.\-]*)(?:[ \t]+|[\"'],[ \t]*[\"'])(?!-)"
    r"(?P<s>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;}\]\"']+)")
_PLAIN_NUMBER = re.compile(r"[+-]?[\d.]+")
_REFERENCE = re.compile(r"[\"']?\$(?:\{envvar:\w*\}|\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)[\"']?")


def looks_secret(name: str) -> bool:
    """Whether an environment variable or setting name suggests it holds a credential."""
    upper = name.upper()
    return any(word in upper for word in SECRET_NAME_WORDS)


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values (at least 8 characters) of env vars whose names look secret, longest first, no repeats."""
    values = {value for name, value in env.items()
              if looks_secret(name) and isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH}
    return sorted(values, key=lambda v: (-len(v), v))


def redact(text: str, secrets: Sequence[str], limit: int | None = None) -> str:
    """`text` with every secret value and every credential-shaped token replaced by [REDACTED].

    With `limit`, only what the first `limit` characters of `text` showed is kept: a secret that starts
    inside them is still hidden whole, so cutting a long line never leaves part of a key behind (pass
    enough text beyond `limit` for a secret starting there to be recognised)."""
    return redact_prefix(text, secrets, len(text) if limit is None else limit)[0]


def redact_prefix(text: str, secrets: Sequence[str], limit: int) -> tuple[str, int]:
    """(the first `limit` characters of `text` redacted as redact() does, how many characters of `text`
    that used up): more than `limit` when a secret starting inside them runs on, so a stream carries on
    after the secret instead of showing its end."""
    spans = _merge(_spans(text, secrets))
    end = min(limit, len(text))
    out, position = [], 0
    for start, stop in spans:
        if start >= end:
            break
        out += [text[position:start], REDACTED]
        position = stop
    if position < end:
        out.append(text[position:end])
        position = end
    return "".join(out), position


class Redactor:
    """redact() bound to one set of secret values (e.g. secret_values(ctx.env))."""

    def __init__(self, secrets: Iterable[str]):
        self.secrets = sorted({s for s in secrets if s}, key=lambda v: (-len(v), v))

    def text(self, value: str, limit: int | None = None) -> str:
        return redact(value, self.secrets, limit)

    def lines(self, values: Iterable[str]) -> list[str]:
        return [self.text(v) for v in values]

    def document(self, value, on_change=None):
        """A copy of a JSON value with every string redacted; on_change(text) post-processes the strings
        that changed (for example to keep them one line within a length bound)."""
        if isinstance(value, str):
            hidden = self.text(value)
            return value if hidden == value else (on_change(hidden) if on_change else hidden)
        if isinstance(value, list):
            return [self.document(v, on_change) for v in value]
        if isinstance(value, dict):
            return {k: self.document(v, on_change) for k, v in value.items()}
        return value


def _spans(text: str, secrets: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    for secret in secrets:
        if not secret:
            continue
        start = text.find(secret)
        while start != -1:
            spans.append((start, start + len(secret)))
            start = text.find(secret, start + 1)
    for pattern in _PATTERNS:
        spans += [match.span("s") for match in pattern.finditer(text)]
    for pattern in (_ASSIGNMENT, _FLAG):
        for match in pattern.finditer(text):
            name = match.group("name")
            # A name starting with "." ends a JSON path ("$.search_space.api_key: unknown key"): a place
            # in a document named by an error message, not a setting.
            if looks_secret(name) and not name.startswith(".") and _may_hide(text, match):
                spans.append(match.span("s"))
    return spans


def _may_hide(text: str, match: re.Match) -> bool:
    """Whether the value of a secret-named setting or flag is hidden: not a number, a scheme word, an
    unset value (null), a reference to a variable (which may run on past the value's pattern:
    `${envvar:NAME}`) or [REDACTED] already."""
    value = match.group("s")
    reference = _REFERENCE.match(text, match.start("s"))
    return not (_PLAIN_NUMBER.fullmatch(value) or value.lower() in _SCHEME_WORDS + _LITERALS
                or (reference and reference.end() >= match.end("s")) or value.lstrip("\"'").startswith(REDACTED[:-1]))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans become one, so one [REDACTED] hides them together."""
    merged: list[list[int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return [(start, stop) for start, stop in merged]
