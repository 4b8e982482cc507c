#!/usr/bin/env bash
# Debian packages the tests use. Each line: a command that must exist, and the package giving it.
set -euo pipefail
needed=()
while read -r command package; do
  [ -z "$command" ] && continue
  command -v "$command" >/dev/null 2>&1 || needed+=("$package")
done <<'LIST'
chromium chromium
sshd openssh-server
LIST
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${needed[*]}; install them with apt-get (root needed)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
