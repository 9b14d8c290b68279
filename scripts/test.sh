#!/usr/bin/env bash
# Runs the ava suite and ends with the plain "N passed, N failed" line CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
ava "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -Eo '^ *[0-9]+ tests? passed' "$log" | grep -Eo '[0-9]+' | tail -1)
failed=$(grep -Eo '^ *[0-9]+ tests? failed' "$log" | grep -Eo '[0-9]+' | tail -1)
uncaught=$(grep -Eo '^ *[0-9]+ (uncaught exceptions?|unhandled rejections?)' "$log" | grep -Eo '^ *[0-9]+' | paste -sd+ | bc 2>/dev/null || true)
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" = "0" ]; then failed=1; fi
rm -f "$log"
echo "${passed} passed, ${failed} failed"
exit "$status"
