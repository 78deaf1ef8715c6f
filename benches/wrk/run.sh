#!/usr/bin/env bash
# Issue #21's external write benchmark: wrk against gateway builds, Ory Polis in memory and a
# bare HTTP baseline, alternating in one run on this machine. Each gateway run starts the binary
# on a fresh SQLite database, sends 15 s of Entra-shaped `POST /Users` (create.lua), then 10 s of
# PATCH replace `name.familyName` of the users just created (patch.lua), then loads a group of
# 10,000 of them through the API (seed_group.py) and sends 10 s of PATCHes that add one other
# user to it and remove them again (members.lua). Polis (the @boxyhq/saml-jackson library, in
# memory, polis-server.js; installed from npm into target/bench-peers on first use) gets the
# same three phases; so does the bare baseline (`--bare`: examples/bare_server.rs, which parses
# the body and answers a fixed one, built on first use). Prints requests/s, p50, p99 and the
# server's CPU time per request (user + system, from /proc) for each phase; with several rounds,
# then the median and range of each (the machine is noisy: compare medians of alternating rounds).
#   benches/wrk/run.sh [--rounds N] [--clients C] [--polis] [--bare] LABEL=BINARY ...
#   benches/wrk/run.sh --rounds 2 --polis --bare head=target/release/scim-gateway
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROUNDS=1 CLIENTS=32 POLIS=0 BARE=0 PORT=18080 POLIS_VERSION=26.2.0 GROUP_SIZE=10000
BUILDS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --polis) POLIS=1; shift ;;
    --bare) BARE=1; shift ;;
    *=*) BUILDS+=("$1"); shift ;;
    *) echo "usage: $0 [--rounds N] [--clients C] [--polis] [--bare] LABEL=BINARY ..." >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is missing (Debian: apt-get install wrk)" >&2; exit 2; }
WORK=$(mktemp -d)
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

# phase LABEL NAME SCRIPT SECONDS URL ARGS...: one wrk phase, one line of results.
phase() {
  local label=$1 name=$2 script=$3 seconds=$4 url=$5; shift 5
  local before after out
  before=$(cpu_ticks)
  out=$(wrk -t2 -c"$CLIENTS" -d"${seconds}s" --latency -s "$HERE/$script" "$url" -- "$@")
  after=$(cpu_ticks)
  echo "$out" | awk -v label="$label" -v name="$name" -v clients="$CLIENTS" \
    -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /requests in/ { total = $1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = $2 }
    $1 == "99%" { p99 = $2 }
    /Non-2xx/ { errors = $NF }
    END {
      printf "%-12s %-7s clients %-3s %9.0f req/s  p50 %8s  p99 %8s  server CPU %4.0f us/req%s\n",
        label, name, clients, rps, p50, p99, ticks * 1e6 / hz / total,
        errors ? "  NON-2XX " errors : ""
    }' | tee -a "$WORK/results"
}

# members LABEL URL BASE TOKEN IDS: a group of the first GROUP_SIZE users of IDS, loaded through
# the API, then the member-change phase with the users after them.
members() {
  local label=$1 url=$2 base=$3 token=$4 ids=$5 group
  group=$(python3 "$HERE/seed_group.py" "$url$base" "$token" "$ids" "$GROUP_SIZE")
  phase "$label" members members.lua 10 "$url" "$token" "$group" "$ids" $((GROUP_SIZE + 1)) "$base"
}

