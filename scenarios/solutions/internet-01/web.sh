#!/bin/sh
# internet-01: nothing to do on web; it plays internet and only tests the gateway from outside.
set -eu
