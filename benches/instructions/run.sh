#!/usr/bin/env bash
# Instructions per SCIM write of a gateway binary, counted by callgrind: repeatable where time on
# a shared machine is not. After 50 warm-up creates and PATCHes, counts 300 creates, then 300
# PATCHes, sent one at a time (drive.py), on a fresh SQLite database.
#   benches/instructions/run.sh target/release/scim-gateway [PORT]
set -euo pipefail
BIN=$(realpath "$1"); PORT=${2:-19100}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
DB="sqlite://$WORK/gateway.db"
"$BIN" --database "$DB" tenant create acme >/dev/null
TOKEN=$("$BIN" --database "$DB" token create --tenant acme --connection entra 2>/dev/null)
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
  "$BIN" --database "$DB" serve --listen "127.0.0.1:$PORT" >"$WORK/gateway.log" 2>&1 &
VG=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 1; done
python3 "$HERE/drive.py" "$PORT" "$TOKEN" create 50 0 "$WORK/ids.json"
python3 "$HERE/drive.py" "$PORT" "$TOKEN" patch 50 0 "$WORK/ids.json"
for phase in create patch; do
  callgrind_control -z "$VG" >/dev/null
  python3 "$HERE/drive.py" "$PORT" "$TOKEN" "$phase" 300 1000 "$WORK/ids.json"
  callgrind_control -d "$phase" "$VG" >/dev/null
done
kill "$VG"; wait "$VG" || true
for dump in "$WORK"/callgrind.out.*; do
  phase=$(grep -m1 '^desc: Trigger' "$dump" | awk '{print $NF}')
  total=$(callgrind_annotate "$dump" 2>/dev/null | grep -m1 'PROGRAM TOTALS' | awk '{gsub(",", "", $1); print $1}')
  echo "$phase: $((total / 300)) instructions per request"
done
echo "callgrind dumps in $WORK (callgrind_annotate FILE shows where they go)"
