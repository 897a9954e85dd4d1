#!/usr/bin/env bash
# Installs the S3 server the tests run against: the Versity S3 gateway
# (versitygw), built from source with `go install`, into
# ${CORPUS_AUDIT_CACHE:-$HOME/.cache/corpus-audit}/bin. Idempotent: it
# does nothing when that version is already there. The first build takes
# about a minute; it needs only the Go module proxy.
set -euo pipefail

version=v1.8.0
module=github.com/versity/versitygw
cache="${CORPUS_AUDIT_CACHE:-$HOME/.cache/corpus-audit}"
bin="$cache/bin/versitygw"

installed() {
  [ -x "$bin" ] && go version -m "$bin" 2>/dev/null |
    grep -Eq "^[[:space:]]+mod[[:space:]]+$module[[:space:]]+$version([[:space:]]|\$)"
}

if installed; then
  echo "versitygw $version is installed: $bin"
  exit 0
fi
mkdir -p "$cache/bin"
echo "building versitygw $version into $cache/bin (about a minute)..."
# Outside any module, so that the project's go.mod plays no part.
cd "$(mktemp -d)"
GOBIN="$cache/bin" GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go install "$module/cmd/versitygw@$version"
installed || { echo "install-s3-server: $bin is not versitygw $version after the build" >&2; exit 1; }
echo "versitygw $version is installed: $bin"
