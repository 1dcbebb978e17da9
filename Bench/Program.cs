using System.Globalization;
using BenchmarkDotNet.Running;
using Overlay.Bench.Micro;
using Overlay.Bench.Sim;
using Overlay.Bench.Streams;
using Overlay.Bench.Udp;

namespace Overlay.Bench;

/// <summary>
/// Entry point of the benchmark executable (driven by scripts/bench.sh):
/// <list type="bullet">
/// <item><c>micro [--quick] [--artifacts DIR] [BenchmarkDotNet args]</c>: the BenchmarkDotNet micro suite.</item>
/// <item><c>udp rpc --echo PATH --out FILE [--windows 64,256] [--reps 3] [--warmup 1] [--seconds 5] [--seed 7]</c>: RPC throughput against the echo baseline.</item>
/// <item><c>udp swarm --out FILE [--nodes 1000] [--lookups 1000] [--seed 7] [--join-timeout 600] [--lookup-timeout 300]</c>: the loopback swarm.</item>
/// <item><c>udp gets --out FILE [--nodes 200] [--records 1000] [--value 100] [--gets 1000] [--concurrent-gets 10000] [--window 64] [--seed 7] [--join-timeout 600] [--run-timeout 300]</c>: value gets on the loopback swarm (time to the first value, requests per get, gets/s from one node).</item>
/// <item><c>session figures --out FILE [--reps 5]</c>: handshakes/s next to X25519/s, and a session's round trip next to raw UDP.</item>
/// <item><c>stream throughput --out FILE [--mib 1024] [--reps 3] [--paths WORD,...]</c>: one stream's throughput on loopback: raw TCP and TLS 1.3 baselines; <c>--paths</c> keeps the rows whose name holds one of the words.</item>
/// <item><c>streams --out FILE [--mib 256] [--reps 3] [--seed 7]</c>: stream-core throughput, lossless and at 1 % loss.</item>
/// <item><c>sim lookups --out FILE --svg FILE [--nodes 1000,10000,50000] [--lookups 1000] [--seed 7]</c>: simulated lookups against N.</item>
/// <item><c>sim loss --out FILE [--nodes 2000] [--loss 0.01,0.05,0.10] [--lookups 500] [--seed 7]</c>: simulated lookups under loss, without and with churn.</item>
/// <item><c>sim churn --out FILE [--nodes 1000] [--hours 48] [--loss 0.05] [--session-hours 1] [--records 200] [--providers 20] [--lookups-per-hour 25] [--republish-hours 22,0.5] [--seed 7]</c>: durability and routing health.</item>
/// </list>
/// Exit codes: 0 success, 1 a benchmark failed, 2 usage error.
/// </summary>
internal static class Program
{
    private const string Usage = "usage: Overlay.Bench micro [--quick] [--artifacts DIR] [bdn args] | udp rpc --echo PATH --out FILE [options] | udp swarm --out FILE [options] | udp gets --out FILE [options] | session figures --out FILE [--reps R] | stream throughput --out FILE [--mib M] [--reps R] [--paths WORD,...] | streams --out FILE [options] | sim lookups|loss|churn --out FILE [options]";

    private static async Task<int> Main(string[] args)
    {
        try
        {
            return args switch
            {
                ["micro", .. var rest] => RunMicro(rest),
                ["udp", "rpc", .. var rest] => await RunRpcAsync(Options.Parse(rest)).ConfigureAwait(false),
                ["udp", "swarm", .. var rest] => await RunSwarmAsync(Options.Parse(rest)).ConfigureAwait(false),
                ["udp", "gets", .. var rest] => await RunGetsAsync(Options.Parse(rest)).ConfigureAwait(false),
                ["session", "figures", .. var rest] => await WriteAsync(Options.Parse(rest), o => Session.SessionBenchmarks.RunAsync(o.Int("reps", 5), Console.Out).GetAwaiter().GetResult()).ConfigureAwait(false),
                ["stream", "throughput", .. var rest] => await RunStreamThroughputAsync(Options.Parse(rest)).ConfigureAwait(false),
                ["streams", .. var rest] => await WriteAsync(Options.Parse(rest), o => StreamsBenchmark.Run(new StreamsSettings(o.Int("mib", 256), o.Int("reps", 3), o.Int("seed", 7)), Console.Out)).ConfigureAwait(false),
                ["sim", "lookups", .. var rest] => await WriteAsync(Options.Parse(rest), o => SimulationRunner.Lookups(Ints(o.Get("nodes", "1000,10000,50000")), o.Int("lookups", 1000), o.Int("seed", 7), Console.Out, o.Required("svg"))).ConfigureAwait(false),
                ["sim", "loss", .. var rest] => await WriteAsync(Options.Parse(rest), o => SimulationRunner.Loss(o.Int("nodes", 2000), Doubles(o.Get("loss", "0.01,0.05,0.10")), o.Int("lookups", 500), o.Int("seed", 7), Console.Out)).ConfigureAwait(false),
                ["sim", "churn", .. var rest] => await WriteAsync(Options.Parse(rest), o => SimulationRunner.Churn(o.Int("nodes", 1000), o.Double("hours", 48), o.Double("loss", 0.05), TimeSpan.FromHours(o.Double("session-hours", 1)), o.Int("records", 200), o.Int("providers", 20), o.Int("lookups-per-hour", 25), Doubles(o.Get("republish-hours", "22,0.5")).Select(TimeSpan.FromHours).ToList(), o.Int("seed", 7), Console.Out)).ConfigureAwait(false),
                _ => Fail(2, Usage),
            };
        }
        catch (FormatException ex)
        {
            return Fail(2, ex.Message);
        }
    }

