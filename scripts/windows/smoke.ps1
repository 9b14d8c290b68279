<#
.SYNOPSIS
  Read-only checks of a Windows node running flannel-win. Run it on the node as Administrator:
    powershell -ExecutionPolicy Bypass -File smoke.ps1 [-HealthPort 9938] [-Kubeconfig C:\path\to\admin.conf]
  Every check prints "ok" or "FIX" with what to do. Nothing on the node is changed.
  Exit code: 0 when every check passed, 1 otherwise.
#>
param(
    [string]$SubnetFile = 'C:\run\flannel\subnet.env',
    [string]$CniConfFile = 'C:\etc\cni\net.d\10-flannel.conflist',
    [string]$CniBinDir = 'C:\opt\cni\bin',
    [string]$ContainerdConfig = "$env:ProgramFiles\containerd\config.toml",
    [string]$IpamDataDir = 'C:\var\lib\cni\networks',
    [string]$SourceVipFile = 'C:\sourcevip\sourceVip.json',
    [int]$HealthPort = 9938,
    [int]$KubeProxyHealthPort = 10256,
    # Optional: a kubeconfig for kubectl, to compare the programmed peers with the cluster's nodes.
    [string]$Kubeconfig = ''
)
$ErrorActionPreference = 'Continue'
$script:failures = 0
function Ok([string]$what) { Write-Host "ok   $what" }
function Fix([string]$what, [string]$todo) { $script:failures++; Write-Host "FIX  $what" -ForegroundColor Yellow; Write-Host "     -> $todo" }
function Info([string]$what) { Write-Host "info $what" }
function ConvertTo-UInt32([string]$ip) { $b = [System.Net.IPAddress]::Parse($ip).GetAddressBytes(); [Array]::Reverse($b); [BitConverter]::ToUInt32($b, 0) }
function Test-InCidr([string]$prefix, [string]$cidr) {
    $base, $len = $cidr -split '/'
    # 4294967295 = 0xFFFFFFFF, written in decimal: PowerShell reads the hex literal as Int32 -1.
    $mask = if ([int]$len -eq 0) { [uint32]0 } else { [uint32](([uint64]4294967295 -shl (32 - [int]$len)) -band [uint64]4294967295) }
    ((ConvertTo-UInt32 ($prefix -split '/')[0]) -band $mask) -eq ((ConvertTo-UInt32 $base) -band $mask)
}

# 1. subnet.env
$subnetEnv = @{}
if (Test-Path $SubnetFile) {
    foreach ($line in Get-Content $SubnetFile) { if ($line -match '^\s*([A-Z_0-9]+)=(.*)$') { $subnetEnv[$Matches[1]] = $Matches[2].Trim() } }
    $missing = @('FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ') | Where-Object { -not $subnetEnv.ContainsKey($_) }
    if ($missing) { Fix "subnet.env $SubnetFile lacks $($missing -join ', ')" 'the flannel CNI plugin refuses every pod without them; check the flannel-win pod log for "could not write subnet.env"' }
    else { Ok "subnet.env: network $($subnetEnv.FLANNEL_NETWORK), node subnet $($subnetEnv.FLANNEL_SUBNET), MTU $($subnetEnv.FLANNEL_MTU), ipMasq $($subnetEnv.FLANNEL_IPMASQ)" }
} else {
    Fix "no subnet.env at $SubnetFile" 'flannel-win has not acquired its lease yet: kubectl -n kube-flannel logs -l app=flannel-win (look for errors reaching the API or reading net-conf.json)'
}

