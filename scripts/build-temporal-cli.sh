#!/usr/bin/env bash
# Builds the official Temporal CLI (github.com/temporalio/cli), whose `temporal server start-dev`
# is the peer of `qesflow bench`, into the user cache directory where the bench looks for it.
#
# Usage: scripts/build-temporal-cli.sh CLIEXT_DIR
#
# The CLI's module replaces its nested module github.com/temporalio/cli/cliext with ./cliext,
# and a module zip leaves nested modules out, so the Go module proxy serves the CLI without
# cliext (and `go install ...@version` refuses a module with replace directives). CLIEXT_DIR is
# the cliext directory of a checkout of github.com/temporalio/cli (the bench's run of record used
# the repository's main branch of 2026-12; no tag newer than v1.8.2 was available).
set -euo pipefail

version=v1.9.1 # keep equal to bench.PeerCLIVersion
cliext=${1:?usage: $0 CLIEXT_DIR (the cliext directory of a github.com/temporalio/cli checkout)}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/qesflow/temporal-cli-$version

moddir=$(cd "$(mktemp -d)" && GOFLAGS= go mod download -json "github.com/temporalio/cli@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$moddir" ] || { echo "go mod download gave no directory for github.com/temporalio/cli@$version" >&2; exit 1; }

rm -rf "$cache/src"
mkdir -p "$cache"
cp -r "$moddir" "$cache/src"
chmod -R u+w "$cache/src"
cp -r "$cliext" "$cache/src/cliext"
cd "$cache/src"
# Its own module, outside qesflow's: the CLI's dependency versions do not touch our go.mod.
GOFLAGS=-mod=mod nice -n 10 go build -trimpath -o "$cache/temporal" ./cmd/temporal
"$cache/temporal" --version
echo "built $cache/temporal"
