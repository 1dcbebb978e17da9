#!/usr/bin/env bash
# Runs the benchmark suite and regenerates Bench/RESULTS.md.
#   scripts/bench.sh           full run: micro suite (~3 min), UDP RPC vs echo (3 runs of 1+5 s per row, ~3 min),
#                              1,000-node loopback swarm (join ~1 min + 1,000 lookups), value gets on a 1,000-node
#                              swarm (time to the first value and requests per get, one at a time; gets per second from
#                              one node with 64 in flight; OpenDHT's figures: ~0.9 ms, ~29 requests, ~500 gets/s)
#   scripts/bench.sh --quick   smoke run (~2 min): short micro job, 1 run of 1+2 s per row, 200-node swarms, 200 lookups
#   scripts/bench.sh sim       simulation experiments (~75 min, of which the 50,000-node run ~45 min): lookups vs N (SIM_SIZES, default 1000,10000,50000),
#                              loss with and without churn, 48 h durability; rewrites the Simulation section and the SVG
#   scripts/bench.sh daemon    idle daemon RSS and the swarm demo's transfer time (~2 min); rewrites the Daemon section
#   scripts/bench.sh sessions  one stream's throughput (raw TCP, TLS 1.3, TCP session, UDP session lossless and at 1 % loss), handshakes/s
#                              and a UDP session's round trip over UdpSessionHost links (~6 min); rewrites the Sessions section
#   scripts/bench.sh streams   stream-core throughput, lossless and at 1 % loss, and the reliable path (~1 min); rewrites the Streams section
# Every load is bounded in time and count and goes to 127.0.0.1 only; the C echo server exits by itself (alarm).
# Needs gcc (Bench/native/echo.c). Exit code: non-zero when a build or a benchmark fails.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
quick=0
if [[ "${1:-}" == "sim" ]]; then
  # Simulation experiments (virtual time; ~75 min on 2 cores): replaces the "## Simulation" section of RESULTS.md.
  shift
  sizes=${SIM_SIZES:-1000,10000,50000}
  dotnet build -c Release --nologo -v q Bench/Overlay.Bench.csproj
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # A 256 MiB gen0 budget: the simulation allocates per datagram on one thread; the default budget spent half the
  # time in GC (dotnet-trace). It changes wall times only, never a simulated figure.
  export DOTNET_GCgen0size=0x10000000
  bench=(dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll)
  lookups_cmd=(sim lookups --nodes "$sizes" --lookups 1000 --seed 7)
  loss_cmd=(sim loss --nodes 2000 --loss 0.01,0.05,0.10 --lookups 500 --seed 7)
  churn_cmd=(sim churn --nodes 1000 --hours 48 --loss 0.05 --session-hours 1 --records 200 --providers 20 --lookups-per-hour 25 --republish-hours 22,0.5 --seed 7)
  # SIM_RESULTS_DIR: write the section from outputs of these same commands run earlier (lookups.md, loss.md,
  # churn.md there; the SVG already in Bench/), e.g. when the experiments ran in parallel processes.
  # SIM_NOTE: a line printed under the lookups table (e.g. which sizes did not finish).
  if [[ -n "${SIM_RESULTS_DIR:-}" ]]; then
    cp "$SIM_RESULTS_DIR"/lookups.md "$SIM_RESULTS_DIR"/loss.md "$SIM_RESULTS_DIR"/churn.md "$work"/
  else
    "${bench[@]}" "${lookups_cmd[@]}" --out "$work/lookups.md" --svg Bench/lookups-vs-n.svg
    "${bench[@]}" "${loss_cmd[@]}" --out "$work/loss.md"
    "${bench[@]}" "${churn_cmd[@]}" --out "$work/churn.md"
  fi
  out=Bench/RESULTS.md
  head=$(sed '/^## Simulation/,$d' "$out")
  {
    echo "$head"
    echo "## Simulation (scripts/bench.sh sim)"
    echo
    echo "The real KademliaNode (k = 20, alpha = 3, default options) on the in-memory network in virtual time, one thread;"
    echo "wide-area latency model (per-node access delay, log-normal, median link RTT 80 ms); swarms grow by real joins"
    echo "(256 at a time), then run one self-lookup interval (11 min) before measuring. Success = the first result is the"
    echo "live node closest to the target (brute force over all live nodes); exact = all k results are the true k closest."
    echo "Rounds = longest chain of sequential queries. Generated $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs; wall times include GC."
    echo
    echo "### Lookups against N"
    echo
    echo "Command: \`dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll ${lookups_cmd[*]}\`"
    echo
    cat "$work/lookups.md"
    if [[ -n "${SIM_NOTE:-}" ]]; then echo; echo "$SIM_NOTE"; fi
    if [[ -f Bench/lookups-vs-n.svg ]]; then echo; echo "![lookup rounds and latency against N](lookups-vs-n.svg)"; fi
    echo
    echo "### Loss, without and with churn (median session 1 h)"
    echo
    echo "Command: \`dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll ${loss_cmd[*]}\`"
    echo
    cat "$work/loss.md"
    echo
    echo "### Durability and routing health over 48 h of churn"
    echo
    echo "Command: \`dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll ${churn_cmd[*]}\`"
    echo
    echo "Records are stored by churning nodes and kept alive by holders' hourly replication (paper §2.5). Provider"
    echo "records are announced by stable providers and are not replicated by holders (a holder cannot announce for"
    echo "another node), so they last as long as their provider re-announces them: the default 22 h, and 30 min."
    echo
    cat "$work/churn.md"
  } > "$out.new" && mv "$out.new" "$out"
  echo "== wrote the Simulation section of $out"
  exit 0
