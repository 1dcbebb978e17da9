using System.Diagnostics.Metrics;

namespace Overlay.Transport.Connections.Internal;

/// <summary>Process-wide connection instruments (meter "Overlay.Transport.Connections"); tags are low cardinality
/// (path, direction, reason), never a peer ID or address.</summary>
internal static class ConnectionMetrics
{
    public static readonly Meter Meter = new("Overlay.Transport.Connections", "1.0");

    public static readonly Counter<long> Established =
        Meter.CreateCounter<long>("overlay.connections.established", "{connection}", "Sessions established, tagged by path and direction");

    public static readonly Counter<long> Ended =
        Meter.CreateCounter<long>("overlay.connections.ended", "{connection}", "Connections ended, tagged by path and kind (lost, closed)");

    public static readonly Counter<long> Refused =
        Meter.CreateCounter<long>("overlay.connections.refused", "{connection}", "Inbound sessions closed at once, tagged by reason (limit, ip-limit, duplicate, shutdown)");

    public static readonly Counter<long> StreamsRefused =
        Meter.CreateCounter<long>("overlay.connections.streams_refused", "{stream}", "Inbound streams reset, tagged by reason (header, protocol, backlog)");

    public static readonly Histogram<double> HandshakeDuration =
        Meter.CreateHistogram<double>("overlay.connections.handshake.duration", "ms", "Handshake time of established sessions, tagged by path");
}
