#!/usr/bin/env bash
# Installs the system programs wbsupply needs, from Debian's packages, when they are missing.
# Usage: scripts/ensure-system-deps.sh [venv] [browser] [postgres] [redis]
set -euo pipefail

missing=()
for need in "$@"; do
  case "$need" in
    browser)
      [ -x /usr/bin/chromium-headless-shell ] || [ -x /usr/bin/chromium ] || [ -n "${WBSUPPLY_BROWSER_EXECUTABLE:-}" ] \
        || missing+=(chromium-headless-shell) ;;
    postgres)
      compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || command -v pg_ctl >/dev/null \
        || missing+=(postgresql) ;;
    redis)
      command -v redis-server >/dev/null || missing+=(redis-server) ;;
    venv)
      # Debian's python3 has no ensurepip until python3-venv is installed.
      "${PYTHON:-python3}" -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv) ;;
    *) echo "unknown requirement: $need" >&2; exit 2 ;;
  esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a cluster on install; the tests start their own servers on their own ports.
  exit 0
fi

echo "wbsupply needs these system packages: ${missing[*]}" >&2
echo "Install them, e.g.: sudo apt-get install ${missing[*]}" >&2
echo "(or set WBSUPPLY_BROWSER_EXECUTABLE to a Chromium binary)" >&2
exit 1
