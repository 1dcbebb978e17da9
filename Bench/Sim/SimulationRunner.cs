using System.Globalization;
using System.Text;
using Overlay.Testing.Simulation;

namespace Overlay.Bench.Sim;

/// <summary>
/// Runs the simulation experiments of tests/Overlay.Testing (the real KademliaNode on the in-memory network in virtual
/// time) and renders their figures as Markdown tables and one SVG plot. Every figure but wall time repeats from its seed.
/// </summary>
internal static class SimulationRunner
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Lookups against swarm size: rounds, messages, success, latency; writes the table and the plot.</summary>
    /// <param name="sizes">Swarm sizes.</param>
    /// <param name="lookups">Lookups per size.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="log">Progress lines.</param>
    /// <param name="svgPath">Where to write the plot of rounds and latency against N.</param>
    /// <returns>The Markdown table.</returns>
    public static string Lookups(IReadOnlyList<int> sizes, int lookups, int seed, TextWriter log, string svgPath)
    {
        var results = new List<LookupExperimentResult>();
        foreach (var n in sizes)
        {
            log.WriteLine($"sim lookups: N = {n} ...");
            var result = SimulationExperiments.Lookups(n, lookups, seed);
            log.WriteLine($"  {result}");
            results.Add(result);
        }

        File.WriteAllText(svgPath, Plot(results));
        return LookupTable(results);
    }

    /// <summary>Lookups under datagram loss at one swarm size.</summary>
    /// <param name="nodes">Swarm size.</param>
    /// <param name="losses">Loss rates, 0..1.</param>
    /// <param name="lookups">Lookups per rate.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="log">Progress lines.</param>
    /// <returns>The Markdown table.</returns>
    public static string Loss(int nodes, IReadOnlyList<double> losses, int lookups, int seed, TextWriter log)
    {
        var results = new List<LookupExperimentResult>();
        foreach (var loss in losses)
        {
            log.WriteLine($"sim loss: {loss:P0} ...");
            var churn = SessionModel.Exponential(TimeSpan.FromHours(1));
            results.Add(SimulationExperiments.Lookups(nodes, lookups, seed, loss));
            results.Add(SimulationExperiments.Lookups(nodes, lookups, seed, loss, churn));
            log.WriteLine($"  {results[^2]}\n  {results[^1]}");
        }

        return LookupTable(results);
    }

    /// <summary>Durability of records and provider records, lookup success and routing health under churn and loss.</summary>
    /// <param name="nodes">Swarm size.</param>
    /// <param name="hours">Virtual hours.</param>
    /// <param name="loss">Loss rate.</param>
    /// <param name="medianSession">Median session length.</param>
    /// <param name="records">Records stored at the start.</param>
    /// <param name="providers">Provider keys announced by stable providers.</param>
    /// <param name="lookupsPerHour">Lookups each hour.</param>
    /// <param name="republish">Republish intervals to compare (provider records last only through re-announcement).</param>
    /// <param name="seed">Seed.</param>
    /// <param name="log">Progress lines.</param>
    /// <returns>The Markdown table.</returns>
    public static string Churn(int nodes, double hours, double loss, TimeSpan medianSession, int records, int providers, int lookupsPerHour, IReadOnlyList<TimeSpan> republish, int seed, TextWriter log)
    {
        var table = new StringBuilder();
        table.AppendLine("| N | virtual time | loss | sessions | republish | records retrievable | provider keys found | lookups finding the closest | buckets with a live contact | live contacts | joins / departures | datagrams | wall |");
        table.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var interval in republish)
        {
            log.WriteLine($"sim churn: republish every {interval} ...");
            var r = SimulationExperiments.Durability(nodes, TimeSpan.FromHours(hours), loss, SessionModel.Exponential(medianSession), records, providers, lookupsPerHour, seed, interval);
            log.WriteLine($"  {r}");
            table.AppendLine(string.Create(Invariant, $"| {r.Nodes:N0} | {r.Duration.TotalHours:0} h | {r.LossRate:P0} | {r.Churn} | {interval.TotalHours:0.##} h | {r.RecordsRetrievable} / {r.Records} ({Pct(r.RecordsRetrievable, r.Records)}) | {r.ProvidersFound} / {r.ProviderKeys} ({Pct(r.ProvidersFound, r.ProviderKeys)}) | {r.LookupsSucceeded} / {r.Lookups} ({Pct(r.LookupsSucceeded, r.Lookups)}) | {r.BucketHealth:P1} | {r.LiveContacts:P1} | {r.Joins:N0} / {r.Departures:N0} | {r.Datagrams:N0} | {r.Wall.TotalSeconds:0} s |"));
        }

        return table.ToString();
    }

    private static string LookupTable(List<LookupExperimentResult> results)
    {
        var table = new StringBuilder();
        table.AppendLine($"| N | loss | churn | lookups | found the closest | exact k closest | rounds p50 / p99 | messages mean / p99 | latency p50 / p99 (virtual) | datagrams | wall: join + settle / lookups |");
        table.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            table.AppendLine(string.Create(Invariant, $"| {r.Nodes:N0} | {r.LossRate:P0} | {r.Churn} | {r.Lookups} | {r.FoundClosest} ({Pct(r.FoundClosest, r.Lookups)}) | {r.ExactK} ({Pct(r.ExactK, r.Lookups)}) | {r.RoundsP50} / {r.RoundsP99} | {r.MessagesMean:0.0} / {r.MessagesP99} | {r.LatencyP50Ms:0} / {r.LatencyP99Ms:0} ms | {r.Datagrams:N0} | {r.JoinWall.TotalSeconds:0} s / {r.LookupWall.TotalSeconds:0.0} s |"));
        }

        return table.ToString();
    }

    private static string Pct(int part, int whole) => whole == 0 ? "-" : (part / (double)whole).ToString("P1", Invariant);

    /// <summary>A two-panel SVG: rounds (p50, p99) and virtual lookup latency (p50, p99) against N, log-scaled N axis.</summary>
    private static string Plot(List<LookupExperimentResult> results)
    {
        const int width = 720, height = 300, left = 60, top = 30, panel = 300, plotHeight = 200;
        var svg = new StringBuilder();
        svg.AppendLine(string.Create(Invariant, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        var minN = Math.Log10(results.Min(r => r.Nodes));
        var maxN = Math.Log10(results.Max(r => r.Nodes));
        double X(int n, int offset) => offset + left + (maxN == minN ? panel / 2.0 : (Math.Log10(n) - minN) / (maxN - minN) * (panel - left - 20));
        void Panel(int offset, string title, Func<LookupExperimentResult, double> p50, Func<LookupExperimentResult, double> p99, string unit)
        {
            var max = Math.Max(1, results.Max(p99)) * 1.15;
            double Y(double v) => top + plotHeight - (v / max * plotHeight);
            svg.AppendLine(string.Create(Invariant, $"<text x=\"{offset + left}\" y=\"18\" font-weight=\"bold\">{title}</text>"));
            svg.AppendLine(string.Create(Invariant, $"<line x1=\"{offset + left}\" y1=\"{top + plotHeight}\" x2=\"{offset + panel - 10}\" y2=\"{top + plotHeight}\" stroke=\"black\"/>"));
            svg.AppendLine(string.Create(Invariant, $"<line x1=\"{offset + left}\" y1=\"{top}\" x2=\"{offset + left}\" y2=\"{top + plotHeight}\" stroke=\"black\"/>"));
            for (var t = 0; t <= 4; t++)
            {
                var v = max * t / 4;
                svg.AppendLine(string.Create(Invariant, $"<text x=\"{offset + left - 6}\" y=\"{Y(v) + 4:0.#}\" text-anchor=\"end\">{v:0.#}</text>"));
            }

            foreach (var r in results)
            {
                svg.AppendLine(string.Create(Invariant, $"<text x=\"{X(r.Nodes, offset):0.#}\" y=\"{top + plotHeight + 16}\" text-anchor=\"middle\">{r.Nodes:N0}</text>"));
            }

            foreach (var (series, color) in new[] { (p50, "#1f77b4"), (p99, "#d62728") })
            {
                var points = string.Join(' ', results.Select(r => string.Create(Invariant, $"{X(r.Nodes, offset):0.#},{Y(series(r)):0.#}")));
                svg.AppendLine($"<polyline points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>");
                foreach (var r in results)
                {
                    svg.AppendLine(string.Create(Invariant, $"<circle cx=\"{X(r.Nodes, offset):0.#}\" cy=\"{Y(series(r)):0.#}\" r=\"3\" fill=\"{color}\"/>"));
                }
            }

            svg.AppendLine(string.Create(Invariant, $"<text x=\"{offset + panel - 10}\" y=\"{top + plotHeight + 32}\" text-anchor=\"end\">N (nodes, log scale); {unit}</text>"));
        }

        Panel(0, "Lookup rounds vs N", r => r.RoundsP50, r => r.RoundsP99, "rounds");
        Panel(360, "Lookup latency vs N (virtual ms)", r => r.LatencyP50Ms, r => r.LatencyP99Ms, "ms");
        svg.AppendLine(string.Create(Invariant, $"<text x=\"{left}\" y=\"{height - 8}\" fill=\"#1f77b4\">p50</text><text x=\"{left + 40}\" y=\"{height - 8}\" fill=\"#d62728\">p99</text>"));
        svg.AppendLine("</svg>");
        return svg.ToString();
    }
}
