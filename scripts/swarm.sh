#!/usr/bin/env bash
# A local Overlay swarm on 127.0.0.1: real daemon processes, real UDP/TCP, no central server.
#
#   scripts/swarm.sh up N     build, then start N daemons (node 0 is every other node's bootstrap contact)
#   scripts/swarm.sh down     stop every daemon this script started (SIGTERM, then SIGKILL after 10 s)
#   scripts/swarm.sh demo     build, start 21 daemons (node 0 = bootstrap, nodes 1..20), add a real file of tens
#                             of MB on node 1, fetch it by CID on node 20, compare SHA-256, run DHT lookups,
#                             show a web page's request and a second daemon refused, restart node 1 without a
#                             bootstrap list (it rejoins from its peer cache and re-announces its content),
#                             print timings, and stop every daemon it started, also when it fails
#
# Environment: SWARM_DIR (state, default .swarm in the repo), SWARM_PORT (UDP/TCP port of node 0, default 47000;
# node i uses SWARM_PORT+i), SWARM_API_PORT (API port of node 0, default 48000), SWARM_FILE (the demo's file).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${SWARM_DIR:-$repo/.swarm}
port0=${SWARM_PORT:-47000}
api0=${SWARM_API_PORT:-48000}
dll=$repo/Node/bin/Release/net10.0/overlay.dll

log() { printf '[swarm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# The CLI reads each daemon's API token from its --data-dir (api.token), so every call names the node's directory.
overlay() { dotnet "$dll" "$@"; }
now_ms() { date +%s%3N; }

build() {
  log "building (Release)"
  dotnet build "$repo/Node/Overlay.Node.csproj" -c Release -nologo -v quiet >"$state/build.log" 2>&1 \
    || { cat "$state/build.log" >&2; die "build failed (see above)"; }
}

# Waits until node $1 answers on its API and, unless it is node 0, has joined (routing table not empty).
wait_ready() {
  local i=$1 deadline=$(( $(date +%s) + 60 )) size
  while (( $(date +%s) < deadline )); do
    if ! kill -0 "$(sed -n "$((i + 1))p" "$state/pids")" 2>/dev/null; then
      tail -n 20 "$state/node-$i.log" >&2 || true
      die "node $i exited during start-up (log: $state/node-$i.log)"
    fi
    if size=$(overlay status --api "127.0.0.1:$((api0 + i))" --data-dir "$state/node-$i" --json 2>/dev/null | sed -n 's/.*"routingTableSize": *\([0-9]*\).*/\1/p') \
       && [[ -n "$size" ]] && { (( i == 0 )) || (( size > 0 )); }; then
      return 0
    fi
    sleep 0.2
  done
  die "node $i not ready within 60 s (log: $state/node-$i.log)"
}

up() {
  local n=${1:?usage: swarm.sh up N}
  [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 200 )) || die "N must be 1..200, got '$n'"
  [[ -s "$state/pids" ]] && die "a swarm is already up ($state/pids); run 'swarm.sh down' first"
  mkdir -p "$state"
  build
  : >"$state/pids"
  for (( i = 0; i < n; i++ )); do
    local args=(node run --data-dir "$state/node-$i" --port $((port0 + i)) --api "127.0.0.1:$((api0 + i))")
    (( i > 0 )) && args+=(--bootstrap "127.0.0.1:$port0")
    setsid dotnet "$dll" "${args[@]}" >"$state/node-$i.log" 2>&1 </dev/null &
    echo $! >>"$state/pids"
    # Node 0 must be up before the others try to join through it.
    (( i == 0 )) && wait_ready 0
  done
  for (( i = 1; i < n; i++ )); do wait_ready "$i"; done
  log "$n daemons up: UDP/TCP ports $port0..$((port0 + n - 1)), APIs 127.0.0.1:$api0..$((api0 + n - 1))"
}

down() {
  [[ -f "$state/pids" ]] || { log "no swarm is up"; return 0; }
  local pids
  pids=$(cat "$state/pids")
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  local deadline=$(( $(date +%s) + 10 ))
  for pid in $pids; do
    while kill -0 "$pid" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "node pid $pid ignored SIGTERM; killing"; kill -KILL "$pid" 2>/dev/null || true; }
  done
  rm -f "$state/pids"
  log "swarm down"
}

demo_file() {
  if [[ -n "${SWARM_FILE:-}" ]]; then echo "$SWARM_FILE"; return; fi
  local root
  root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  # The F# compiler service ships with every .NET SDK (about 40 MB); else the largest DLL of the SDK.
  find "$root/sdk" -name FSharp.Compiler.Service.dll -size +10M 2>/dev/null | sort | tail -n 1 | grep . \
    || find "$root" -name '*.dll' -size +10M -printf '%s %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-
}

