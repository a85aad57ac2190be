# Half of ad-win-01's solution on dc (run it twice too): the domain, its
# OUs, users and computer; no groups, share, GPO, DNS record or DHCP. For the
# "partial" proof.
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
