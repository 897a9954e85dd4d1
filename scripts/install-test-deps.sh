#!/usr/bin/env bash
# Installs what the tests need beyond Go: Debian's chromium, used by the
# report's headless-browser test (report.html is rendered, screenshotted and
# its DOM checked). Idempotent and quick when chromium is already there.
# Needs root (or sudo) and the Debian apt mirrors; where neither is
# available it says so and exits 0: the browser test then skips with a
# message naming this script.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "chromium is installed: $(command -v chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: no apt-get here; install chromium yourself (the browser test will skip)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "install-test-deps: not root and no password-less sudo; install chromium yourself (the browser test will skip)" >&2
    exit 0
  fi
fi
echo "installing chromium (Debian package) for the report's browser test..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "install-test-deps: chromium is not on PATH after the install" >&2; exit 1; }
echo "chromium is installed: $(command -v chromium)"
