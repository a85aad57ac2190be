# tssrlab PowerShell agent, protocol 1: the Windows twin of
# agents/linux/agent.sh (docs/agent-protocol.md is the contract).
#
# How it is run. The orchestrator opens ONE SSH exec channel (OpenSSH for
# Windows) with
#     powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass
#                -EncodedCommand <bootstrap>
# where the bootstrap reads all of stdin and runs it as one script block
# (-NoProfile: nothing of the account's profile applies), and writes on
# stdin this file followed by the batch:
#     Tl-Begin 'NONCE' VALUE_CAP OUTPUT_CAP
#     Tl-P INDEX TIMEOUT_S 'kind' 'arg' @('list','items') $null ...
#     Tl-End COUNT
# Arguments are PowerShell single-quoted literals (nothing expands inside;
# quotes are doubled), in the order of the kind's arguments in
# orchestrator/defs/probekinds.c.
#
# What it prints, one JSON object per line, exactly as the sh agent does:
#     {"tl":1,"n":NONCE,"t":"start","proto":1}
#     {"tl":1,"n":NONCE,"t":"probe","i":0,"s":"done","ok":true,"x":-1,
#      "h":-1,"ms":12,"c":HEX,"v":HEX,"o":HEX,"m":HEX,"tr":""}
#     {"tl":1,"n":NONCE,"t":"end","count":N}
# c (command), v (value), o (output) and m (error message) are the UTF-8
# bytes hex-encoded, so nothing from the machine can break the JSON. There
# are no "bin" records: Windows images carry no hashes.json.
#
# Each probe runs in its own runspace and is stopped at its timeout, so a
# hung cmdlet (an unreachable domain controller) costs only its own time.
# A cmdlet that is not there (no RSAT module, not a server) makes the probe
# status "error" with the reason, never a silent "not ok".

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$script:TlNonce = ''
$script:TlVCap = 32768
$script:TlOCap = 8192
$script:TlSent = 0

function Tl-Hex([string]$Text, [int]$Cap) {
	if ($null -eq $Text) { $Text = '' }
	$bytes = [Text.Encoding]::UTF8.GetBytes($Text)
	$cut = $false
	if ($bytes.Length -gt $Cap) {
		$bytes = $bytes[0..($Cap - 1)]
		$cut = $true
	}
	$hex = ([BitConverter]::ToString([byte[]]$bytes) -replace '-', '').ToLowerInvariant()
	return @{ Hex = $hex; Cut = $cut }
}

function Tl-Line([string]$Json) {
	[Console]::Out.Write($Json + "`n")
	[Console]::Out.Flush()
}

function Tl-Begin([string]$Nonce, [int]$VCap, [int]$OCap) {
	if ($Nonce -notmatch '^[0-9a-f]{32}$') { Tl-Line '{"tl":1,"t":"abort"}'; exit 0 }
	$script:TlNonce = $Nonce
	$script:TlVCap = $VCap
	$script:TlOCap = $OCap
	Tl-Line ('{"tl":1,"n":"' + $Nonce + '","t":"start","proto":1}')
}

function Tl-End([int]$Count) {
	Tl-Line ('{"tl":1,"n":"' + $script:TlNonce + '","t":"end","count":' + $script:TlSent + '}')
}

