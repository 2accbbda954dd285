#!/usr/bin/env bash
# The main job on the built-in sample, end to end, on this machine only (127.0.0.1):
#   build the sample site → demo signing keys → sign → verify → publish to two local mirrors
#   served over HTTP → check the mirrors → announce on a local Telegram emulator (and answer a reader's /mirrors) → a reader subscribes to both, the first gets
#   "blocked", the reader syncs from the second, verifies, exports a bundle for a friend,
#   and serves the verified site with its freshness banner.
# Usage: bash scripts/demo.sh
# Environment: DEMO_PORT (default 8100: the reader; mirrors on +1 and +2),
#              DEMO_NO_SERVE=1 to stop after the last check instead of serving,
#              DEMO_SKIP_SETUP=1 to reuse an existing .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${DEMO_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh

root=$PWD
work=$root/demo
port=${DEMO_PORT:-8100}
port_a=$((port + 1))
port_b=$((port + 2))
tamizdat() { "$root/.venv/bin/tamizdat" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

serve_dir() {  # a plain static HTTP server over a mirror folder, as any web host would be
  "$root/.venv/bin/python" -m http.server "$1" --bind 127.0.0.1 --directory "$2" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do
    "$root/.venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return
    sleep 0.1
  done
  echo "demo: could not start a server on 127.0.0.1:$1" >&2; exit 1
}

step "0. a fresh copy of the sample site in demo/site (keys kept outside it, in demo/keys)"
rm -rf "$work"
mkdir -p "$work"
cp -r sample "$work/site"
# The mirrors are local, but the pages print base_url as the site's address, and sign and
# publish refuse a preview (loopback) address there: give the copy a reserved example name.
sed -i.orig 's|^base_url = .*|base_url = "https://far-shore.example/"|' "$work/site/tamizdat.toml"
rm "$work/site/tamizdat.toml.orig"
cat >> "$work/site/tamizdat.toml" <<'TOML'

[signing]
# Demo only: keys beside the site copy. By default keys live outside the site folder.
keys_dir = "../keys"
TOML
site=(-C "$work/site")

step "1. build the site: content/ → public/"
tamizdat "${site[@]}" build

step "2. create demo signing keys (UNENCRYPTED, for trying things out only)"
tamizdat "${site[@]}" keys init --demo
fingerprint=$(tamizdat "${site[@]}" --json keys fingerprint --no-qr |
  "$root/.venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["fingerprint"])')
tamizdat "${site[@]}" keys fingerprint --no-qr

step "3. two mirrors (local folders, served over HTTP on 127.0.0.1)"
tamizdat "${site[@]}" mirrors add mirror-a "file://$work/mirror-a" --public-url "http://127.0.0.1:$port_a/" --tag web
tamizdat "${site[@]}" mirrors add mirror-b "file://$work/mirror-b" --public-url "http://127.0.0.1:$port_b/" --tag email
tamizdat "${site[@]}" mirrors list

step "4. rebuild (the verify page now shows the fingerprint) and sign: public/ → release/"
tamizdat "${site[@]}" build
tamizdat "${site[@]}" sign --demo

step "5. verify the release against the pinned fingerprint"
tamizdat --site "$work/site" verify "$work/site/release" --fingerprint "$fingerprint" --state-dir "$work/state-publisher"

step "6. publish to both mirrors at once, then check them"
mkdir -p "$work/mirror-a" "$work/mirror-b"
serve_dir "$port_a" "$work/mirror-a"
serve_dir "$port_b" "$work/mirror-b"
tamizdat "${site[@]}" publish
tamizdat "${site[@]}" mirrors check --html "$work/mirror-status.html"

step "6b. announce the release on a local Telegram emulator (no real Telegram is reached)"
# The emulator is the npm package telegram-test-api (tests/telegram, installed by npm ci).
if command -v node >/dev/null && command -v npm >/dev/null &&
  { [ -d tests/telegram/node_modules ] ||
    (cd tests/telegram && npm ci --no-audit --no-fund --loglevel=error); }; then
  tg_port=$((port + 3))
  (cd tests/telegram && exec node serve.js "$tg_port") >"$work/telegram.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q ready "$work/telegram.log" && break; sleep 0.1; done
  cat >> "$work/site/tamizdat.toml" <<TOML

[[channels]]
name = "tg-demo"
kind = "telegram"
per_story = true
[channels.options]
chat_id = "@far_shore"
api_url = "http://127.0.0.1:$tg_port"
token_env = "DEMO_TELEGRAM_TOKEN"
answer_requests = true   # 'tamizdat robot' answers the bot's private chat

[distribution]
# Demo only: with two mirrors, one bucket for the bot gets both; a real site spreads its
# mirrors over channel × group buckets, each mirror in exactly one ([distribution]).
channels = ["telegram"]
groups = 1
TOML
  export DEMO_TELEGRAM_TOKEN=1:demo-token
  tamizdat "${site[@]}" announce --dry-run
  tamizdat "${site[@]}" announce
  echo "-- what the channel received:"
  "$root/.venv/bin/python" - "$tg_port" <<'PY'
import html, json, re, sys, urllib.request
request = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/getUpdatesHistory",
    data=json.dumps({"token": "1:demo-token"}).encode(),
    headers={"Content-Type": "application/json"},
)
for row in json.load(urllib.request.urlopen(request))["result"]:
    text = html.unescape(re.sub(r"<[^>]+>", "", row["message"]["text"]))
    print("\n  ".join(["--", *text.splitlines()]))
PY
  echo "-- a second run sends nothing twice:"
  tamizdat "${site[@]}" announce
  echo "-- a reader asks the bot for /mirrors; 'tamizdat robot --once' answers from the last check:"
  # The distributor's secret (demo only: beside the demo keys; keep it like a signing key).
  head -c 32 /dev/urandom > "$work/keys/distribution.key"
  "$root/.venv/bin/python" - "$tg_port" send <<'PY'
import json, sys, time, urllib.request
reader = {"id": 5005, "first_name": "Reader", "is_bot": False, "language_code": "en"}
message = {"botToken": "1:demo-token", "from": reader, "date": int(time.time()),
           "chat": {"id": 5005, "first_name": "Reader", "type": "private"}, "text": "/mirrors"}
urllib.request.urlopen(urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/sendMessage", data=json.dumps(message).encode(),
    headers={"Content-Type": "application/json"}))