fi
if [[ "${1:-}" == "sessions" ]]; then
  # Transport figures: replaces the "## Sessions" section of RESULTS.md (kept before "## Daemon").
  dotnet build -c Release --nologo -v q Bench/Overlay.Bench.csproj
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  bench=(dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll)
  stream_cmd=(stream throughput --mib 512 --reps 5)
  session_cmd=(session figures --reps 5)
  "${bench[@]}" "${stream_cmd[@]}" --out "$work/stream.md"
  "${bench[@]}" "${session_cmd[@]}" --out "$work/session.md"
  out=Bench/RESULTS.md
  {
    awk '/^## /{skip = /^## (Sessions|Daemon|Simulation)/} !skip' "$out"
    echo "## Sessions (scripts/bench.sh sessions)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, loopback, one process for both ends."
    echo
    echo "### One stream's throughput"
    echo
    echo "Command: \`dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll ${stream_cmd[*]}\`"
    echo
    cat "$work/stream.md"
    echo
    echo "### Handshakes and round trips"
    echo
    echo "Command: \`dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll ${session_cmd[*]}\`"
    echo
    cat "$work/session.md"
    echo
    sed -n '/^## Daemon/,$p' "$out"
    if ! grep -q '^## Daemon' "$out"; then sed -n '/^## Simulation/,$p' "$out"; fi
  } > "$out.new" && mv "$out.new" "$out"
  echo "== wrote the Sessions section of $out"
  exit 0
