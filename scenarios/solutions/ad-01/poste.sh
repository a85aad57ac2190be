#!/bin/sh
# ad-01: nothing to do on pc-compta, already set up to use srv-dc01; it
# tests the domain as a client.
set -eu