    private static async Task<int> WriteAsync(Options options, Func<Options, string> experiment)
    {
        var markdown = experiment(options);
        await File.WriteAllTextAsync(options.Required("out"), markdown).ConfigureAwait(false);
        Console.Out.Write(markdown);
        return 0;
    }

    private static List<int> Ints(string list) => list.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();

    private static List<double> Doubles(string list) => list.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToList();

    private static int RunMicro(string[] args)
    {
        var quick = args.Contains("--quick");
        var artifacts = "BenchmarkDotNet.Artifacts";
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--quick")
            {
                continue;
            }

            if (args[i] == "--artifacts" && i + 1 < args.Length)
            {
                artifacts = args[++i];
                continue;
            }

            rest.Add(args[i]);
        }

        if (!rest.Contains("--filter"))
        {
            rest.AddRange(["--filter", "*"]);
        }

        var summaries = BenchmarkSwitcher.FromTypes([typeof(NodeIdBenchmarks), typeof(RoutingTableBenchmarks), typeof(EnvelopeBenchmarks), typeof(HashBenchmarks)])
            .Run([.. rest], MicroConfig.Create(quick, artifacts));
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    private static async Task<int> RunRpcAsync(Options options)
    {
        var settings = new RpcSettings(
            options.Required("echo"),
            options.Get("windows", "64,256").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToList(),
            options.Int("reps", 3),
            TimeSpan.FromSeconds(options.Double("warmup", 1)),
            TimeSpan.FromSeconds(options.Double("seconds", 5)),
            options.Int("seed", 7));
        var markdown = await RpcBenchmark.RunAsync(settings, Console.Out).ConfigureAwait(false);
        await File.WriteAllTextAsync(options.Required("out"), markdown).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> RunSwarmAsync(Options options)
    {
        var settings = new SwarmSettings(
            options.Int("nodes", 1000),
            options.Int("lookups", 1000),
            options.Int("seed", 7),
            TimeSpan.FromSeconds(options.Double("join-timeout", 600)),
            TimeSpan.FromSeconds(options.Double("lookup-timeout", 300)));
        var markdown = await SwarmBenchmark.RunAsync(settings, Console.Out).ConfigureAwait(false);
        await File.WriteAllTextAsync(options.Required("out"), markdown).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> RunGetsAsync(Options options)
    {
        var settings = new GetsSettings(
            options.Int("nodes", 200),
            options.Int("records", 1000),
            options.Int("value", 100),
            options.Int("gets", 1000),
            options.Int("concurrent-gets", 10_000),
            options.Int("window", 64),
            options.Int("seed", 7),
            TimeSpan.FromSeconds(options.Double("join-timeout", 600)),
            TimeSpan.FromSeconds(options.Double("run-timeout", 300)));
        var markdown = await GetsBenchmark.RunAsync(settings, Console.Out).ConfigureAwait(false);
        await File.WriteAllTextAsync(options.Required("out"), markdown).ConfigureAwait(false);
        Console.Out.Write(markdown);
        return 0;
    }

    private static async Task<int> RunStreamThroughputAsync(Options options)
    {
        Stream.StreamPath[] all = [Stream.StreamThroughput.RawTcp, Stream.StreamThroughput.Tls13, Stream.StreamThroughput.TcpSession, Stream.StreamThroughput.TcpSessionChaChaPoly, Stream.StreamThroughput.UdpSession, Stream.StreamThroughput.UdpSessionLossy];
        // --paths "UDP,TLS" keeps the rows whose name contains one of the words (case-insensitive); the TLS row is the ratio's reference.
        var words = options.Get("paths", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var paths = words.Length == 0 ? all : all.Where(p => words.Any(w => p.Name.Contains(w, StringComparison.OrdinalIgnoreCase))).ToArray();
        var markdown = await Stream.StreamThroughput.RunAsync(paths, options.Int("mib", 1024), options.Int("reps", 3), Console.Out).ConfigureAwait(false);
        await File.WriteAllTextAsync(options.Required("out"), markdown).ConfigureAwait(false);
        Console.Out.Write(markdown);
        return 0;
    }

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }

    /// <summary>"--name value" pairs.</summary>
    private sealed class Options
    {
        private readonly Dictionary<string, string> _values = [];

        public static Options Parse(string[] args)
        {
            var options = new Options();
            for (var i = 0; i < args.Length; i += 2)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new FormatException($"expected --name value, got '{args[i]}'. {Usage}");
                }

                options._values[args[i][2..]] = args[i + 1];
            }

            return options;
        }

        public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

        public string Required(string name) => _values.TryGetValue(name, out var v) ? v : throw new FormatException($"--{name} is required. {Usage}");

        public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        public double Double(string name, double fallback) => _values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
    }
}
