#!/usr/bin/env bash
# Runs the ava suite and ends with the plain "N passed, N failed" line CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
ava --verbose "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# ava prints only the failures in its summary when some fail, so count the verdict lines.
passed=$(grep -Ec '^ *✔' "$log")
failed=$(grep -Ec '^ *✘' "$log")
# A crash (uncaught exception, a worker that died, a timeout) fails the run without a ✘ line.
if [ "$status" -ne 0 ] && [ "$failed" = "0" ]; then failed=1; fi
rm -f "$log"
echo "${passed} passed, ${failed} failed"
exit "$status"
