"""Where the skill's own files live, independent of the caller's working directory, and where a
campaign keeps its records under <project>/.ml-metaopt/."""
from pathlib import Path

SKILL_ROOT = Path(__file__).resolve().parents[3]
SCHEMA_DIR = SKILL_ROOT / "references" / "schemas"
SCHEMA_SUFFIX = ".schema.json"
REFERENCES_DIR = SKILL_ROOT / "references"
METAOPT_DIR_NAME = ".ml-metaopt"
CAMPAIGN_FILE = "ml_metaopt_campaign.yaml"
PREFLIGHT_FILE = ".ml-metaopt/preflight-readiness.json"

TASK_AREA, DIRECTIVE_AREA, RESULT_AREA, TRIALS_AREA = "tasks", "directives", "results", "trials"
RESULT_SCHEMAS = {
    "metaopt-ideation-worker": "references/schemas/ideation-result.schema.json",
    "metaopt-selection-worker": "references/schemas/selection-result.schema.json",
    "metaopt-analysis-worker": "references/schemas/analysis-result.schema.json",
}
FINAL_REPORT_PATH = ".ml-metaopt/reports/final.md"


def task_path(iteration, record_id):
    return f".ml-metaopt/{TASK_AREA}/iter-{iteration}/{record_id}.json"


def directive_path(iteration, record_id):
    return f".ml-metaopt/{DIRECTIVE_AREA}/iter-{iteration}/{record_id}.json"


def result_path(iteration, record_id):
    return f".ml-metaopt/{RESULT_AREA}/iter-{iteration}/{record_id}.json"


def trial_table_path(sweep_identity):
    """Where poll_sweep keeps the sweep's trial table (references/schemas/trial-table.schema.json)."""
    return f".ml-metaopt/{TRIALS_AREA}/{sweep_identity}.json"