# The kinds, run inside a fresh runspace: param($Kind, $A) and a result
# hashtable back (ok, v, c, o, s, m, h).
$script:TlKinds = @'
param($Kind, $A)
$ErrorActionPreference = 'Stop'
$r = @{ ok = $false; v = ''; c = ''; o = ''; s = 'done'; m = ''; h = -1 }
function Need([string]$Cmdlet, [string]$Why) {
	if (-not (Get-Command $Cmdlet -ErrorAction SilentlyContinue)) {
		throw [System.NotSupportedException]::new("$Cmdlet is not available on this machine: $Why")
	}
}
function Lines($Items) { (@($Items) | ForEach-Object { "$_" }) -join "`n" }
function NotFound($e) {
	$n = $e.Exception.GetType().Name
	return ($n -match 'NotFound|ItemNotFound|ADIdentityNotFound' -or
		"$($e.CategoryInfo.Category)" -eq 'ObjectNotFound')
}
try {
	switch ($Kind) {
	'win.service' {
		$r.c = "Get-Service -Name '$($A[0])'"
		try { $svc = Get-Service -Name $A[0] } catch { if (NotFound $_) { break } else { throw } }
		$r.v = "$($svc.Status)"
		$r.ok = $r.v -eq 'Running'
	}
	'win.feature' {
		if (Get-Command Get-WindowsFeature -ErrorAction SilentlyContinue) {
			$r.c = "Get-WindowsFeature -Name '$($A[0])'"
			$f = Get-WindowsFeature -Name $A[0]
			if ($f) { $r.v = "$($f.InstallState)"; $r.ok = $r.v -eq 'Installed' }
		} else {
			Need 'Get-WindowsOptionalFeature' 'no feature cmdlets'
			$r.c = "Get-WindowsOptionalFeature -Online -FeatureName '$($A[0])'"
			$f = Get-WindowsOptionalFeature -Online -FeatureName $A[0]
			if ($f) { $r.v = "$($f.State)"; $r.ok = $r.v -eq 'Enabled' }
		}
	}
	'win.ad.user' {
		Need 'Get-ADUser' 'install the ActiveDirectory module (RSAT)'
		$r.c = "Get-ADUser -Identity '$($A[0])' -Properties Enabled"
		try { $u = Get-ADUser -Identity $A[0] -Properties Enabled } catch { if (NotFound $_) { break } else { throw } }
		$r.v = "$($u.DistinguishedName)"
		$r.ok = [bool]$u.Enabled
		if ($A[1] -and -not $r.v.ToLowerInvariant().EndsWith(([string]$A[1]).ToLowerInvariant())) { $r.ok = $false }
	}
	'win.ad.group' {
		Need 'Get-ADGroup' 'install the ActiveDirectory module (RSAT)'
		$r.c = "Get-ADGroup -Identity '$($A[0])'; Get-ADGroupMember -Identity '$($A[0])'"
		try { $g = Get-ADGroup -Identity $A[0] } catch { if (NotFound $_) { break } else { throw } }
		$members = @(Get-ADGroupMember -Identity $A[0] | ForEach-Object { $_.SamAccountName })
		$r.v = Lines $members
		$r.o = "GroupScope: $($g.GroupScope)"
		$r.ok = $true
		foreach ($m in @($A[1])) { if ($m -and -not ($members -contains $m)) { $r.ok = $false } }
		if ($A[2] -and "$($g.GroupScope)" -ne $A[2]) { $r.ok = $false }
	}
	'win.ad.ou' {
		Need 'Get-ADOrganizationalUnit' 'install the ActiveDirectory module (RSAT)'
		$name = ([string]$A[0]).Replace("'", "''")
		$r.c = "Get-ADOrganizationalUnit -Filter `"Name -eq '$name'`""
		$ous = @(Get-ADOrganizationalUnit -Filter "Name -eq '$name'")
		$r.v = Lines ($ous | ForEach-Object { $_.DistinguishedName })
		$r.ok = $ous.Count -gt 0
	}
	'win.gpo' {
		Need 'Get-GPO' 'install the GroupPolicy module (GPMC)'
		$r.c = "Get-GPO -Name '$($A[0])'"
		try { $null = Get-GPO -Name $A[0] } catch { if (NotFound $_ -or "$_" -match 'not find|not exist') { break } else { throw } }
		$r.ok = $true
		if ($A[1]) {
			$r.c += "; Get-GPInheritance -Target '$($A[1])'"
			$links = @((Get-GPInheritance -Target $A[1]).GpoLinks | ForEach-Object { $_.DisplayName })
			$r.v = Lines $links
			$r.ok = $links -contains $A[0]
		} else {
			$r.v = $A[0]
		}
	}
	'win.dhcp.scope' {
		Need 'Get-DhcpServerv4Scope' 'install the DhcpServer module (DHCP role or RSAT)'
		$r.c = "Get-DhcpServerv4Scope -ScopeId '$($A[0])'"
		try { $sc = Get-DhcpServerv4Scope -ScopeId $A[0] } catch { if (NotFound $_ -or "$_" -match 'not exist') { break } else { throw } }
		$r.v = "$($sc.State)"
		$r.ok = $r.v -eq 'Active'
	}
	'win.dns.record' {
		Need 'Get-DnsServerResourceRecord' 'install the DnsServer module (DNS role or RSAT)'
		$type = if ($A[2]) { [string]$A[2] } else { 'A' }
		$r.c = "Get-DnsServerResourceRecord -ZoneName '$($A[0])' -Name '$($A[1])' -RRType $type"
		try { $recs = @(Get-DnsServerResourceRecord -ZoneName $A[0] -Name $A[1] -RRType $type) } catch { if (NotFound $_ -or "$_" -match 'not found|not exist') { break } else { throw } }
		$data = foreach ($rec in $recs) {
			$d = $rec.RecordData
			switch ($type) {
				'A' { "$($d.IPv4Address)" }
				'AAAA' { "$($d.IPv6Address)" }
				'CNAME' { "$($d.HostNameAlias)" }
				'MX' { "$($d.Preference) $($d.MailExchange)" }
				'PTR' { "$($d.PtrDomainName)" }
				default { "$d" }
			}
		}
		$r.v = Lines $data
		$r.ok = @($recs).Count -gt 0
	}
	'win.smb.share' {
		Need 'Get-SmbShare' 'the SmbShare module is missing'
		$r.c = "Get-SmbShare -Name '$($A[0])'"
		try { $sh = Get-SmbShare -Name $A[0] } catch { if (NotFound $_ -or "$_" -match 'No MSFT_SMBShare') { break } else { throw } }
		$r.v = "$($sh.Path)"
		$r.ok = $true
	}
	'win.smb.access' {
		Need 'Get-SmbShareAccess' 'the SmbShare module is missing'
		$r.c = "Get-SmbShareAccess -Name '$($A[0])'"
		try { $acl = @(Get-SmbShareAccess -Name $A[0]) } catch { if (NotFound $_ -or "$_" -match 'No MSFT_SMBShare') { break } else { throw } }
		$mine = @($acl | Where-Object { $_.AccountName -eq $A[1] })
		$r.v = Lines ($mine | ForEach-Object { "$($_.AccessControlType) $($_.AccessRight)" })
		$r.o = Lines ($acl | ForEach-Object { "$($_.AccountName) $($_.AccessControlType) $($_.AccessRight)" })
		foreach ($e in $mine) {
			if ("$($e.AccessControlType)" -eq 'Allow' -and (-not $A[2] -or "$($e.AccessRight)" -eq $A[2])) { $r.ok = $true }
		}
	}
	'win.firewall.rule' {
		Need 'Get-NetFirewallRule' 'the NetSecurity module is missing'
		$r.c = "Get-NetFirewallRule -DisplayName '$($A[0])'"
		try { $rules = @(Get-NetFirewallRule -DisplayName $A[0]) } catch { if (NotFound $_ -or "$_" -match 'No MSFT_NetFirewallRule') { break } else { throw } }
		$r.v = Lines ($rules | ForEach-Object { "$($_.Enabled) $($_.Direction) $($_.Action)" })
		foreach ($x in $rules) { if ("$($x.Enabled)" -eq 'True') { $r.ok = $true } }
	}
	'win.registry' {
		$r.c = "Get-ItemProperty -Path '$($A[0])' -Name '$($A[1])'"
		try { $p = Get-ItemProperty -Path $A[0] -Name $A[1] } catch { if (NotFound $_ -or "$_" -match 'does not exist|Property .* does not exist') { break } else { throw } }
		$val = $p.($A[1])
		if ($val -is [byte[]]) { $r.v = ([BitConverter]::ToString($val) -replace '-', '').ToLowerInvariant() }
		elseif ($val -is [array]) { $r.v = Lines $val }
		else { $r.v = "$val" }
		$r.ok = $true
	}
	'win.task' {
		Need 'Get-ScheduledTask' 'the ScheduledTasks module is missing'
		$r.c = "Get-ScheduledTask -TaskName '$($A[0])'"
		try { $t = Get-ScheduledTask -TaskName $A[0] } catch { if (NotFound $_ -or "$_" -match 'No MSFT_ScheduledTask') { break } else { throw } }
		$r.v = "$($t.State)"
		$r.ok = $r.v -eq 'Ready' -or $r.v -eq 'Running'
	}
	default {
		$r.s = 'error'
		$r.m = "unknown probe kind `"$Kind`" (agent protocol 1)"
	}
	}
} catch [System.NotSupportedException] {
	$r.s = 'error'; $r.ok = $false; $r.m = $_.Exception.Message
} catch {
	$r.s = 'error'; $r.ok = $false; $r.m = "$($_.Exception.Message)"
}
return $r
'@

