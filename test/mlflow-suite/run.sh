#!/usr/bin/env bash
# Runs MLflow's own server tests (unmodified) against Cairn's local server. See README.md.
#   bash test/mlflow-suite/run.sh                 # the five files
#   bash test/mlflow-suite/run.sh -k registered   # extra pytest arguments pass through
#   bash test/mlflow-suite/run.sh tests/tracking/test_model_registry.py::test_create_and_query_registered_model_flow
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CAIRN_ROOT="${CAIRN_ROOT:-$(cd "$HERE/../.." && pwd)}"
MLFLOW_TESTS="${MLFLOW_TESTS:-/tmp/cairn-mlflow-tests}"
MIRROR="${CAIRN_MLFLOW_MIRROR:-/work/.mirror/harupy+mlflow/repo}"
CLIENT_SH="${CAIRN_MLFLOW_CLIENT_SH:-/work/shared/tools/mlflow-client.sh}"

# MLflow's tests come from the same snapshot as the client (mlflow-client.sh extracts only mlflow/).
if [ ! -f "$MLFLOW_TESTS/tests/tracking/test_rest_tracking.py" ]; then
  [ -d "$MIRROR" ] || { echo "no MLflow tests in $MLFLOW_TESTS and no mirror at $MIRROR" >&2; exit 3; }
  mkdir -p "$MLFLOW_TESTS"
  # (the snapshot lacks some large blobs outside tests/; git says so on stderr, hence the log)
  git --git-dir="$MIRROR" archive HEAD -- tests pyproject.toml 2>"$MLFLOW_TESTS.extract.log" | tar -x -C "$MLFLOW_TESTS"
fi
eval "$(bash "$CLIENT_SH")"
# test_rest_store_logs_spans_via_otel_endpoint is an asyncio test (offline, from the machine's wheel folder)
"$MLFLOW_PY" -c 'import pytest_asyncio' 2>/dev/null || $MLFLOW_VENV_PIP pytest-asyncio >&2

FILES=(tests/tracking/test_rest_tracking.py tests/tracking/test_model_registry.py tests/tracking/test_mlflow_artifacts.py
  tests/tracking/test_client_webhooks.py tests/store/model_registry/test_rest_store_webhooks.py)
ARGS=("$@")
if [ "${#ARGS[@]}" -eq 0 ] || [[ "${ARGS[0]}" == -* ]]; then ARGS=("${FILES[@]}" "${ARGS[@]}"); fi

cd "$MLFLOW_TESTS"
# the stub `mlflow` console script test_mlflow_artifacts_example / the CLI tests call
export PATH="$(dirname "$MLFLOW_PY"):$PATH"
# (MLFLOW_PY sets its own PYTHONPATH, so the plugin's folder and MLflow's test tree go on sys.path here)
exec "$MLFLOW_PY" -c 'import sys, pytest; sys.path[:0] = sys.argv[1:3]; sys.exit(pytest.main(sys.argv[3:]))' \
  "$HERE" "$MLFLOW_TESTS" -p cairn_server_plugin -p no:cacheprovider -o addopts="" -q -rA --timeout 300 "${ARGS[@]}"
