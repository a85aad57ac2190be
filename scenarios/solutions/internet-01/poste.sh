#!/bin/sh
# internet-01: nothing to do on poste; the poste is already configured by the setup and only tests the gateway.
set -eu
