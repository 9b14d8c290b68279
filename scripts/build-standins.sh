#!/usr/bin/env bash
# Builds the stand-in shared libraries (test/standins/*.c) that export the same functions as
# computenetwork.dll, vmcompute.dll and iphlpapi.dll, so the real koffi drivers run on Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/standins
shopt -s nullglob
for src in test/standins/*.c; do
  name=$(basename "$src" .c)
  out="build/standins/lib${name}.so"
  if [ ! -f "$out" ] || [ "$src" -nt "$out" ] || [ test/standins/hns_standin_common.h -nt "$out" ]; then
    cc -shared -fPIC -O1 -Wall -Werror -o "$out" "$src"
  fi
done
