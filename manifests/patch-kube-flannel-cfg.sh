#!/usr/bin/env bash
# Sets "VNI": 4096 and "Port": 4789 in the Backend of net-conf.json in the shared
# kube-flannel-cfg ConfigMap, and changes nothing else: not Network, not the other Backend
# fields, not cni-conf.json (Linux flannel's install step copies that key to every Linux node).
# Windows can only do VXLAN with a VNI of 4096 or more on UDP 4789, so Linux nodes must use the
# same values. Afterwards restart Linux flannel:
#   kubectl -n kube-flannel rollout restart daemonset kube-flannel-ds
#
# Needs kubectl and jq. NAMESPACE / CONFIGMAP override where the ConfigMap lives.
# host-gw needs no change: the script says so and patches nothing.
set -euo pipefail

namespace="${NAMESPACE:-kube-flannel}"
configmap="${CONFIGMAP:-kube-flannel-cfg}"

current="$(kubectl -n "$namespace" get configmap "$configmap" -o 'jsonpath={.data.net-conf\.json}')"
if [ -z "$current" ]; then
  echo "error: configmap $namespace/$configmap has no net-conf.json key (is Linux flannel installed there?)" >&2
  exit 1
fi

# flannel reads net-conf.json keys case-insensitively; so does this filter.
filter='
  def key($obj; $name; $default): ([$obj | keys_unsorted[] | select(ascii_downcase == $name)] | first) // $default;
  key(.; "backend"; "Backend") as $b
  | (.[$b] // {}) as $backend
  | ($backend | if type == "object" then (key(.; "type"; "Type") as $t | (.[$t] // "") | ascii_downcase) else "" end) as $type
  | if $type != "vxlan" then error("Backend.Type is \"" + ($type | tostring) + "\"; only vxlan needs VNI/Port changes")
    else .[$b] = ($backend | key(.; "vni"; "VNI") as $v | key(.; "port"; "Port") as $p | .[$v] = 4096 | .[$p] = 4789)
    end'

if ! patched="$(jq "$filter" <<<"$current" 2>&1)"; then
  if grep -q 'only vxlan needs' <<<"$patched"; then
    echo "nothing to change: ${patched#jq: error*: }"
    exit 0
  fi
  echo "error: net-conf.json in $namespace/$configmap is not valid JSON: $patched" >&2
  exit 1
fi

if [ "$(jq -S . <<<"$current")" = "$(jq -S . <<<"$patched")" ]; then
  echo "$namespace/$configmap already uses VNI 4096 and port 4789; nothing to change"
  exit 0
fi

# A merge patch of the one key: every other key of the ConfigMap stays as it is.
patch="$(jq -n --arg netconf "$patched" '{data: {"net-conf.json": $netconf}}')"
kubectl -n "$namespace" patch configmap "$configmap" --type merge -p "$patch"
echo "patched $namespace/$configmap: Backend VNI 4096, Port 4789."
echo "Now restart Linux flannel: kubectl -n $namespace rollout restart daemonset kube-flannel-ds"
