#!/usr/bin/env bash
# Redis and nginx for `make scale-test`: installs the Debian packages `redis-server` and `nginx`
# with apt-get when their programs are missing. Starts nothing: the scale test runs its own
# redis-server and nginx as the current user, on its own ports, with config files under build/scale/.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing ${missing[*]}..." >&2
# Debian starts a package's system service on install (nginx on :80, Redis on :6379); the scale
# test needs none of them, so a policy-rc.d (the standard hook, removed again) vetoes the start.
policy=/usr/sbin/policy-rc.d
added_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
  as_root chmod 755 "$policy"
  added_policy=true
fi
trap '$added_policy && as_root rm -f "$policy"' EXIT
as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >&2
