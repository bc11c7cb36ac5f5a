#!/usr/bin/env bash
# Run every stage of the test suite, keep going after a failure, and print one
# summary. Called by `make test` with .venv/bin first on PATH.
set -u
cd "$(dirname "$0")/.."
results=tests/artifacts/results
rm -rf "$results" && mkdir -p "$results"
declare -a names=() codes=() times=()

stage() {
  local name=$1; shift
  echo
  echo "=== $name: $*"
  local start=$SECONDS
  "$@"
  local code=$?
  names+=("$name"); codes+=("$code"); times+=("$((SECONDS - start))")
}

stage lint ruff check lepton_lab tests bench
stage layers lint-imports  # the layer contracts of [tool.importlinter] in pyproject.toml
stage schema jlpm check:types  # labextension/src/types.ts is current with the pydantic models
stage types mypy
stage typescript bash -c "jlpm build:test && node --test --test-reporter=spec --test-reporter=junit \
  --test-reporter-destination=stdout --test-reporter-destination=$results/typescript.xml build-test/labextension/test/"
# Two processes, one per core: most Python tests wait on worker processes, servers and kernels.
# --dist loadfile keeps each file's module fixtures (a Ray cluster, trained runs) in one process.
stage python pytest -m "not browser" -n 2 --dist loadfile --junitxml="$results/python.xml"
stage browser pytest -m browser --junitxml="$results/browser.xml"

echo
echo "=== summary"
failed=0
for i in "${!names[@]}"; do
  status=ok; [ "${codes[$i]}" = 0 ] || { status="FAILED (exit ${codes[$i]})"; failed=1; }
  printf '  %-11s %-20s %4ss\n' "${names[$i]}" "$status" "${times[$i]}"
done
python tests/junit_summary.py "$results"/*.xml
exit $failed
