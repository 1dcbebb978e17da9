using System.Diagnostics;
using System.Globalization;
using System.Text;
using Overlay.Bench.Udp;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Bench.Streams;

/// <summary>Settings of the stream-core benchmark.</summary>
/// <param name="MebiBytes">Bytes per transfer, MiB.</param>
/// <param name="Repetitions">Measured transfers per case; the median is reported.</param>
/// <param name="Seed">Seed of the path model (loss) and the data.</param>
internal sealed record StreamsSettings(int MebiBytes, int Repetitions, int Seed);

/// <summary>
/// Throughput of the stream core (<see cref="StreamMux"/>) without encryption: one stream carries the data client to
/// server through two cores on the in-memory path model (<see cref="BulkTransfer"/> without hashing), synchronously in
/// virtual time on one thread, so the CPU time is the cores' and the path model's. Cases run interleaved (lossless,
/// 1 % loss, reliable path, lossless, ...) so that noise from other tenants hits them alike.
/// </summary>
internal static class StreamsBenchmark
{
    private static readonly LossyLinkOptions Path = new() { Delay = TimeSpan.FromMilliseconds(10) };

    /// <summary>Runs the benchmark and returns its section of RESULTS.md.</summary>
    public static string Run(StreamsSettings settings, TextWriter log)
    {
        var cases = new (string Name, StreamMuxOptions Options, double Loss)[]
        {
            ("datagrams, lossless", new StreamMuxOptions(), 0),
            ("datagrams, 1 % loss", new StreamMuxOptions(), 0.01),
            ("reliable path (16 KiB records), lossless", StreamMuxOptions.ForReliablePath(), 0),
        };
        var bytes = (long)settings.MebiBytes << 20;
        foreach (var c in cases)
        {
            Transfer(c.Options, c.Loss, 16L << 20, settings.Seed); // JIT tiers up before anything is measured
        }

        var runs = cases.Select(_ => new List<Measurement>()).ToList();
        for (var rep = 0; rep < settings.Repetitions; rep++)
        {
            for (var i = 0; i < cases.Length; i++)
            {
                var m = Transfer(cases[i].Options, cases[i].Loss, bytes, settings.Seed);
                runs[i].Add(m);
                log.WriteLine($"streams: {cases[i].Name}, run {rep + 1}: {m.WallMBps:F0} MB/s wall, {m.ThreadMBps:F0} MB/s of thread CPU, {m.ProcessSecondsPerGiB:F2} s CPU/GiB");
            }
        }

        var lossless = Median(runs[0], m => m.ThreadMBps);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{settings.MebiBytes} MiB over one stream per transfer, client to server, path: 10 ms each way, no rate limit, loss on the data direction only; medians of {settings.Repetitions} interleaved transfers after a 16 MiB warm-up of each case. CPU/GiB is the process's CPU time (GC and JIT threads included) per GiB delivered; MB/s of thread CPU is bytes over the transferring thread's CPU time (both cores, the path model, no hashing, no encryption). Virtual goodput is bytes over simulated time: the window-limited rate lossless (1 MiB stream window per 20 ms RTT, updated every half window), and NewReno's loss-limited rate at 1 % (Mathis et al.: 1.22 · 1203 B / (20 ms · √0.01) ≈ 0.73 MB/s).");
        text.AppendLine();
        text.AppendLine("| case | wall MB/s | MB/s of thread CPU | vs lossless | CPU s/GiB (process) | virtual goodput MB/s | packets sent / lost / retransmitted |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        for (var i = 0; i < cases.Length; i++)
        {
            var r = runs[i];
            var last = r[^1];
            var thread = Median(r, m => m.ThreadMBps);
            text.AppendLine(CultureInfo.InvariantCulture, $"| {cases[i].Name} | {Median(r, m => m.WallMBps):F0} | {thread:F0} | {thread / lossless * 100:F0} % | {Median(r, m => m.ProcessSecondsPerGiB):F2} | {last.VirtualMBps:F2} | {last.Sent:N0} / {last.Lost:N0} / {last.Retransmitted:N0} |");
        }

        return text.ToString();
    }

    private static Measurement Transfer(StreamMuxOptions options, double loss, long bytes, int seed)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var process = Process.GetCurrentProcess();
        var processBefore = process.TotalProcessorTime;
        var threadBefore = ThreadCpu.CurrentThreadNanoseconds();
        var wall = Stopwatch.StartNew();
        var result = BulkTransfer.Run(bytes, Path with { LossRate = loss, Seed = seed }, Path with { Seed = seed + 1 }, options, seed, TimeSpan.FromHours(24), verify: false);
        var wallSeconds = wall.Elapsed.TotalSeconds;
        var threadSeconds = (ThreadCpu.CurrentThreadNanoseconds() - threadBefore) / 1e9;
        process.Refresh();
        var processSeconds = (process.TotalProcessorTime - processBefore).TotalSeconds;
        if (!result.Completed)
        {
            throw new InvalidOperationException($"the transfer stopped at {result.BytesReceived} of {bytes} bytes");
        }

        var gib = bytes / (double)(1L << 30);
        return new Measurement(
            bytes / 1e6 / wallSeconds,
            bytes / 1e6 / threadSeconds,
            processSeconds / gib,
            result.VirtualBytesPerSecond / 1e6,
            result.Sender.PacketsSent,
            result.Sender.PacketsLost,
            result.Sender.PacketsRetransmitted);
    }

    private static double Median(List<Measurement> runs, Func<Measurement, double> value)
    {
        var sorted = runs.Select(value).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private sealed record Measurement(double WallMBps, double ThreadMBps, double ProcessSecondsPerGiB, double VirtualMBps, long Sent, long Lost, long Retransmitted);
}
