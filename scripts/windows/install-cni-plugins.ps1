# Copies the CNI plugin binaries shipped in the flannel-win image into the node's CNI bin dir
# (env CNI_BIN_PATH, default C:\opt\cni\bin). Run by the DaemonSet's init container.
#
# A plugin that containerd is running right now cannot be overwritten, so an identical file is
# left alone, and a different one is copied under a temporary name and swapped in by renames
# (Windows allows renaming a running executable, not overwriting it).
$ErrorActionPreference = 'Stop'
$source = Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT 'flannel-win\cni'
$dest = if ($env:CNI_BIN_PATH) { $env:CNI_BIN_PATH } else { 'C:\opt\cni\bin' }
New-Item -ItemType Directory -Force -Path $dest | Out-Null

foreach ($file in Get-ChildItem -Path $source -Filter '*.exe') {
    $target = Join-Path $dest $file.Name
    if ((Test-Path $target) -and ((Get-FileHash $target).Hash -eq (Get-FileHash $file.FullName).Hash)) {
        Write-Output "$($file.Name): already up to date in $dest"
        continue
    }
    $incoming = "$target.new"
    Copy-Item -Path $file.FullName -Destination $incoming -Force
    if (Test-Path $target) {
        $old = "$target.old"
        Remove-Item -Path $old -Force -ErrorAction SilentlyContinue
        Rename-Item -Path $target -NewName (Split-Path $old -Leaf)
    }
    Rename-Item -Path $incoming -NewName $file.Name
    Remove-Item -Path "$target.old" -Force -ErrorAction SilentlyContinue
    Write-Output "$($file.Name): installed in $dest"
}
