"""Where each host discovers a skill and its custom agents, by scope, and the documentation that says so.

Paths are relative to the install base: the project's root for scope "project", the user's home for
scope "user". Checked against each host's own documentation (references/dependencies.md#installing-for-a-host
lists the pages):
- Codex reads skills from .agents/skills (from the working directory up to the repository root) and
  ~/.agents/skills; its workers are the host itself, so it gets no agent files.
- Claude Code reads skills from .claude/skills and ~/.claude/skills, subagents from .claude/agents
  and ~/.claude/agents (<name>.md).
- GitHub Copilot reads skills from .github/skills and ~/.copilot/skills, custom agents from
  .github/agents and ~/.copilot/agents (<name>.agent.md).
"""
from __future__ import annotations

from dataclasses import dataclass

SKILL_NAME = "ml-metaoptimization"
SCOPES = ("project", "user")


@dataclass(frozen=True)
class Host:
    name: str
    title: str
    skills: dict            # scope -> directory holding skill directories, relative to the base
    agents: dict | None     # scope -> directory holding agent files, relative to the base; None: no agent files
    agent_suffix: str = ""  # file name of an agent: <worker><agent_suffix>
    sources: tuple = ()     # documentation pages the paths and keys were checked against


HOSTS = {
    "codex": Host(
        "codex", "Codex", {"project": ".agents/skills", "user": ".agents/skills"}, None,
        sources=("https://developers.openai.com/codex/skills",)),
    "claude": Host(
        "claude", "Claude Code", {"project": ".claude/skills", "user": ".claude/skills"},
        {"project": ".claude/agents", "user": ".claude/agents"}, ".md",
        sources=("https://code.claude.com/docs/en/sub-agents.md#supported-frontmatter-fields",
                 "https://docs.anthropic.com/ja/docs/claude-code/sub-agents")),
    "copilot": Host(
        "copilot", "GitHub Copilot", {"project": ".github/skills", "user": ".copilot/skills"},
        {"project": ".github/agents", "user": ".copilot/agents"}, ".agent.md",
        sources=("https://docs.github.com/en/copilot/reference/custom-agents-configuration",
                 "https://docs.github.com/en/copilot/how-tos/copilot-cli/customize-copilot/create-custom-agents-for-cli",
                 "https://docs.github.com/en/copilot/how-tos/copilot-cli/customize-copilot/create-skills")),
}


def skill_dir(host: Host, scope: str) -> str:
    """The installed skill's directory, relative to the base."""
    return f"{host.skills[scope]}/{SKILL_NAME}"


def agent_dir(host: Host, scope: str) -> str | None:
    return host.agents[scope] if host.agents else None


def shown(relative: str, scope: str) -> str:
    """How a person (and a worker) finds a path: relative to the project, or under ~ for scope user."""
    return f"~/{relative}" if scope == "user" else relative
