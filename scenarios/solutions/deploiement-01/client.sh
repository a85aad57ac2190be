#!/bin/sh
# deploiement-01: nothing to do on the thin client, which only plays a
# booting workstation for the grader.
set -eu