# 2. The CNI config, and that containerd loads it
$conf = $null
if (Test-Path $CniConfFile) {
    try { $conf = Get-Content -Raw $CniConfFile | ConvertFrom-Json } catch { Fix "$CniConfFile is not valid JSON" 'delete it; flannel-win rewrites it when it restarts' }
    if ($conf) { Ok "CNI config $CniConfFile (network '$($conf.name)', delegate $($conf.plugins[0].delegate.type))" }
} else {
    Fix "no CNI config at $CniConfFile" 'flannel-win writes it once the network, subnet.env and the first apply exist; until then pods stay ContainerCreating. Check /readyz and the flannel-win log'
}
$confDir = Split-Path $CniConfFile
if (Test-Path $confDir) {
    # containerd on Windows loads only the first config file of its conf dir, in name order.
    $first = Get-ChildItem $confDir -File | Where-Object { $_.Extension -in '.conf', '.conflist', '.json' } | Sort-Object Name | Select-Object -First 1
    if ($first -and $first.FullName -ne (Resolve-Path $CniConfFile -ErrorAction SilentlyContinue).Path) {
        Fix "containerd will load $($first.Name), not $(Split-Path $CniConfFile -Leaf): it loads only the first file of $confDir" "move $($first.FullName) out of $confDir (an old 0-containerd-nat.json puts pods on the 'nat' network)"
    } elseif ($first) { Ok "$($first.Name) is the first config file in $confDir (the one containerd loads)" }
}
if (Test-Path $ContainerdConfig) {
    $toml = Get-Content -Raw $ContainerdConfig
    $want = @{ conf = ($confDir -replace '\\', '/'); bin = ($CniBinDir -replace '\\', '/') }
    $confOk = $toml -match ('conf_dir\s*=\s*["'']' + [regex]::Escape($want.conf) + '["'']') -or $toml -match ('conf_dir\s*=\s*["'']' + [regex]::Escape($confDir.Replace('\', '\\')) + '["'']')
    $binOk = $toml -match ('bin_dirs?\s*=\s*\[?\s*["'']' + [regex]::Escape($want.bin)) -or $toml -match ('bin_dirs?\s*=\s*\[?\s*["'']' + [regex]::Escape($CniBinDir.Replace('\', '\\')))
    if ($confOk -and $binOk) { Ok "containerd's CNI section uses $confDir and $CniBinDir" }
    else { Fix "$ContainerdConfig does not set the CNI conf_dir to $confDir and bin_dir(s) to $CniBinDir (containerd's defaults are under $env:ProgramFiles\containerd\cni)" 'edit only the CNI section: containerd 1.x [plugins."io.containerd.grpc.v1.cri".cni] bin_dir/conf_dir; 2.x [plugins.''io.containerd.cri.v1.runtime''.cni] bin_dirs = [...] and conf_dir; then Restart-Service containerd' }
} else { Info "no containerd config at $ContainerdConfig; pass -ContainerdConfig to check its CNI dirs" }

# 3. CNI plugin binaries
$delegate = if ($conf) { $conf.plugins[0].delegate.type } else { $null }
$needed = @('flannel.exe', 'host-local.exe') + $(if ($delegate) { "$delegate.exe" } else { @() })
$absent = $needed | Where-Object { -not (Test-Path (Join-Path $CniBinDir $_)) }
if ($absent) { Fix "missing in ${CniBinDir}: $($absent -join ', ')" 'the flannel-win init container copies them: kubectl -n kube-flannel logs <flannel-win pod> -c install-cni-plugins' }
else { Ok "CNI plugins present in $CniBinDir ($($needed -join ', '))" }

# 4. The HNS network
$net = $null
$name = if ($conf) { $conf.name } else { $null }
if ($name) {
    $net = Get-HnsNetwork | Where-Object { $_.Name -eq $name }
    $types = @{ 'win-overlay' = 'Overlay'; 'win-bridge' = 'L2Bridge' }
    $expected = if ($delegate) { $types[$delegate] } else { $null }
    if (-not $net) { Fix "no HNS network '$name'" 'flannel-win creates it at start; check its log for HNS errors (Get-HnsNetwork lists what exists)' }
    elseif ($expected -and $net.Type -ne $expected) { Fix "HNS network '$name' is $($net.Type), the CNI config expects $expected" 'another tool created a network with this name: remove it (Remove-HnsNetwork) and restart flannel-win' }
    else { Ok "HNS network '$name' is $($net.Type), subnet $($net.Subnets[0].AddressPrefix)" }
}

# 5. Peers programmed vs the cluster's nodes
if ($net) {
    $programmed = if ($net.Type -eq 'Overlay') {
        @($net.Policies | Where-Object { $_.Type -eq 'RemoteSubnetRoute' }).Count
    } else {
        # host-gw: one host route per peer subnet, via the peer's address (not on-link).
        $cluster = $subnetEnv.FLANNEL_NETWORK
        @(Get-NetRoute -AddressFamily IPv4 | Where-Object { $cluster -and $_.NextHop -ne '0.0.0.0' -and $_.DestinationPrefix -ne $net.Subnets[0].AddressPrefix -and (Test-InCidr $_.DestinationPrefix $cluster) }).Count
    }
    $kubectl = Get-Command kubectl.exe -ErrorAction SilentlyContinue
    if ($kubectl -and $Kubeconfig) {
        $nodes = (& kubectl.exe --kubeconfig $Kubeconfig get nodes -o json | Out-String | ConvertFrom-Json).items
        $self = $env:COMPUTERNAME.ToLower()
        $peers = @($nodes | Where-Object { $_.spec.podCIDR -and $_.metadata.name.ToLower() -ne $self }).Count
        if ($programmed -eq $peers) { Ok "$programmed peer routes programmed for $peers peer nodes" }
        else { Fix "$programmed peer routes programmed, the cluster has $peers other nodes with a podCIDR" 'see /status (unusablePeers names each skipped peer and why, e.g. a Linux node still on VNI 1 / port 8472: run manifests/patch-kube-flannel-cfg.sh)' }
    } else { Info "$programmed peer routes programmed (pass -Kubeconfig and have kubectl.exe on PATH to compare with the cluster's nodes)" }
}

# 6. kube-proxy's source VIP (overlay)
if ($net -and $net.Type -eq 'Overlay') {
    if (Test-Path $SourceVipFile) {
        $vip = ((Get-Content -Raw $SourceVipFile | ConvertFrom-Json).ips[0].address -split '/')[0]
        $reservation = Join-Path (Join-Path $IpamDataDir $net.Name) $vip
        if (-not (Test-Path $reservation)) { Fix "source VIP $vip is not reserved in $reservation" 'a pod may be given the VIP: restart flannel-win, which re-reserves it' }
        else { Ok "source VIP $vip reserved in the CNI IPAM store" }
        $endpoint = Get-HnsEndpoint | Where-Object { $_.IPAddress -eq $vip -and $_.VirtualNetworkName -eq $net.Name }
        if ($endpoint) { Ok "kube-proxy's source-VIP endpoint $vip exists" }
        else { Fix "no HNS endpoint with the source VIP $vip" 'kube-proxy creates it: kubectl -n kube-system logs -l k8s-app=kube-proxy-windows (look for "Source Vip endpoint creation failed")' }
    } else { Fix "no source VIP file $SourceVipFile" 'flannel-win writes it after creating the network (vxlan); check /status "cni.sourceVip" and its log' }
}

# 7. Health endpoints
foreach ($probe in @(@{ url = "http://127.0.0.1:$HealthPort/healthz"; who = 'flannel-win liveness' }, @{ url = "http://127.0.0.1:$HealthPort/readyz"; who = 'flannel-win readiness' }, @{ url = "http://127.0.0.1:$KubeProxyHealthPort/healthz"; who = 'kube-proxy health' })) {
    try {
        $r = Invoke-WebRequest -UseBasicParsing -TimeoutSec 5 -Uri $probe.url
        Ok "$($probe.who): $($probe.url) -> $($r.StatusCode)"
    } catch {
        Fix "$($probe.who): $($probe.url) -> $($_.Exception.Message)" 'check that the pod runs (kubectl get pods -A -o wide --field-selector spec.nodeName=<node>) and its log; /status on the flannel-win port shows what is missing'
    }
}

if ($script:failures -gt 0) { Write-Host "$($script:failures) check(s) need attention"; exit 1 }
Write-Host 'all checks passed'
exit 0
