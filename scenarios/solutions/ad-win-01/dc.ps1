# Reference solution of ad-win-01 on dc (kept out of trainees' view), in
# PowerShell. Run it twice: the first run installs the roles and promotes the
# server, which then reboots; the second run creates the directory objects.
$ErrorActionPreference = 'Stop'
$Admin = ConvertTo-SecureString 'Morel-Admin-2026!' -AsPlainText -Force
$UserPw = ConvertTo-SecureString 'Morel-Labo-2026' -AsPlainText -Force
$Base = 'DC=morel,DC=lan'

if ((Get-WindowsFeature AD-Domain-Services).InstallState -ne 'Installed') {
    Install-WindowsFeature AD-Domain-Services, DNS, DHCP, GPMC -IncludeManagementTools | Out-Null
}
if (-not (Get-Service NTDS -ErrorAction SilentlyContinue)) {
    Install-ADDSForest -DomainName 'morel.lan' -DomainNetbiosName 'MOREL' -InstallDns `
        -SafeModeAdministratorPassword $Admin -Force | Out-Null
    Write-Output 'Promotion lancée : le serveur redémarre, relancez ce script ensuite.'
    exit 0
}
Import-Module ActiveDirectory

function Set-OU([string]$Name, [string]$Path) {
    if (-not (Get-ADOrganizationalUnit -Filter "Name -eq '$Name'" -SearchBase $Path -SearchScope OneLevel)) {
        New-ADOrganizationalUnit -Name $Name -Path $Path
    }
}
Set-OU 'Morel' $Base
foreach ($ou in 'Direction', 'Comptabilite', 'Laboratoire', 'Groupes', 'Ordinateurs') { Set-OU $ou "OU=Morel,$Base" }

function Set-User([string]$Login, [string]$First, [string]$Last, [string]$Service) {
    if (-not (Get-ADUser -Filter "SamAccountName -eq '$Login'")) {
        New-ADUser -Name "$First $Last" -GivenName $First -Surname $Last -SamAccountName $Login `
            -UserPrincipalName "$Login@morel.lan" -EmailAddress ("{0}.{1}@laboratoires-morel.fr" -f $First.ToLower(), $Last.ToLower()) `
            -Department $Service -Path "OU=$Service,OU=Morel,$Base" -AccountPassword $UserPw `
            -ChangePasswordAtLogon $true -Enabled $true
    }
}
Set-User 'jmorel' 'Jean' 'Morel' 'Direction'
Set-User 'sdupont' 'Sophie' 'Dupont' 'Comptabilite'
Set-User 'kbenali' 'Karim' 'Benali' 'Laboratoire'
if (-not (Get-ADComputer -Filter "Name -eq 'PC-COMPTA'")) { New-ADComputer -Name 'PC-COMPTA' -Path "OU=Ordinateurs,OU=Morel,$Base" }

function Set-Group([string]$Name, [string]$Scope, [string]$Member) {
    if (-not (Get-ADGroup -Filter "Name -eq '$Name'")) {
        New-ADGroup -Name $Name -GroupScope $Scope -GroupCategory Security -Path "OU=Groupes,OU=Morel,$Base"
    }
    Add-ADGroupMember -Identity $Name -Members $Member
}
Set-Group 'GG_Direction' 'Global' 'jmorel'
Set-Group 'GG_Comptabilite' 'Global' 'sdupont'
Set-Group 'GG_Laboratoire' 'Global' 'kbenali'
Set-Group 'DL_Compta_RW' 'DomainLocal' 'GG_Comptabilite'
Set-Group 'DL_Compta_R' 'DomainLocal' 'GG_Direction'

# share and NTFS rights (well-known SIDs: the names are localized)
New-Item -ItemType Directory -Force -Path 'C:\Partages\Compta' | Out-Null
icacls 'C:\Partages\Compta' /inheritance:r /grant:r '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-18:(OI)(CI)F' `
    'MOREL\DL_Compta_RW:(OI)(CI)M' 'MOREL\DL_Compta_R:(OI)(CI)RX' | Out-Null
if (-not (Get-SmbShare -Name 'compta' -ErrorAction SilentlyContinue)) {
    New-SmbShare -Name 'compta' -Path 'C:\Partages\Compta' -ChangeAccess 'MOREL\DL_Compta_RW' -ReadAccess 'MOREL\DL_Compta_R' | Out-Null
}

# GPO (screen lock) linked to OU=Morel; domain password policy
if (-not (Get-GPO -Name 'GPO_Postes_Securite' -ErrorAction SilentlyContinue)) {
    New-GPO -Name 'GPO_Postes_Securite' | Out-Null
    Set-GPRegistryValue -Name 'GPO_Postes_Securite' -Key 'HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop' `
        -ValueName 'ScreenSaveTimeOut' -Type String -Value '600' | Out-Null
    Set-GPRegistryValue -Name 'GPO_Postes_Securite' -Key 'HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop' `
        -ValueName 'ScreenSaverIsSecure' -Type String -Value '1' | Out-Null
}
if (-not ((Get-GPInheritance -Target "OU=Morel,$Base").GpoLinks | Where-Object DisplayName -eq 'GPO_Postes_Securite')) {
    New-GPLink -Name 'GPO_Postes_Securite' -Target "OU=Morel,$Base" | Out-Null
}
Set-ADDefaultDomainPasswordPolicy -Identity 'morel.lan' -MinPasswordLength 12 -LockoutThreshold 5 -ComplexityEnabled $true

# DNS record
if (-not (Get-DnsServerResourceRecord -ZoneName 'morel.lan' -Name 'intranet' -RRType A -ErrorAction SilentlyContinue)) {
    Add-DnsServerResourceRecordA -ZoneName 'morel.lan' -Name 'intranet' -IPv4Address '192.168.30.20'
}

# DHCP: authorised, scope with its options
if (-not (Get-DhcpServerInDC | Where-Object IPAddress -eq '192.168.30.10')) {
    Add-DhcpServerInDC -DnsName 'srv-dc01.morel.lan' -IPAddress 192.168.30.10
}
if (-not (Get-DhcpServerv4Scope -ScopeId 192.168.30.0 -ErrorAction SilentlyContinue)) {
    Add-DhcpServerv4Scope -Name 'Postes' -StartRange 192.168.30.100 -EndRange 192.168.30.199 -SubnetMask 255.255.255.0 -State Active
}
Set-DhcpServerv4OptionValue -ScopeId 192.168.30.0 -Router 192.168.30.254 -DnsServer 192.168.30.10 -DnsDomain 'morel.lan'
