"""Hosts: where Codex, Claude Code and GitHub Copilot discover the skill, and the worker agent files
each host gets, generated from agents/workers.yaml and the worker profiles in .github/agents/.

`layout` says where each host looks (project and user scope) and which documentation says so;
`agent_files` renders the host agent files and keeps the repository's own Copilot profiles' frontmatter
in sync with the registry (sync_docs.py checks it); `skill_files` lists what a copy of the skill holds;
`install` plans, applies and undoes an install, recorded in a manifest inside the installed skill.
"""
