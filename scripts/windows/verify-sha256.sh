#!/bin/sh
# verify-sha256 FILE CHECKSUM_FILE [PINNED]
# Checks FILE against the first hex digest in CHECKSUM_FILE (the .sha256 a release publishes,
# "<hex>" or "<hex>  <name>"), and against PINNED when given. Prints the verified digest.
set -eu
file="$1"; published="$(grep -Eo '[0-9a-fA-F]{64}' "$2" | head -n1 | tr 'A-F' 'a-f')"; pinned="$(printf '%s' "${3:-}" | tr 'A-F' 'a-f')"
actual="$(sha256sum "$file" | cut -d' ' -f1)"
[ -n "$published" ] || { echo "$2 holds no sha256 digest" >&2; exit 1; }
[ "$actual" = "$published" ] || { echo "$file: sha256 $actual, release publishes $published" >&2; exit 1; }
[ -z "$pinned" ] || [ "$actual" = "$pinned" ] || { echo "$file: sha256 $actual, pinned $pinned" >&2; exit 1; }
echo "verified $file sha256 $actual"
