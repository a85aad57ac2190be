#!/bin/sh
# poste-01: nothing to do on srv-fichiers, which is already in service; its
# inventory criterion is met by running durand-inventaire on the poste.
set -eu
