# Starts kube-proxy on a Windows node next to flannel-win (image: Dockerfile.windows, target
# kube-proxy). Waits for the HNS network flannel-win creates and, on an Overlay network, for the
# source VIP flannel-win reserved in the CNI IPAM store; then runs kube-proxy with
# --network-name and --source-vip. No feature gates: WinOverlay/WinDSR are on by default.
$ErrorActionPreference = 'Stop'
$network = $env:KUBE_NETWORK
if (-not $network) { throw 'KUBE_NETWORK is not set: the DaemonSet must name the HNS network (flannel.4096 or cbr0)' }
$mount = $env:CONTAINER_SANDBOX_MOUNT_POINT

Write-Output "waiting for the HNS network '$network'"
while (-not ($net = Get-HnsNetwork | Where-Object { $_.Name -eq $network })) { Start-Sleep -Seconds 2 }
Write-Output "HNS network '$network' is $($net.Type)"

$proxyArgs = @(
    "--hostname-override=$env:NODE_NAME",
    "--network-name=$network",
    '--proxy-mode=kernelspace',
    '--healthz-bind-address=0.0.0.0:10256'
)
if ($net.Type -eq 'Overlay') {
    $vipFile = if ($env:SOURCE_VIP_FILE) { $env:SOURCE_VIP_FILE } else { 'C:\sourcevip\sourceVip.json' }
    Write-Output "waiting for the source VIP in $vipFile"
    while (-not (Test-Path $vipFile)) { Start-Sleep -Seconds 2 }
    $vip = ((Get-Content -Raw $vipFile | ConvertFrom-Json).ips[0].address -split '/')[0]
    if (-not $vip) { throw "$vipFile holds no ips[0].address; delete it and restart flannel-win" }
    Write-Output "source VIP $vip"
    $proxyArgs += "--source-vip=$vip"
}

# kubeadm's kubeconfig points at /var/lib/kube-proxy and the token under /var/run/secrets;
# inside a HostProcess container those live under the sandbox mount. The ConfigMap's own file
# is restored by the kubelet, so the rewritten copy goes next to it.
$kubeconfig = Join-Path $mount 'mounts\var\lib\kube-proxy\kubeconfig.conf'
$rewritten = Join-Path $mount 'kube-proxy\kubeconfig-win.conf'
(Get-Content -Raw $kubeconfig).Replace('/var', "$mount/var") | Set-Content -Path $rewritten
$proxyArgs += "--kubeconfig=$rewritten"

& (Join-Path $mount 'kube-proxy\kube-proxy.exe') @proxyArgs
exit $LASTEXITCODE
