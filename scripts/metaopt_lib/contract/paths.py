"""Where the skill's own files live, independent of the caller's working directory."""
from pathlib import Path

SKILL_ROOT = Path(__file__).resolve().parents[3]
SCHEMA_DIR = SKILL_ROOT / "references" / "schemas"
REFERENCES_DIR = SKILL_ROOT / "references"
METAOPT_DIR_NAME = ".ml-metaopt"
