#!/usr/bin/env bash
# Installs the Prometheus Pushgateway the metrics tests push to, built from
# its Go module into ${CORPUS_AUDIT_CACHE:-$HOME/.cache/corpus-audit}/bin.
# Idempotent: it does nothing when that version is already there. It needs
# only the Go module proxy (about a minute the first time).
#
# `go install module@version` asks the proxy for the module's version list
# (for deprecation notices), which the proxy here refuses; so the module is
# required from a throw-away module and built with `go build` instead.
set -euo pipefail

version=v1.11.1
module=github.com/prometheus/pushgateway
cache="${CORPUS_AUDIT_CACHE:-$HOME/.cache/corpus-audit}"
bin="$cache/bin/pushgateway"

installed() {
  [ -x "$bin" ] && go version -m "$bin" 2>/dev/null |
    grep -Eq "^[[:space:]]+mod[[:space:]]+$module[[:space:]]+$version([[:space:]]|\$)"
}

if installed; then
  echo "pushgateway $version is installed: $bin"
  exit 0
fi
mkdir -p "$cache/bin"
echo "building pushgateway $version into $cache/bin (about a minute)..."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module pushgateway-build

go 1.26

require $module $version
MOD
cat > tools.go <<'SRC'
//go:build tools

package tools

import _ "github.com/prometheus/pushgateway"
SRC
GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local go build -o "$bin.tmp" "$module"
mv "$bin.tmp" "$bin"
installed || { echo "install-pushgateway: $bin is not pushgateway $version after the build" >&2; exit 1; }
echo "pushgateway $version is installed: $bin"
