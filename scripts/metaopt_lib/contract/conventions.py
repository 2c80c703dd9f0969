"""Conventions every script of the skill follows."""

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_STOPPED = 4
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success; the JSON report on stdout says what was done",
    EXIT_INVALID: "contract or input failure; the JSON report on stdout names every problem",
    EXIT_USAGE: "usage error (bad arguments); usage on stderr, nothing on stdout",
    EXIT_BUSY: "busy: another process holds the campaign's writer lock; nothing was changed, step again later",
    EXIT_STOPPED: "metaopt.py run only: the campaign stopped without completing (FAILED or BLOCKED_*); the output "
                  "says why and what to do",
    EXIT_INTERRUPTED: "metaopt.py run only: interrupted (Ctrl-C, SIGTERM); run the same command again to continue",
}

ONE_LINE_LIMIT = 300


def one_line(text, limit: int = ONE_LINE_LIMIT) -> str:
    """`text` as a single non-empty line of at most `limit` characters (the contract's oneLine)."""
    line = " ".join(str(text).split()) or "-"
    return line if len(line) <= limit else line[:limit - 3] + "..."
