#!/usr/bin/env bash
# web/install.sh: `meson install` step — copies the built interface to
# DATADIR/tssrlab/web, where an installed tssrlabd serves it from.
# usage: install.sh SITE_DIR DATADIR_RELATIVE
set -euo pipefail
site=$1 rel=$2
dest="${MESON_INSTALL_DESTDIR_PREFIX:?}/$rel"
rm -rf "$dest"
mkdir -p "$dest"
cp -R "$site/." "$dest/"
