#!/usr/bin/env bash
# web/build.sh: builds tssrlab's web interface into a folder tssrlabd
# serves (its `web_root`). The interface is plain ES modules, so "build"
# means: install the pinned npm packages (package-lock.json, with `npm ci`,
# from the npm registry: noVNC for the console, playwright-core for the
# browser test) into DEPS, then copy web/src and noVNC's browser modules
# into SITE (SITE/vendor/novnc/{core,vendor}). npm runs again only when the
# lock file changed. SITE is replaced whole, never half written.
#
# usage: build.sh WEB_SOURCE_DIR SITE_DIR DEPS_DIR STAMP_FILE
set -euo pipefail
src=$1 site=$2 deps=$3 stamp=$4

mkdir -p "$deps"
if ! cmp -s "$src/package-lock.json" "$deps/.installed.lock" ||
	[ ! -f "$deps/node_modules/@novnc/novnc/core/rfb.js" ]; then
	command -v npm >/dev/null || { echo "build.sh: npm is missing (apt-get install nodejs npm)" >&2; exit 1; }
	cp "$src/package.json" "$src/package-lock.json" "$deps/"
	rm -f "$deps/.installed.lock"
	# never let a package fetch a browser of its own: the tests use Debian's
	(cd "$deps" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
	cp "$src/package-lock.json" "$deps/.installed.lock"
fi

novnc="$deps/node_modules/@novnc/novnc"
tmp="$site.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/vendor/novnc"
cp -R "$src/src/." "$tmp/"
cp -R "$novnc/core" "$novnc/vendor" "$tmp/vendor/novnc/"
cp "$novnc/LICENSE.txt" "$tmp/vendor/novnc/LICENSE.txt"
rm -rf "$site"
mv "$tmp" "$site"
touch "$stamp"
