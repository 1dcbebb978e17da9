using System.Diagnostics.Metrics;

namespace Overlay.Exchange.Internal;

/// <summary>Instruments of the "Overlay.Exchange" meter; units per UCUM, no per-peer tags.</summary>
internal static class ExchangeMetrics
{
    /// <summary>The meter's name: "Overlay.Exchange".</summary>
    public const string MeterName = "Overlay.Exchange";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Blocks received from providers, verified and stored.</summary>
    public static readonly Counter<long> BlocksReceived = Meter.CreateCounter<long>("overlay.exchange.blocks.received", "{block}", "Blocks received from providers, verified and stored.");

    /// <summary>Blocks received that did not match their CID.</summary>
    public static readonly Counter<long> BlocksBad = Meter.CreateCounter<long>("overlay.exchange.blocks.bad", "{block}", "Blocks received that did not match their CID.");

    /// <summary>Blocks sent to requesters.</summary>
    public static readonly Counter<long> BlocksServed = Meter.CreateCounter<long>("overlay.exchange.blocks.served", "{block}", "Blocks sent to requesters.");

    /// <summary>Bytes of verified blocks received.</summary>
    public static readonly Counter<long> BytesReceived = Meter.CreateCounter<long>("overlay.exchange.bytes.received", "By", "Bytes of verified blocks received.");

    /// <summary>Bytes of blocks sent.</summary>
    public static readonly Counter<long> BytesServed = Meter.CreateCounter<long>("overlay.exchange.bytes.served", "By", "Bytes of blocks sent.");

    /// <summary>Providers dropped during a fetch.</summary>
    public static readonly Counter<long> ProvidersDropped = Meter.CreateCounter<long>("overlay.exchange.providers.dropped", "{provider}", "Providers dropped during a fetch.");

    /// <summary>
    /// Server connections refused on accept or cut by the server, tagged <c>reason</c> = total | per-ip | evicted |
    /// first-request-timeout | frame-timeout | response-timeout | idle | bad-frame (<see cref="ConnectionRefusal"/>).
    /// </summary>
    public static readonly Counter<long> ConnectionsRefused = Meter.CreateCounter<long>("overlay.exchange.connections.refused", "{connection}", "Server connections refused on accept or cut by the server, by reason.");

    /// <summary>Server connections open now (admitted and not yet ended or evicted), over every server in the process.</summary>
    public static readonly UpDownCounter<long> ConnectionsOpen = Meter.CreateUpDownCounter<long>("overlay.exchange.connections.open", "{connection}", "Server connections open now.");

    /// <summary>Returns the <c>reason</c> tag value of <paramref name="reason"/>.</summary>
    /// <param name="reason">A refusal reason.</param>
    /// <returns>A lower-case, hyphenated tag value, e.g. "per-ip".</returns>
    public static string Tag(ConnectionRefusal reason) => reason switch
    {
        ConnectionRefusal.Total => "total",
        ConnectionRefusal.PerIp => "per-ip",
        ConnectionRefusal.Evicted => "evicted",
        ConnectionRefusal.FirstRequestTimeout => "first-request-timeout",
        ConnectionRefusal.FrameTimeout => "frame-timeout",
        ConnectionRefusal.ResponseTimeout => "response-timeout",
        ConnectionRefusal.Idle => "idle",
        ConnectionRefusal.BadFrame => "bad-frame",
        _ => "other",
    };

    /// <summary>Counts one refusal in <see cref="ConnectionsRefused"/>.</summary>
    /// <param name="reason">Why.</param>
    public static void Refused(ConnectionRefusal reason) =>
        ConnectionsRefused.Add(1, new KeyValuePair<string, object?>("reason", Tag(reason)));
}
