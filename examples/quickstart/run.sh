#!/usr/bin/env bash
# The quickstart on a fresh machine: a venv with the skill's and this example's requirements, a copy
# of this example project, and the whole campaign run by `metaopt.py run` with the built-in heuristic
# workers (local backend: no account, no spend). Writes nothing in the repository.
#
#   bash examples/quickstart/run.sh [WORKDIR]      WORKDIR defaults to ${TMPDIR:-/tmp}/metaopt-quickstart
#
# Run it again to continue an interrupted campaign; remove WORKDIR/project to start over.
# QUICKSTART_PYTHON=/path/to/python uses that interpreter as it is (no venv, no install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
skill="$(cd "$here/../.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/metaopt-quickstart}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

python="${QUICKSTART_PYTHON:-}"
if [ -z "$python" ]; then
  venv="$work/venv"
  [ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
  echo "installing the requirements into $venv ..." >&2
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
    -r "$skill/requirements.txt" -r "$here/requirements.txt"
  python="$venv/bin/python3"
fi

project="$work/project"
mkdir -p "$project"
for name in train.py ml_metaopt_campaign.yaml; do
  [ -e "$project/$name" ] || cp "$here/$name" "$project/$name"
done
echo "project: $project" >&2
exec "$python" "$skill/scripts/metaopt.py" run --project-root "$project" --workers heuristic "${@:2}"
