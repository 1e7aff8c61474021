#!/bin/sh
# Builds lvskit's three Debian packages into packaging/dist (or -o DIR):
#   packaging/build.sh [-o DIR] [-version V] [-arch GOARCH]
# The build program lives in the packaging module, so it is run from there; a
# relative -o stays relative to the directory this script is called from.
set -e
here=$(cd "$(dirname "$0")" && pwd)
exec go -C "$here" run ./cmd/build -root "$(dirname "$here")" -cwd "$PWD" "$@"
