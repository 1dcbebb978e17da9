using System.Globalization;
using System.Text;
using Overlay.Kademlia;
using Overlay.Testing;

namespace Overlay.Bench.Udp;

/// <summary>Settings of the RPC throughput benchmark.</summary>
/// <param name="EchoPath">The compiled Bench/native/echo.c.</param>
/// <param name="Windows">Requests in flight, one set of runs per value.</param>
/// <param name="Repetitions">Runs per (target, request, window); the median is reported.</param>
/// <param name="Warmup">Unmeasured lead-in of each run.</param>
/// <param name="Duration">Measured interval of each run.</param>
/// <param name="Seed">Seed of the swarm and of the generator's sender id and targets.</param>
internal sealed record RpcSettings(string EchoPath, IReadOnlyList<int> Windows, int Repetitions, TimeSpan Warmup, TimeSpan Duration, int Seed);

/// <summary>
/// RPC throughput of one <see cref="KademliaNode"/> on real UDP against the native echo baseline in the same run:
/// node 0 of a 41-node <see cref="UdpTestSwarm"/> (the other 40 bootstrapped through it, so its table holds 40
/// contacts and FIND_NODE answers carry 20), loaded by <see cref="LoadGenerator"/> with PING and FIND_NODE; the echo
/// server is loaded with the same datagrams. Runs are interleaved (node, echo, node, echo, ...) so that noise from
/// other tenants of the machine hits both alike. The node's request rate limits are off
/// (<see cref="KademliaOptions.MaxRequestsPerSecondPerIp"/> and <see cref="KademliaOptions.MaxRequestsPerSecond"/> = 0):
/// the generator is one source sending hundreds of thousands of requests a second, and the benchmark measures the
/// answer path, not the limiter's refusals.
/// </summary>
internal static class RpcBenchmark
{
    /// <summary>Runs the benchmark and returns its section of RESULTS.md.</summary>
    public static async Task<string> RunAsync(RpcSettings settings, TextWriter log)
    {
        var runSeconds = (settings.Warmup + settings.Duration).TotalSeconds + 0.5;
        var total = settings.Windows.Count * 2 * 2 * settings.Repetitions * runSeconds;
        log.WriteLine($"rpc: {settings.Windows.Count} windows x 2 requests x 2 targets x {settings.Repetitions} runs of {runSeconds:F1} s = {total:F0} s");

        using var joinBound = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var options = UdpTestSwarm.LoopbackOptions();
        options.MaxRequestsPerSecondPerIp = 0;
        options.MaxRequestsPerSecond = 0;
        await using var swarm = await UdpTestSwarm.StartAsync(41, settings.Seed, options, cancellationToken: joinBound.Token).ConfigureAwait(false);
        var node = swarm.Nodes[0];
        var tableSize = node.GetStatistics().RoutingTableSize;
        if (tableSize < 20)
        {
            throw new InvalidOperationException($"The node's routing table holds {tableSize} contacts; FIND_NODE answers need 20.");
        }

        using var echo = await EchoServer.StartAsync(settings.EchoPath, TimeSpan.FromSeconds(total + 120)).ConfigureAwait(false);
        using var generator = new LoadGenerator(settings.Seed);
        var first = generator.Probe(node.LocalContact.EndPoint)
            ?? throw new InvalidOperationException("The node did not answer a probe FIND_NODE within 1 s.");

        // Requests echo the node's address token, as a node's do once it has one: the answers are then full (3x rule).
        generator.EchoAddressToken(first.AddressToken);
        var probe = generator.Probe(node.LocalContact.EndPoint)
            ?? throw new InvalidOperationException("The node did not answer a probe FIND_NODE echoing its address token within 1 s.");
        var contacts = probe.Nodes.Closer.Count;
        if (contacts != 20)
        {
            throw new InvalidOperationException($"A FIND_NODE answer carried {contacts} contacts, not 20.");
        }

        var before = node.GetStatistics();
        var results = new Dictionary<(string Target, RequestKind Kind, int Window), List<LoadResult>>();
        for (var rep = 0; rep < settings.Repetitions; rep++)
        {
            foreach (var window in settings.Windows)
            {
                foreach (var kind in new[] { RequestKind.FindNode, RequestKind.Ping })
                {
                    foreach (var (name, endPoint, isEcho) in new[] { ("node", node.LocalContact.EndPoint, false), ("echo", echo.EndPoint, true) })
                    {
                        var transport = swarm.TransportOf(0);
                        var (receivedBefore, callsBefore) = (node.GetStatistics().DatagramsReceived, transport.ReceiveCalls);
                        var selfBefore = ThreadCpu.Snapshot();
                        var echoBefore = ThreadCpu.Snapshot(echo.ProcessId);
                        var wall = System.Diagnostics.Stopwatch.StartNew();
                        var result = generator.Run(endPoint, kind, window, isEcho, settings.Warmup, settings.Duration);
                        var wallNs = wall.Elapsed.TotalNanoseconds;
                        var generatorTid = generator.ThreadId;
                        var self = ThreadCpu.Delta(selfBefore, ThreadCpu.Snapshot());
                        var server = isEcho ? ThreadCpu.Delta(echoBefore, ThreadCpu.Snapshot(echo.ProcessId))[0].Nanoseconds : self.First(d => d.Tid != generatorTid).Nanoseconds;
                        var generatorNs = self.FirstOrDefault(d => d.Tid == generatorTid).Nanoseconds;
                        var calls = transport.ReceiveCalls - callsBefore;
                        var batch = isEcho || calls == 0 ? 0 : (double)(node.GetStatistics().DatagramsReceived - receivedBefore) / calls;
                        result = result with { ServerCpu = server / wallNs, GeneratorCpu = generatorNs / wallNs, ReceiveBatch = batch };
                        log.WriteLine($"rpc: rep {rep + 1} {name,-4} {Name(kind),-9} window {window,3}: {result.Rate,9:F0} answers/s (lost {result.Lost}, late {result.Late}, pings answered {result.PingsAnswered}, {result.RequestBytes} B -> {result.AnswerBytes} B; server thread CPU {result.ServerCpu:P0} = {result.ServerCpu * 1e6 / result.Rate:F1} us/answer, generator CPU {result.GeneratorCpu:P0}{(isEcho ? "" : $", {batch:F1} datagrams per receive call")})");
                        if (!results.TryGetValue((name, kind, window), out var list))
                        {
                            results[(name, kind, window)] = list = [];
                        }

                        list.Add(result);
                    }
                }
            }
        }

        var after = node.GetStatistics();
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Node: node 0 of a 41-node `UdpTestSwarm` (seed {settings.Seed}), routing table {tableSize} contacts, FIND_NODE answer {contacts} contacts = {probe.CalculateSize()} bytes. ");
        md.AppendLine(CultureInfo.InvariantCulture, $"Each run: {settings.Warmup.TotalSeconds:0.#} s warm-up + {settings.Duration.TotalSeconds:0.#} s measured, closed loop on one generator socket and thread; {settings.Repetitions} runs per row, node and echo interleaved; the table gives the median run (min–max in brackets). ");
        md.AppendLine("The generator answers the node's verification PINGs (a real peer would; the node sends them only while the generator's bucket has room, so in these runs it may send none); lost = requests unanswered after 250 ms (re-sent). ");
        md.AppendLine("Server thread CPU: share of wall time the node's receive thread (or the echo process) spent on a CPU during the run, from /proc/*/task/*/schedstat, and that CPU time divided by answers (warm-up included, so slightly high); near 100 % means the server is the bottleneck, and the generator column shows how busy the load generator was. The generator takes answers with `recvmmsg` and sends requests with `sendmmsg`, like the node's transport on Linux; node batch = datagrams the node took per `recvmmsg` (median run). ");
        md.AppendLine(CultureInfo.InvariantCulture, $"Node counters over all runs: {after.RequestsServed - before.RequestsServed:N0} requests served, {after.DatagramsDropped - before.DatagramsDropped:N0} datagrams dropped, {after.RequestsSent - before.RequestsSent:N0} requests sent (verification PINGs).");
        md.AppendLine();
        md.AppendLine("| request | window | node answers/s | echo answers/s | node ÷ echo | node lost | request → answer bytes (node / echo) | server thread CPU, µs/answer (node / echo) | generator thread CPU (node / echo runs) | node batch |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---|---|---:|");
        foreach (var kind in new[] { RequestKind.FindNode, RequestKind.Ping })
        {
            foreach (var window in settings.Windows)
            {
                var n = results[("node", kind, window)];
                var e = results[("echo", kind, window)];
                var nodeRate = Median(n.Select(r => r.Rate));
                var echoRate = Median(e.Select(r => r.Rate));
                md.AppendLine(CultureInfo.InvariantCulture, $"| {Name(kind)} | {window} | {nodeRate:N0} ({n.Min(r => r.Rate):N0}–{n.Max(r => r.Rate):N0}) | {echoRate:N0} ({e.Min(r => r.Rate):N0}–{e.Max(r => r.Rate):N0}) | **{nodeRate / echoRate:P0}** | {n.Sum(r => r.Lost):N0} | {n[0].RequestBytes} → {n[^1].AnswerBytes} / {e[0].RequestBytes} → {e[^1].AnswerBytes} | {Median(n.Select(r => r.ServerCpu)):P0}, {Median(n.Select(r => r.ServerCpu * 1e6 / r.Rate)):F1} / {Median(e.Select(r => r.ServerCpu)):P0}, {Median(e.Select(r => r.ServerCpu * 1e6 / r.Rate)):F1} | {Median(n.Select(r => r.GeneratorCpu)):P0} / {Median(e.Select(r => r.GeneratorCpu)):P0} | {Median(n.Select(r => r.ReceiveBatch)):F1} |");
            }
        }

        md.AppendLine();
        var findNodeRatios = settings.Windows.Select(w => Median(results[("node", RequestKind.FindNode, w)].Select(r => r.Rate)) / Median(results[("echo", RequestKind.FindNode, w)].Select(r => r.Rate))).ToList();
        var holds = findNodeRatios.All(r => r >= 0.5);
        md.AppendLine(CultureInfo.InvariantCulture, $"Target: node FIND_NODE (20 contacts) rate ≥ 50 % of the echo rate in the same run — **{(holds ? "met" : "not met")}** ({string.Join(", ", settings.Windows.Zip(findNodeRatios, (w, r) => $"window {w}: {r:P0}"))}).");
        return md.ToString();
    }

    /// <summary>Returns the median (mean of the two middle values for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Name(RequestKind kind) => kind == RequestKind.Ping ? "PING" : "FIND_NODE";
}
