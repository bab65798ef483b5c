#!/bin/sh
# Builds the scimbridge binary the way the container image ships it: static
# (no cgo, so it runs on scratch/distroless), with paths trimmed and symbols
# stripped. The Dockerfile's build stage runs this script, and so does CI
# (test/container), so the tested binary is the shipped one.
#
#   deploy/build.sh [OUTPUT]     (default ./scimbridge; run from anywhere)
set -eu
out=${1:-scimbridge}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
cd "$(dirname "$0")/.."
CGO_ENABLED=0 exec go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$out" ./cmd/scimbridge
