using System.Diagnostics.Metrics;

namespace Overlay.Node;

/// <summary>The node's own instruments (meter <c>Overlay.Node</c>); tags are low-cardinality only.</summary>
internal sealed class NodeMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "Overlay.Node";

    /// <summary>Name of the counter of refused API requests; tag <c>reason</c> is one of <see cref="RefusalReasons"/>.</summary>
    public const string ApiRefusedName = "overlay.api.requests.refused";

    /// <summary>The values of the <c>reason</c> tag of <see cref="ApiRefusedName"/>.</summary>
    public static readonly IReadOnlyList<string> RefusalReasons = ["host", "origin", "token", "content-type", "body-size"];

    private readonly Counter<long> _addedBytes;
    private readonly Counter<long> _fetchedBytes;
    private readonly Counter<long> _noProviders;
    private readonly Histogram<double> _fetchDuration;
    private readonly Counter<long> _apiRefused;

    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">The host's meter factory (owns and disposes the meter).</param>
    public NodeMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _addedBytes = meter.CreateCounter<long>("overlay.node.content.added", "By", "File bytes imported by add.");
        _fetchedBytes = meter.CreateCounter<long>("overlay.node.content.fetched", "By", "Block bytes fetched from providers.");
        _noProviders = meter.CreateCounter<long>("overlay.node.content.no_providers", "{request}", "Gets that found no provider.");
        _fetchDuration = meter.CreateHistogram<double>("overlay.node.content.fetch.duration", "s", "Duration of a DAG fetch from providers.");
        _apiRefused = meter.CreateCounter<long>(ApiRefusedName, "{request}", "Local API requests refused before their handler, by reason (host, origin, token, content-type, body-size).");
    }

    /// <summary>Counts an import.</summary>
    /// <param name="bytes">File bytes.</param>
    public void Added(long bytes) => _addedBytes.Add(bytes);

    /// <summary>Records a completed fetch.</summary>
    /// <param name="bytes">Bytes fetched.</param>
    /// <param name="elapsed">Duration.</param>
    public void Fetched(long bytes, TimeSpan elapsed)
    {
        _fetchedBytes.Add(bytes);
        _fetchDuration.Record(elapsed.TotalSeconds);
    }

    /// <summary>Counts a get that found no provider.</summary>
    public void NoProviders() => _noProviders.Add(1);

    /// <summary>Counts an API request refused by <see cref="Api.ApiGuard"/>.</summary>
    /// <param name="reason">One of <see cref="RefusalReasons"/> (a fixed, low-cardinality set).</param>
    public void ApiRefused(string reason) => _apiRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