demo() {
  mkdir -p "$state"
  [[ -s "$state/pids" ]] && die "a swarm is already up ($state/pids); run 'swarm.sh down' first"
  trap 'down' EXIT
  local t0 t1 file cid out sha_in sha_out
  file=$(demo_file)
  [[ -f "$file" ]] || die "no demo file found (set SWARM_FILE)"
  # A fresh swarm: blocks left by an earlier run would turn the fetch into a local read.
  rm -rf "$state"/node-*
  t0=$(now_ms); up 21; t1=$(now_ms)
  log "start-up of 21 daemons: $(( t1 - t0 )) ms"

  sha_in=$(sha256sum "$file" | cut -d' ' -f1)
  log "adding $file ($(stat -c %s "$file") bytes) on node 1"
  t0=$(now_ms)
  cid=$(overlay add "$file" --api "127.0.0.1:$((api0 + 1))" --data-dir "$state/node-1" --json | sed -n 's/.*"cid": *"\([^"]*\)".*/\1/p')
  t1=$(now_ms)
  [[ -n "$cid" ]] || die "add returned no CID"
  log "added: $cid in $(( t1 - t0 )) ms"

  out="$state/fetched.bin"
  rm -f "$out"
  # Node 1's connection events while node 20 fetches from it (the feed is the API's /api/v0/events WebSocket).
  dotnet "$dll" connections --watch --api "127.0.0.1:$((api0 + 1))" --data-dir "$state/node-1" >"$state/events-1.txt" 2>&1 &
  local watcher=$!
  sleep 1
  t0=$(now_ms)
  overlay get "$cid" -o "$out" --api "127.0.0.1:$((api0 + 20))" --data-dir "$state/node-20" >&2
  t1=$(now_ms)
  sha_out=$(sha256sum "$out" | cut -d' ' -f1)
  log "fetched on node 20 in $(( t1 - t0 )) ms ($(stat -c %s "$out") bytes)"
  echo "original sha256: $sha_in"
  echo "fetched  sha256: $sha_out"
  [[ "$sha_in" == "$sha_out" ]] || die "SHA-256 differs"
  echo "transfer time:   $(( t1 - t0 )) ms"

  log "secure sessions: every block came over an authenticated, encrypted session (Noise XX, node IDs proven),"
  log "  over UDP (streams with loss recovery and congestion control); TCP is raced 250 ms later for networks that drop UDP"
  log "node 20's connections after the get:"
  overlay connections --api "127.0.0.1:$((api0 + 20))" --data-dir "$state/node-20"
  log "node 1's connection events during the get (overlay connections --watch):"
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  cat "$state/events-1.txt"
  local id12 id13
  id12=$(overlay id --api "127.0.0.1:$((api0 + 12))" --data-dir "$state/node-12" --json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
  id13=$(overlay id --api "127.0.0.1:$((api0 + 13))" --data-dir "$state/node-13" --json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
  log "node 5 connects to node 12 by its node ID alone (address found in the DHT):"
  overlay connect "$id12" --api "127.0.0.1:$((api0 + 5))" --data-dir "$state/node-5"
  log "node 5 dials node 12's address expecting node 13's ID: the handshake refuses the wrong node"
  overlay connect "$id13@127.0.0.1:$((port0 + 12))" --api "127.0.0.1:$((api0 + 5))" --data-dir "$state/node-5" 2>&1 && die "a wrong node ID was accepted"

  log "DHT lookups"
  overlay dht providers "$cid" --api "127.0.0.1:$((api0 + 7))" --data-dir "$state/node-7"
  local target
  target=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  t0=$(now_ms); overlay dht find-node "$target" --api "127.0.0.1:$((api0 + 13))" --data-dir "$state/node-13"; t1=$(now_ms)
  log "find-node from node 13: $(( t1 - t0 )) ms (CLI process included)"
  local key
  key=$(overlay dht put "hello from node 3 at $(date -u +%FT%TZ)" --api "127.0.0.1:$((api0 + 3))" --data-dir "$state/node-3" --json | sed -n 's/.*"key": *"\([^"]*\)".*/\1/p')
  [[ -n "$key" ]] || die "dht put returned no key"
  overlay dht get "$key" --api "127.0.0.1:$((api0 + 17))" --data-dir "$state/node-17"

  log "a web page's cross-site POST to node 3's API (text/plain, foreign Origin, no token) is refused:"
  curl -s -X POST -H 'Content-Type: text/plain' -H 'Origin: http://evil.example' \
    --data '{"value":"pwned","mutable":true}' "http://127.0.0.1:$((api0 + 3))/api/v0/dht/put" || true
  echo
  log "a second daemon on node 1's data directory is refused:"
  overlay node run --data-dir "$state/node-1" --port 0 --api 127.0.0.1:0 2>&1 | head -n 1 || true

  log "restarting node 1 with no --bootstrap: it rejoins through its peer cache and re-announces what it provides"
  restart_without_bootstrap 1
  grep -o 'Restored [0-9]* published records and [0-9]* provided keys.*' "$state/node-1.log" | tail -n 1 >&2 || true
  overlay dht providers "$cid" --api "127.0.0.1:$((api0 + 9))" --data-dir "$state/node-9"
  echo "demo ok"
}

# Stops node $1 (SIGTERM, bounded wait) and starts it again on its port and data directory without a bootstrap list.
restart_without_bootstrap() {
  local i=$1 pid deadline
  pid=$(sed -n "$((i + 1))p" "$state/pids")
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( $(date +%s) + 15 ))
  while kill -0 "$pid" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && die "node $i did not stop within 15 s"
  setsid dotnet "$dll" node run --data-dir "$state/node-$i" --port $((port0 + i)) --api "127.0.0.1:$((api0 + i))" \
    >>"$state/node-$i.log" 2>&1 </dev/null &
  sed -i "$((i + 1))s/.*/$!/" "$state/pids"
  wait_ready "$i"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  demo) demo ;;
  *) echo "usage: $0 up N | down | demo" >&2; exit 2 ;;
esac
