#!/usr/bin/env bash
# test_cli.sh: the tssrlab command as a trainer uses it. Checks the shipped
# tree validates, that each of the four classic mistakes (JSON syntax,
# unknown probe kind, misspelled field, unknown lab) is reported located and
# with exit 1, that `referential` lists every competence with coverage, and
# the exit codes of --help and bad usage.
# usage: test_cli.sh TSSRLAB TSSRLABD SOURCE_ROOT
set -u
tl=$1 tld=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$src/tests/lib/testlib.sh"

expect "validate shipped tree" 0 '^ok: referential tssr \(4 blocks, 20 competences' \
	"$tl" validate --root "$src"

# the four mistakes, made on a copy of the shipped scenario
scen="$src/scenarios/linux-web-01.json"
cp -r "$src/scenarios/solutions" "$tmp/"
sed 's/"weight": 2,/"weight": 2,,/' "$scen" >"$tmp/syntax.json"
expect "syntax error located" 1 "syntax.json:[0-9]+:[0-9]+: invalid JSON" \
	"$tl" validate --root "$src" "$tmp/syntax.json"

sed -e 's/"id": "linux-web-01"/"id": "copy-1"/' -e 's/"service.active"/"servce.active"/' "$scen" >"$tmp/kind.json"
expect "unknown probe kind located" 1 'kind.json:[0-9]+:[0-9]+: tasks\[2\]\.criteria\[0\]\.probes\[0\]\.kind: unknown probe kind "servce.active"' \
	"$tl" validate --root "$src" "$tmp/kind.json"

sed -e 's/"id": "linux-web-01"/"id": "copy-2"/' -e '0,/"weight"/s/"weight"/"wieght"/' "$scen" >"$tmp/typo.json"
expect "misspelled field located" 1 'typo.json:[0-9]+:[0-9]+: tasks\[0\]\.criteria\[0\]\.wieght: unknown field "wieght" \(did you mean "weight"\?\)' \
	"$tl" validate --root "$src" "$tmp/typo.json"

sed -e 's/"id": "linux-web-01"/"id": "copy-3"/' -e 's/"lab": "linux-single"/"lab": "linux-singel"/' "$scen" >"$tmp/lab.json"
expect "unknown lab located" 1 'lab.json:[0-9]+:[0-9]+: lab: unknown lab "linux-singel"' \
	"$tl" validate --root "$src" "$tmp/lab.json"

# all four at once: every error is reported in one run
expect "all errors in one run" 1 '4 errors, nothing is valid' \
	"$tl" validate --root "$src" "$tmp/syntax.json" "$tmp/kind.json" "$tmp/typo.json" "$tmp/lab.json"

# a bad file changes nothing: the shipped tree still validates after
expect "validate is read-only" 0 '^ok:' "$tl" validate --root "$src"

expect "validate --json" 1 '"valid": false' "$tl" validate --root "$src" --json "$tmp/lab.json"

# referential: every competence of the title, and a coverage line
out=$("$tl" referential --root "$src")
missing=0
while IFS= read -r label; do
	grep -qF -- "$label" <<<"$out" || { missing=$((missing + 1)); echo "  missing: $label"; }
done < <(python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
for b in d["blocks"]:
    for c in b["competences"]: print(c["label"])' "$src/scenarios/referential/tssr.json")
n=$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
print(sum(len(b["competences"]) for b in d["blocks"]))' "$src/scenarios/referential/tssr.json")
if [[ $missing -eq 0 && $n -eq 20 ]] && grep -Eq '^coverage: [0-9]+/20 competences' <<<"$out"; then
	ok "referential lists all 20 competences with coverage"
else
	ko "referential lists all 20 competences with coverage" "missing=$missing n=$n" "$out"
fi
expect "referential shows covering scenario" 0 'covered by:.*linux-web-01' "$tl" referential --root "$src"
expect "referential --json" 0 '"coverage": \{' "$tl" referential --root "$src" --json
expect "kinds" 0 '^service\.active +linux' "$tl" kinds
expect "--help" 0 'validate' "$tl" --help
expect "unknown command" 2 'unknown command' "$tl" frobnicate
expect "tssrlabd -n" 0 '^configuration OK$' "$tld" -n -D "$src"
expect "tssrlabd -n on bad tree" 1 'no referential found|not found' "$tld" -n -D "$tmp"

finish