PY
  tamizdat "${site[@]}" robot --once --channel tg-demo
  "$root/.venv/bin/python" - "$tg_port" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/getUpdatesHistory",
    data=json.dumps({"token": "1:demo-token"}).encode(),
    headers={"Content-Type": "application/json"},
)
for row in json.load(urllib.request.urlopen(request))["result"]:
    if row["message"].get("chat_id") == 5005:
        print("\n  ".join(["-- the bot's reply:", *row["message"]["text"].splitlines()]))
PY
else
  echo "demo: node/npm not found: skipping the Telegram step (bash scripts/setup.sh --dev)"
fi

step "6c. announce the release to a local mailbox (an SMTP server on 127.0.0.1; no mail leaves)"
# aiosmtpd (PyPI) stands in for the newsroom's mail relay and writes what it receives to a
# Maildir; subscribers are imported as already confirmed (they opted in elsewhere).
"$root/.venv/bin/python" -c "import aiosmtpd" 2>/dev/null ||
  "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check aiosmtpd
mail_port=$((port + 4))
"$root/.venv/bin/python" -m aiosmtpd -n -l "127.0.0.1:$mail_port" \
  -c aiosmtpd.handlers.Mailbox "$work/mailbox" >"$work/smtp.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  "$root/.venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$mail_port" 2>/dev/null && break
  sleep 0.1
done
cat >> "$work/site/tamizdat.toml" <<TOML

[[channels]]
name = "newsletter"
kind = "email"
languages = ["ru", "en"]
max_stories = 3
[channels.options]
from = "news@far-shore.example"
robot = "robot@far-shore.example"
smtp_host = "127.0.0.1"
smtp_port = $mail_port
smtp_security = "plain"
TOML
printf 'reader.one@example.net,ru\nreader.two@example.net,en\n' >"$work/subscribers.csv"
tamizdat "${site[@]}" subscribers import "$work/subscribers.csv" --confirmed
tamizdat "${site[@]}" announce --channel newsletter
echo "-- what the mailbox received:"
"$root/.venv/bin/python" - "$work/mailbox" <<'PY'
import mailbox, sys
from email import policy
for key, raw in sorted(mailbox.Maildir(sys.argv[1], factory=None).items()):
    message = mailbox.MaildirMessage(raw)
    parsed = __import__("email").message_from_bytes(message.as_bytes(), policy=policy.default)
    text = parsed.get_body(("plain",)).get_content()
    print(f"-- To: {parsed['To']}\n   Subject: {parsed['Subject']}\n   List-Unsubscribe: {parsed['List-Unsubscribe']}")
    print("   " + "\n   ".join(text.strip().splitlines()[:6]))
PY
echo "-- a second run sends nothing twice:"
tamizdat "${site[@]}" announce --channel newsletter

step "7. a reader subscribes to both mirrors"
export TAMIZDAT_READER_HOME=$work/reader
tamizdat reader add far-shore --mirror "http://127.0.0.1:$port_a/" --mirror "http://127.0.0.1:$port_b/" --fingerprint "$fingerprint"

step "8. mirror-a gets blocked; the reader syncs from mirror-b"
kill "${pids[0]}"
tamizdat reader sync far-shore --timeout 2

step "9. the reader verifies what it holds and exports a bundle for a friend"
tamizdat reader bundle far-shore -o "$work/far-shore-bundle.zip"
tamizdat verify "$work/far-shore-bundle.zip" --fingerprint "$fingerprint" --state-dir "$work/state-friend"

cat <<EOT

The sample site as plain browsers see it:  http://127.0.0.1:$port_b/en/index.html  (mirror-b)
Mirror status page:                        $work/mirror-status.html
Publisher fingerprint:                     $fingerprint
EOT
if [ "${DEMO_NO_SERVE:-}" = 1 ]; then exit 0; fi
step "10. the reader's verified copy, offline, with its freshness banner (Ctrl-C to stop)"
tamizdat reader serve far-shore --port "$port"
