#!/usr/bin/env bash
# Set up everything tamizdat needs on a Debian machine: Debian packages (when missing and we
# can install them), then a virtual environment in .venv with tamizdat and its tools.
# Usage: bash scripts/setup.sh [--dev]     (--dev adds the test and lint tools)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: exiftool (metadata-stripping tests), ffmpeg (the build strips metadata from
# audio and video by remuxing; its ffprobe checks the result), OpenSSH server (SFTP mirror
# tests), zim-tools and kiwix-tools (ZIM export tests), unzip and libarchive-tools (bsdtar):
# the extractors readers use, which must unpack a bundle to exactly the verified files.
debs=(python3-venv libimage-exiftool-perl ffmpeg openssh-server zim-tools kiwix-tools unzip
      libarchive-tools)
# --dev only: Node.js and npm build and test the browser verifier in web/ (the runtime never
# needs them: the built bundle ships inside the Python package), and Debian's Chromium is the
# real browser the end-to-end tests drive with Playwright (which never downloads its own);
# nginx and Apache run the web server configuration 'tamizdat mirrors headers' prints.
if [ "${1:-}" = "--dev" ]; then
  command -v node >/dev/null && command -v npm >/dev/null || debs+=(nodejs npm)
  debs+=(chromium nginx-light apache2-bin)
  # Dovecot: the real IMAP server the mail robot's tests read requests from (loopback only;
  # the fixture starts its own instance with a throwaway config, never the system one).
  debs+=(dovecot-imapd)
  # The censorship lab (tests/lab/): iproute2 builds its namespaces, nftables, iptables (its
  # string match blocks TLS server names) and conntrack are the censor, faketime signs a
  # release in the past (a frozen mirror's expired timestamp).
  debs+=(iproute2 nftables iptables conntrack faketime)
  # The Nu HTML Checker (vnu.jar from npm, tests/tools/web-quality) runs on Java.
  command -v java >/dev/null || debs+=(default-jre-headless)
fi
missing=()
for deb in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup: tamizdat needs Python 3.11 or newer (found $("$python" --version))" >&2; exit 2; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e . --group dev
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
if [ "${1:-}" = "--dev" ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  # the Telegram Bot API emulator the channel tests post to (no real Telegram is reachable)
  (cd tests/telegram && npm ci --no-audit --no-fund --loglevel=error)
  # --ignore-scripts: the package's own installer would download a Java runtime.
  (cd tests/tools/web-quality && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
