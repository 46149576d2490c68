#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; `playwright install` cannot
# download browsers on these machines). Installs with apt-get when missing; needs root or sudo.
set -euo pipefail

if command -v chromium >/dev/null; then
  exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "Installing Chromium..." >&2
as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >&2
