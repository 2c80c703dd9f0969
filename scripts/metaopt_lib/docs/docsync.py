"""Find and rewrite the generated blocks of the skill's Markdown files."""
from __future__ import annotations

import re

from .docgen import BLOCKS
from ..contract.paths import REFERENCES_DIR, SKILL_ROOT
from ..contract.strict_schemas import write_strict_schemas
from ..hosts.agent_files import sync_profiles

BEGIN = "<!-- BEGIN GENERATED: {name} -->"
END = "<!-- END GENERATED -->"
# Markers count only on a line of their own, so prose may quote them.
_BLOCK = re.compile(r"^<!-- BEGIN GENERATED: ([a-z0-9-]+) -->\n(.*?)^<!-- END GENERATED -->$", re.S | re.M)
_BEGIN_ANY = re.compile(r"^<!-- BEGIN GENERATED: (.*) -->$", re.M)


def doc_files() -> list:
    """Every Markdown file that may hold generated blocks."""
    files = sorted(REFERENCES_DIR.glob("*.md"))
    files += [p for p in (SKILL_ROOT / "SKILL.md", SKILL_ROOT / "README.md") if p.exists()]
    return files


def render(text: str, rendered: dict) -> tuple:
    """(new text, problems) with every known block's body replaced by its generated content."""
    problems = []
    if len(_BEGIN_ANY.findall(text)) != len(_BLOCK.findall(text)):
        problems.append("a BEGIN GENERATED marker has no matching END GENERATED marker")

    def replace(match):
        name = match.group(1)
        if name not in rendered:
            problems.append(f"unknown generated block '{name}'")
            return match.group(0)
        return BEGIN.format(name=name) + "\n" + rendered[name].rstrip("\n") + "\n" + END

    return _BLOCK.sub(replace, text), problems


def sync(write: bool) -> dict:
    """Regenerate every block. Returns a report: stale files, problems, blocks used, blocks missing."""
    rendered = {name: generate() for name, generate in BLOCKS.items()}
    report = {"stale": [], "problems": [], "missing_blocks": []}
    used = set()
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        new_text, problems = render(text, rendered)
        rel = path.relative_to(SKILL_ROOT).as_posix()
        report["problems"] += [f"{rel}: {p}" for p in problems]
        used.update(name for name, _ in _BLOCK.findall(text))
        if new_text != text:
            report["stale"].append(rel)
            if write:
                path.write_text(new_text, encoding="utf-8")
    report["missing_blocks"] = sorted(set(BLOCKS) - used)
    report["stale"] += write_strict_schemas(write)
    # The worker profiles' frontmatter is generated from agents/workers.yaml (hosts/agent_files.py).
    stale_profiles, profile_problems = sync_profiles(write)
    report["stale"] += stale_profiles
    report["problems"] += profile_problems
    return report
