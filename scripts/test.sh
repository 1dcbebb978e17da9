#!/usr/bin/env bash
# Runs every test project of Overlay.sln and closes with one summary line "N passed, N failed, N skipped".
# Exit code: 0 when every test passed, else non-zero. Extra arguments go to `dotnet test` (e.g. --filter ...).
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
dotnet test "$repo/Overlay.sln" -c Release --nologo "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
sum() { grep -Eo "$1: +[0-9]+" "$out" | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(sum 'Passed'); failed=$(sum 'Failed'); skipped=$(sum 'Skipped')
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [[ $status -eq 0 && ${passed:-0} -eq 0 ]]; then echo "no test ran" >&2; exit 1; fi
exit "$status"
