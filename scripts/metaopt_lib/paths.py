"""Where the skill's own files live, independent of the caller's working directory."""
from pathlib import Path

SKILL_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = SKILL_ROOT / "references" / "schemas"
REFERENCES_DIR = SKILL_ROOT / "references"
FIXTURES_DIR = SKILL_ROOT / "fixtures"
EXAMPLES_DIR = SKILL_ROOT / "examples"
METAOPT_DIR_NAME = ".ml-metaopt"


def skill_relative(path) -> str:
    """Path relative to the skill root when inside it, else as given."""
    p = Path(path).resolve()
    try:
        return p.relative_to(SKILL_ROOT).as_posix()
    except ValueError:
        return str(path)