fi
if [[ "${1:-}" == "daemon" ]]; then
  # One idle daemon's RSS, and the demo (21 daemons, ~40 MB file): replaces the "## Daemon" section of RESULTS.md.
  dotnet build -c Release --nologo -v q Node/Overlay.Node.csproj
  work=$(mktemp -d)
  dotnet Node/bin/Release/net10.0/overlay.dll node run --data-dir "$work/idle" --port 0 --api 127.0.0.1:0 >"$work/idle.out" 2>"$work/idle.err" &
  pid=$!
  for _ in $(seq 1 100); do grep -q '^overlay node' "$work/idle.out" && break; sleep 0.1; done
  sleep 10; rss10=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  sleep 20; rss30=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  kill -TERM $pid; wait $pid || true
  bash scripts/swarm.sh demo >"$work/demo.out" 2>&1
  transfer=$(sed -n 's/^transfer time: *//p' "$work/demo.out")
  fetched=$(grep -o 'fetched on node 20 in [0-9]* ms ([0-9]* bytes)' "$work/demo.out" | head -1)
  sha=$(grep -c '^original sha256\|^fetched  sha256' "$work/demo.out")
  out=Bench/RESULTS.md
  {
    sed '/^## Daemon/,$d' "$out" | sed '/^## Simulation/,$d'
    echo "## Daemon (scripts/bench.sh daemon)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs."
    echo
    echo "| figure | value | command |"
    echo "|---|---|---|"
    echo "| RSS of one idle daemon, 10 s / 30 s after start | $((rss10 / 1024)) MiB / $((rss30 / 1024)) MiB | \`overlay node run --data-dir D --port 0 --api 127.0.0.1:0\`, VmRSS from /proc |"
    echo "| demo transfer: \`overlay get\` on node 20 of a file added on node 1 (CLI process start, provider lookup, fetch, verify, write) | $transfer ($fetched) | \`scripts/swarm.sh demo\` |"
    echo "| SHA-256 lines printed by the demo (original and fetched, equal or the demo fails) | $sha | \`scripts/swarm.sh demo\` |"
    echo
    sed -n '/^## Simulation/,$p' "$out"
  } > "$out.new" && mv "$out.new" "$out"
  rm -rf "$work"
  echo "== wrote the Daemon section of $out"
  exit 0
fi
if [[ "${1:-}" == "streams" ]]; then
  # Stream core (StreamMux) throughput without encryption, in virtual time on one thread: replaces "## Streams".
  dotnet build -c Release --nologo -v q Bench/Overlay.Bench.csproj
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  streams_cmd=(streams --mib 256 --reps 3 --seed 7)
  timeout 900 dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll "${streams_cmd[@]}" --out "$work/streams.md"
  {
    echo "## Streams (scripts/bench.sh streams)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs. Command: \`dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll ${streams_cmd[*]}\`"
    echo
    cat "$work/streams.md"
    echo
  } > "$work/section.md"
  out=Bench/RESULTS.md
  # Drop the old Streams section; put the new one before Daemon (or Simulation), else at the end.
  awk -v section="$work/section.md" '
    function emit(  line) { while ((getline line < section) > 0) print line; close(section); done = 1 }
    /^## / { skipping = ($0 ~ /^## Streams/); if (!done && ($0 ~ /^## Daemon/ || $0 ~ /^## Simulation/)) emit() }
    !skipping { print }
    END { if (!done) emit() }
  ' "$out" > "$out.new" && mv "$out.new" "$out"
  echo "== wrote the Streams section of $out"
  exit 0
