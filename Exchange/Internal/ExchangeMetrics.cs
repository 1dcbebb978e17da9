using System.Diagnostics.Metrics;

namespace Overlay.Exchange.Internal;

/// <summary>Instruments of the "Overlay.Exchange" meter; units per UCUM, no per-peer tags.</summary>
internal static class ExchangeMetrics
{
    public const string MeterName = "Overlay.Exchange";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> BlocksReceived = Meter.CreateCounter<long>("overlay.exchange.blocks.received", "{block}", "Blocks received from providers, verified and stored.");

    public static readonly Counter<long> BlocksBad = Meter.CreateCounter<long>("overlay.exchange.blocks.bad", "{block}", "Blocks received that did not match their CID.");

    public static readonly Counter<long> BlocksServed = Meter.CreateCounter<long>("overlay.exchange.blocks.served", "{block}", "Blocks sent to requesters.");

    public static readonly Counter<long> BytesReceived = Meter.CreateCounter<long>("overlay.exchange.bytes.received", "By", "Bytes of verified blocks received.");

    public static readonly Counter<long> BytesServed = Meter.CreateCounter<long>("overlay.exchange.bytes.served", "By", "Bytes of blocks sent.");

    public static readonly Counter<long> ProvidersDropped = Meter.CreateCounter<long>("overlay.exchange.providers.dropped", "{provider}", "Providers dropped during a fetch.");

    public static readonly Counter<long> ConnectionsRejected = Meter.CreateCounter<long>("overlay.exchange.connections.rejected", "{connection}", "Server connections closed for a bad frame or the connection limit.");
}
