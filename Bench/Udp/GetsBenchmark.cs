using System.Diagnostics;
using System.Globalization;
using System.Text;
using Overlay.Kademlia;
using Overlay.Testing;

namespace Overlay.Bench.Udp;

/// <summary>Settings of the value-get benchmark.</summary>
/// <param name="Nodes">Nodes in the swarm.</param>
/// <param name="Records">Immutable records put before the gets, from random nodes.</param>
/// <param name="Value">Bytes per record value, 1..1000.</param>
/// <param name="Sequential">Gets one at a time from the getting node (latency and requests per get).</param>
/// <param name="Concurrent">Gets with <paramref name="Window"/> in flight from the same node (gets per second).</param>
/// <param name="Window">Gets in flight in the concurrent phase.</param>
/// <param name="Seed">Seed of the swarm (IDs), the values, the publishers and the keys got.</param>
/// <param name="JoinTimeout">Bound on starting and joining the swarm.</param>
/// <param name="RunTimeout">Bound on the puts and each phase of gets.</param>
internal sealed record GetsSettings(int Nodes, int Records, int Value, int Sequential, int Concurrent, int Window, int Seed, TimeSpan JoinTimeout, TimeSpan RunTimeout);

/// <summary>
/// Value gets on a <see cref="UdpTestSwarm"/> on 127.0.0.1, OpenDHT's benchmark figures: immutable records are put
/// from random nodes, then one node gets random ones of them, first one at a time (time to the first value: an
/// immutable get ends at the first valid record, <see cref="KademliaNode.GetAsync"/>; requests per get), then with a
/// window of gets in flight (gets per second). A get whose record is on the getting node itself is answered from its
/// store with no request; those are counted apart and left out of the latency and request figures.
/// </summary>
internal static class GetsBenchmark
{
    /// <summary>Puts at once while the records are stored.</summary>
    private const int PutConcurrency = 16;

    /// <summary>Runs the benchmark and returns its markdown section.</summary>
    public static async Task<string> RunAsync(GetsSettings settings, TextWriter log)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Value, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(settings.Value, KademliaOptions.DefaultMaxValueBytes);
        using var joinBound = new CancellationTokenSource(settings.JoinTimeout);
        var joinWatch = Stopwatch.StartNew();
        await using var swarm = await UdpTestSwarm.StartAsync(settings.Nodes, settings.Seed, cancellationToken: joinBound.Token).ConfigureAwait(false);
        var nodes = swarm.Nodes;
        log.WriteLine($"gets: {settings.Nodes} nodes joined in {joinWatch.Elapsed.TotalSeconds:F1} s");

        var random = new Random(settings.Seed + 2);
        var records = new List<DhtRecord>(settings.Records);
        using (var putBound = new CancellationTokenSource(settings.RunTimeout))
        {
            var stored = 0;
            for (var start = 0; start < settings.Records; start += PutConcurrency)
            {
                var puts = new List<Task<PutResult>>();
                for (var i = start; i < Math.Min(settings.Records, start + PutConcurrency); i++)
                {
                    var value = new byte[settings.Value];
                    random.NextBytes(value);
                    var record = DhtRecord.CreateImmutable(value, DateTimeOffset.UtcNow.AddHours(1));
                    records.Add(record);
                    puts.Add(nodes[random.Next(nodes.Count)].PutAsync(record, putBound.Token));
                }

                stored += (await Task.WhenAll(puts).ConfigureAwait(false)).Count(p => p.StoredOn > 0);
            }

            log.WriteLine($"gets: {stored} of {settings.Records} records stored");
        }

        var getter = nodes[random.Next(nodes.Count)];
        var sentBefore = getter.GetStatistics().RequestsSent;
        var latencies = new List<double>(settings.Sequential);
        var requests = new List<double>(settings.Sequential);
        var local = 0;
        var missed = 0;
        using (var sequentialBound = new CancellationTokenSource(settings.RunTimeout))
        {
            for (var i = 0; i < settings.Sequential; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var got = await getter.GetAsync(records[random.Next(records.Count)].Key, sequentialBound.Token).ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (got.Record is null)
                {
                    missed++;
                }
                else if (got.Lookup.MessagesSent == 0)
                {
                    local++;
                }
                else
                {
                    latencies.Add(elapsed);
                    requests.Add(got.Lookup.MessagesSent);
                }
            }
        }

        latencies.Sort();
        requests.Sort();
        log.WriteLine($"gets: first value p50 {SwarmBenchmark.Percentile(latencies, 0.5):F2} ms, p99 {SwarmBenchmark.Percentile(latencies, 0.99):F2} ms, {requests.DefaultIfEmpty().Average():F1} requests per get");

        var (rate, concurrentMissed, seconds) = await RunConcurrentAsync(getter, records, settings, random).ConfigureAwait(false);
        var sentPerGet = (double)(getter.GetStatistics().RequestsSent - sentBefore) / Math.Max(1, settings.Sequential + settings.Concurrent);
        log.WriteLine($"gets: {rate:F0} gets/s with {settings.Window} in flight");

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"{settings.Nodes} `KademliaNode`s on 127.0.0.1 (`UdpTestSwarm.StartAsync({settings.Nodes}, {settings.Seed})`, loopback options, k = 20, alpha = 3); {settings.Records} immutable records of {settings.Value} bytes put from random nodes; one node then gets random ones of them: {settings.Sequential} one at a time, then {settings.Concurrent} with {settings.Window} in flight ({seconds:F1} s). An immutable get ends at the first valid value, so its duration is the time to the first value. Gets answered from the getter's own store (no request) are counted apart.");
        md.AppendLine();
        md.AppendLine("| metric | value |");
        md.AppendLine("|---|---:|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| time to the first value, p50 / p99 | **{SwarmBenchmark.Percentile(latencies, 0.5):F2} / {SwarmBenchmark.Percentile(latencies, 0.99):F2} ms** |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| requests per get (LookupResult.MessagesSent), mean / p99 | **{requests.DefaultIfEmpty().Average():F1}** / {SwarmBenchmark.Percentile(requests, 0.99):F0} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| gets per second from one node, {settings.Window} in flight | **{rate:F0}** |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| requests sent by the getter per get, both phases (verifications included) | {sentPerGet:F1} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| gets served from the getter's own store (one at a time) | {local} of {settings.Sequential} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| gets that found no value (one at a time / in flight) | {missed} / {concurrentMissed} |");
        return md.ToString();
    }

    /// <summary>Runs the concurrent phase: <see cref="GetsSettings.Concurrent"/> gets, at most <see cref="GetsSettings.Window"/> in flight; returns gets per second, misses and the seconds taken.</summary>
    private static async Task<(double Rate, int Missed, double Seconds)> RunConcurrentAsync(KademliaNode getter, List<DhtRecord> records, GetsSettings settings, Random random)
    {
        using var bound = new CancellationTokenSource(settings.RunTimeout);
        var keys = Enumerable.Range(0, settings.Concurrent).Select(_ => records[random.Next(records.Count)].Key).ToList();
        var next = -1;
        var missed = 0;
        var watch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, settings.Window).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < keys.Count)
            {
                var got = await getter.GetAsync(keys[i], bound.Token).ConfigureAwait(false);
                if (got.Record is null)
                {
                    Interlocked.Increment(ref missed);
                }
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = watch.Elapsed.TotalSeconds;
        return (settings.Concurrent / seconds, missed, seconds);
    }
}
