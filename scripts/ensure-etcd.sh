#!/usr/bin/env bash
# Installs Debian's etcd server when it is not on PATH. Tests start etcd themselves on a free
# loopback port with a temporary data dir; this only makes the binary available.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "etcd is not on PATH and apt-get is not available: install etcd 3.4+ and retry" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "installing Debian's etcd-server (etcd is not on PATH)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null
# Debian's package may try to start a service; tests run their own instance.
command -v etcd >/dev/null 2>&1 || { echo "etcd still not on PATH after install" >&2; exit 1; }