wait_for() { for _ in $(seq 100); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

gateway() {
  local label=$1 bin=$2 dir="$WORK/$1"
  rm -rf "$dir"; mkdir -p "$dir"
  local db="sqlite://$dir/gateway.db"
  "$bin" --database "$db" tenant create acme >/dev/null
  local token; token=$("$bin" --database "$db" token create --tenant acme 2>/dev/null)
  "$bin" --database "$db" serve --listen "127.0.0.1:$PORT" --token-rate-limit 0 >"$dir/serve.log" 2>&1 &
  SERVER=$!
  wait_for "http://127.0.0.1:$PORT/healthz"
  phase "$label" create create.lua 15 "http://127.0.0.1:$PORT" "$token"
  python3 -c "import sqlite3,sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute('SELECT id FROM users WHERE deleted_at IS NULL')]" \
    "$dir/gateway.db" >"$dir/ids.txt"
  phase "$label" patch patch.lua 10 "http://127.0.0.1:$PORT" "$token" "$dir/ids.txt"
  members "$label" "http://127.0.0.1:$PORT" /scim/v2/acme "$token" "$dir/ids.txt"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  rm -rf "$dir"
}

polis() {
  local peer="$ROOT/target/bench-peers/polis-$POLIS_VERSION" dir="$WORK/polis"
  if [ ! -d "$peer/node_modules/@boxyhq/saml-jackson" ]; then
    mkdir -p "$peer"
    npm install --prefix "$peer" --no-audit --no-fund --silent "@boxyhq/saml-jackson@$POLIS_VERSION" >&2
  fi
  mkdir -p "$dir"
  DO_NOT_TRACK=1 BOXYHQ_NO_ANALYTICS=1 NODE_PATH="$peer/node_modules" \
    node "$HERE/polis-server.js" $((PORT + 10)) >"$dir/out.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 200); do grep -q '"base"' "$dir/out.log" 2>/dev/null && break; sleep 0.1; done
  local base token
  base=$(grep '"base"' "$dir/out.log" | python3 -c "import json,sys; print(json.load(sys.stdin)['base'])")
  token=$(grep '"base"' "$dir/out.log" | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
  local url="http://127.0.0.1:$((PORT + 10))"
  phase polis-mem create create.lua 15 "$url" "$token" "$base"
  # Polis lists its users a page at a time: the group's members and a few thousand more.
  python3 - "$url$base/Users" "$token" >"$dir/ids.txt" <<'PY'
import json, sys, urllib.request
url, token, start = sys.argv[1], sys.argv[2], 1
while start < 15000:
    request = urllib.request.Request(f"{url}?startIndex={start}&count=100",
                                     headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(request))["Resources"]
    if not page:
        break
    for user in page:
        print(user["id"])
    start += len(page)
PY
  phase polis-mem patch patch.lua 10 "$url" "$token" "$dir/ids.txt" "$base"
  members polis-mem "$url" "$base" "$token" "$dir/ids.txt"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

bare() {
  local bin="$ROOT/target/release/examples/bare_server" url="http://127.0.0.1:$((PORT + 20))"
  [ -x "$bin" ] || (cd "$ROOT" && cargo build --release --example bare_server >&2)
  "$bin" "127.0.0.1:$((PORT + 20))" &
  SERVER=$!
  wait_for "$url/healthz"
  seq "$((GROUP_SIZE + 1000))" >"$WORK/bare-ids.txt"
  phase bare create create.lua 15 "$url" token
  phase bare patch patch.lua 10 "$url" token "$WORK/bare-ids.txt"
  phase bare members members.lua 10 "$url" token group "$WORK/bare-ids.txt" $((GROUP_SIZE + 1))
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

for round in $(seq "$ROUNDS"); do
  for build in "${BUILDS[@]}"; do
    gateway "${build%%=*}" "$(realpath "${build#*=}")"
  done
  [ "$POLIS" = 1 ] && polis
  [ "$BARE" = 1 ] && bare
done
# With several rounds, each label and phase once more: the median and the range of its rounds.
[ "$ROUNDS" -gt 1 ] && python3 - "$WORK/results" <<'PY'
import collections, re, statistics, sys
def ms(text):
    value = float(re.match(r"[\d.]+", text).group())
    return value / 1000 if text.endswith("us") else value * 1000 if text.endswith("s") and not text.endswith("ms") else value
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    rows[(f[0], f[1])].append((float(f[4]), ms(f[7]), ms(f[9]), float(f[12])))
print(f"\nmedians of {len(next(iter(rows.values())))} rounds (range):")
for (label, name), runs in rows.items():
    rps, p50, p99, cpu = zip(*runs)
    ratio = [b / a for a, b in zip(p50, p99)]
    print(f"{label:<12} {name:<7} {statistics.median(rps):9.0f} req/s ({min(rps):.0f}-{max(rps):.0f})"
          f"  p99/p50 {statistics.median(ratio):4.1f} ({min(ratio):.1f}-{max(ratio):.1f})"
          f"  server CPU {statistics.median(cpu):4.0f} us/req")
PY
exit 0
