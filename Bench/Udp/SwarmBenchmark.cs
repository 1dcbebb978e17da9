using System.Diagnostics;
using System.Globalization;
using System.Text;
using Overlay.Kademlia;
using Overlay.Testing;

namespace Overlay.Bench.Udp;

/// <summary>Settings of the swarm benchmark.</summary>
/// <param name="Nodes">Nodes in the swarm.</param>
/// <param name="Lookups">FIND_NODE lookups, one at a time.</param>
/// <param name="Seed">Seed of the swarm (IDs) and of the lookup origins and targets.</param>
/// <param name="JoinTimeout">Bound on starting and joining the swarm.</param>
/// <param name="LookupTimeout">Bound on all lookups together.</param>
internal sealed record SwarmSettings(int Nodes, int Lookups, int Seed, TimeSpan JoinTimeout, TimeSpan LookupTimeout);

/// <summary>
/// A <see cref="UdpTestSwarm"/> of N nodes in this process on 127.0.0.1: lookups of random targets from random
/// nodes, each checked against the brute-force k closest; latency percentiles, messages per lookup, memory per node.
/// </summary>
internal static class SwarmBenchmark
{
    /// <summary>Runs the benchmark and returns its section of RESULTS.md.</summary>
    public static async Task<string> RunAsync(SwarmSettings settings, TextWriter log)
    {
        var rssBefore = ResidentBytes();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var joinWatch = Stopwatch.StartNew();
        using var joinBound = new CancellationTokenSource(settings.JoinTimeout);
        await using var swarm = await UdpTestSwarm.StartAsync(settings.Nodes, settings.Seed, cancellationToken: joinBound.Token).ConfigureAwait(false);
        var joinSeconds = joinWatch.Elapsed.TotalSeconds;
        var nodes = swarm.Nodes;
        var tableSizes = nodes.Select(n => n.GetStatistics().RoutingTableSize).Order().ToList();
        log.WriteLine($"swarm: {settings.Nodes} nodes joined in {joinSeconds:F1} s; routing table median {tableSizes[tableSizes.Count / 2]} contacts");

        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var rssAfter = ResidentBytes();
        var sentBefore = nodes.Sum(n => n.GetStatistics().RequestsSent);

        var random = new Random(settings.Seed + 1);
        var latencies = new List<double>(settings.Lookups);
        var messages = new List<int>(settings.Lookups);
        var rounds = new List<int>(settings.Lookups);
        var successes = 0;
        var failures = 0;
        using var lookupBound = new CancellationTokenSource(settings.LookupTimeout);
        var lookupWatch = Stopwatch.StartNew();
        for (var i = 0; i < settings.Lookups && !lookupBound.IsCancellationRequested; i++)
        {
            var origin = nodes[random.Next(nodes.Count)];
            var target = NodeId.Random(random);
            var started = Stopwatch.GetTimestamp();
            LookupResult result;
            try
            {
                result = await origin.FindNodeAsync(target, lookupBound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                log.WriteLine($"swarm: lookups stopped by the {settings.LookupTimeout.TotalSeconds:F0} s bound after {i}");
                break;
            }

            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            messages.Add(result.MessagesSent);
            rounds.Add(result.Rounds);
            failures += result.Failures;
            if (result.Closest.Select(c => c.Id).SequenceEqual(swarm.TrueClosest(target, 20)))
            {
                successes++;
            }
        }

        var lookupSeconds = lookupWatch.Elapsed.TotalSeconds;
        var done = latencies.Count;
        var sentAfter = nodes.Sum(n => n.GetStatistics().RequestsSent);
        latencies.Sort();
        var gcInfo = GC.GetGCMemoryInfo();
        log.WriteLine($"swarm: {successes}/{done} exact, p50 {Percentile(latencies, 0.5):F2} ms, p99 {Percentile(latencies, 0.99):F2} ms, {messages.DefaultIfEmpty().Average():F1} messages/lookup");

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"{settings.Nodes} `KademliaNode`s (`UdpTestSwarm.StartAsync({settings.Nodes}, {settings.Seed})`, loopback options: RPC timeout 500 ms initial, 100 ms min; k = 20, alpha = 3), each on its own UDP socket and receive thread, joined in {joinSeconds:F1} s (16 bootstraps at once through node 0). Routing table size: median {tableSizes[tableSizes.Count / 2]}, min {tableSizes[0]}, max {tableSizes[^1]} contacts. ");
        md.AppendLine(CultureInfo.InvariantCulture, $"{done} FIND_NODE lookups one after another (seed {settings.Seed + 1}: random origin node, random target), {lookupSeconds:F1} s in all; exact = the 20 IDs returned equal, in order, the brute-force 20 closest of all {settings.Nodes} nodes (`UdpTestSwarm.TrueClosest`).");
        md.AppendLine();
        md.AppendLine("| metric | value |");
        md.AppendLine("|---|---:|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| exact results | **{successes} / {done}** ({(double)successes / Math.Max(done, 1):P1}) |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| lookup latency p50 | **{Percentile(latencies, 0.5):F2} ms** |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| lookup latency p99 | **{Percentile(latencies, 0.99):F2} ms** |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| lookup latency max | {(done > 0 ? latencies[^1] : double.NaN):F2} ms |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| messages per lookup (LookupResult.MessagesSent), mean | **{messages.DefaultIfEmpty().Average():F1}** (p99 {Percentile(messages.Select(m => (double)m).Order().ToList(), 0.99):F0}) |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| rounds (hops) per lookup, mean | {rounds.DefaultIfEmpty().Average():F2} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| timed-out queries, all lookups | {failures} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| requests sent by all nodes during the lookups, per lookup | {(double)(sentAfter - sentBefore) / Math.Max(done, 1):F1} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| process RSS after join ÷ {settings.Nodes} | **{rssAfter / (double)settings.Nodes / 1024:F0} KiB** per node |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| (RSS after join − RSS before the swarm) ÷ {settings.Nodes} | {(rssAfter - rssBefore) / (double)settings.Nodes / 1024:F0} KiB per node (RSS {rssBefore / 1048576.0:F0} → {rssAfter / 1048576.0:F0} MiB) |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| GC heap after join (after a full collection) ÷ {settings.Nodes} | **{(heapAfter - heapBefore) / (double)settings.Nodes / 1024:F1} KiB** per node (live heap {heapAfter / 1048576.0:F1} MiB; GC heap size at end {gcInfo.HeapSizeBytes / 1048576.0:F1} MiB) |");
        return md.ToString();
    }

    /// <summary>Returns the nearest-rank percentile of an ascending list (NaN when empty).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>Reads VmRSS from /proc/self/status, in bytes (falls back to the working set).</summary>
    public static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }

        return Environment.WorkingSet;
    }
}