function Tl-P {
	param([int]$I, [int]$T, [string]$K)
	$rest = $args
	$sw = [Diagnostics.Stopwatch]::StartNew()
	$r = $null
	$ps = [powershell]::Create()
	try {
		[void]$ps.AddScript($script:TlKinds).AddArgument($K).AddArgument($rest)
		$h = $ps.BeginInvoke()
		if ($h.AsyncWaitHandle.WaitOne([Math]::Max(1, $T) * 1000)) {
			$out = $ps.EndInvoke($h)
			if ($out.Count -gt 0) { $r = $out[$out.Count - 1] }
			if ($null -eq $r -or -not ($r -is [hashtable])) {
				$msg = if ($ps.Streams.Error.Count) { "$($ps.Streams.Error[0])" } else { 'the probe returned nothing' }
				$r = @{ ok = $false; v = ''; c = ''; o = ''; s = 'error'; m = $msg; h = -1 }
			}
		} else {
			$ps.Stop()
			$r = @{ ok = $false; v = ''; c = ''; o = ''; s = 'error'; h = -1
				m = "timed out after $T s (the probe's timeout): stopped" }
		}
	} catch {
		$r = @{ ok = $false; v = ''; c = ''; o = ''; s = 'error'; m = "$($_.Exception.Message)"; h = -1 }
	} finally {
		$ps.Dispose()
	}
	$ms = [int]$sw.ElapsedMilliseconds
	$c = Tl-Hex $r.c 4096
	$v = Tl-Hex $r.v $script:TlVCap
	$o = Tl-Hex $r.o $script:TlOCap
	$m = Tl-Hex $r.m 4096
	$tr = ''
	if ($c.Cut) { $tr += 'c' }
	if ($v.Cut) { $tr += 'v' }
	if ($o.Cut) { $tr += 'o' }
	if ($m.Cut) { $tr += 'm' }
	$st = if ($r.s -eq 'done') { 'done' } else { 'error' }
	$ok = if ($st -eq 'done' -and $r.ok) { 'true' } else { 'false' }
	$hs = [int]$r.h
	Tl-Line ('{"tl":1,"n":"' + $script:TlNonce + '","t":"probe","i":' + $I + ',"s":"' + $st +
		'","ok":' + $ok + ',"x":-1,"h":' + $hs + ',"ms":' + $ms + ',"c":"' + $c.Hex + '","v":"' + $v.Hex +
		'","o":"' + $o.Hex + '","m":"' + $m.Hex + '","tr":"' + $tr + '"}')
	$script:TlSent++
}