fi
if [[ "${1:-}" == "--quick" ]]; then quick=1; shift; fi
if [[ $# -gt 0 ]]; then echo "usage: scripts/bench.sh [--quick | sim | daemon | streams]" >&2; exit 2; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mode=$([[ $quick -eq 1 ]] && echo "scripts/bench.sh --quick" || echo "scripts/bench.sh")

echo "== build (Release) and the C echo server"
dotnet build -c Release --nologo -v q Bench/Overlay.Bench.csproj
gcc -O2 -Wall -Wextra -o "$work/echo" Bench/native/echo.c
bench=(dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll)

if [[ $quick -eq 1 ]]; then
  micro_args=(micro --quick); rpc_args=(--reps 1 --warmup 1 --seconds 2); swarm_args=(--nodes 200 --lookups 200); gets_args=(--nodes 200)
else
  micro_args=(micro); rpc_args=(--reps 3 --warmup 1 --seconds 5); swarm_args=(--nodes 1000 --lookups 1000); gets_args=(--nodes 1000)
fi
rpc_cmd=(udp rpc --echo "$work/echo" --out "$work/rpc.md" --windows 64,256 --seed 7 "${rpc_args[@]}")
swarm_cmd=(udp swarm --out "$work/swarm.md" --seed 7 --join-timeout 600 --lookup-timeout 300 "${swarm_args[@]}")
gets_cmd=(udp gets --out "$work/gets.md" --seed 7 "${gets_args[@]}")

echo "== micro-benchmarks: ${micro_args[*]}"
timeout 900 "${bench[@]}" "${micro_args[@]}" --artifacts "$work/bdn"
echo "== UDP RPC throughput vs echo: ${rpc_cmd[*]}"
timeout 900 "${bench[@]}" "${rpc_cmd[@]}"
echo "== loopback swarm: ${swarm_cmd[*]}"
timeout 1200 "${bench[@]}" "${swarm_cmd[@]}"
echo "== value gets: ${gets_cmd[*]}"
timeout 1200 "${bench[@]}" "${gets_cmd[@]}"

# Printable commands (the echo path is a temporary file: shown as its source).
show() { echo "dotnet Bench/bin/Release/net10.0/Overlay.Bench.dll $*" | sed "s|$work/echo|<gcc -O2 Bench/native/echo.c>|; s| --out [^ ]*||; s| --artifacts [^ ]*||"; }

out=Bench/RESULTS.md
{
  echo "# Overlay benchmark results"
  echo
  echo "Generated by \`$mode\` on $(date -u '+%Y-%m-%d %H:%M UTC') — do not edit by hand; rerun the script."
  echo
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), .NET SDK $(dotnet --version), gcc $(gcc -dumpfullversion). "
  echo "The machine is shared and noisy (other tenants' processes run during the benchmarks); ratios against a baseline measured in the same run, with runs interleaved, are the figures to compare, more than absolute rates."
  echo
  echo "## Micro-benchmarks (BenchmarkDotNet 0.14.0)"
  echo
  echo "Command: \`$(show "${micro_args[@]}")\` — in-process toolchain, 1 launch, $([[ $quick -eq 1 ]] && echo "1 warm-up + 3 iterations of 100 ms" || echo "3 warm-ups + 7 iterations of 250 ms"), MemoryDiagnoser. Median is the figure to read; Ratio is against the class's baseline (SHA-256 for hashing)."
  for class in NodeIdBenchmarks RoutingTableBenchmarks EnvelopeBenchmarks HashBenchmarks; do
    report=$(ls "$work"/bdn/results/*"$class"-report-github.md 2>/dev/null | head -1 || true)
    echo
    echo "### $class"
    echo
    if [[ -n "$report" ]]; then grep -E '^\|' "$report" | sed "s/&#39;//g; s/\*\*//g"; else echo "(no report: the benchmark failed)"; fi
  done
  echo
  echo "## UDP RPC throughput of one node vs a native echo server"
  echo
  echo "Command: \`$(show "${rpc_cmd[@]}")\`"
  echo
  cat "$work/rpc.md"
  echo
  echo "## Swarm of $([[ $quick -eq 1 ]] && echo 200 || echo 1,000) nodes on 127.0.0.1"
  echo
  echo "Command: \`$(show "${swarm_cmd[@]}")\`"
  echo
  cat "$work/swarm.md"
  echo
  echo "## Value gets on $([[ $quick -eq 1 ]] && echo 200 || echo 1,000) nodes on 127.0.0.1"
  echo
  echo "Command: \`$(show "${gets_cmd[@]}")\`"
  echo
  cat "$work/gets.md"
  echo
  # "## Comparisons..." sections are one-off measurements (each with its commands and date), kept as they are; so are
  # "## Sessions" and "## Streams", which their own modes write.
  if [[ -f "$out" ]]; then awk '/^## /{keep = /^## (Comparisons|Sessions|Streams)/} keep' "$out"; fi
  # The Daemon and Simulation sections come from their own modes; keep what the last runs wrote.
  if grep -q '^## Daemon' "$out" 2>/dev/null; then sed -n '/^## Daemon/,$p' "$out"
  elif grep -q '^## Simulation' "$out" 2>/dev/null; then sed -n '/^## Simulation/,$p' "$out"
  else echo "## Simulation (scripts/bench.sh sim)"; echo; echo "Not run yet: \`scripts/bench.sh sim\`."; fi
} > "$out.new"
mv "$out.new" "$out"
echo "== wrote $out"
