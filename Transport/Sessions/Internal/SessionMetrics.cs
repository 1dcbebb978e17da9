using System.Diagnostics.Metrics;

namespace Overlay.Transport.Sessions.Internal;

/// <summary>
/// Process-wide UDP session instruments (meter "Overlay.Transport.Sessions"), observed from every started
/// <see cref="UdpSessionHost"/> when a listener collects: established sessions, dropped session packets by reason
/// (<see cref="SessionDrop"/>, in snake case), and inbound sessions refused because the accept queue was full. Tags are
/// low cardinality: never a peer ID or address.
/// </summary>
internal static class SessionMetrics
{
    private static readonly Lock Gate = new();
    private static readonly HashSet<UdpSessionHost> Hosts = [];
    private static readonly SessionDrop[] Reasons = Enum.GetValues<SessionDrop>();
    private static readonly string[] ReasonTags = Reasons.Select(r => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(r.ToString())).ToArray();

    public static readonly Meter Meter = new("Overlay.Transport.Sessions", "1.0");

    static SessionMetrics()
    {
        Meter.CreateObservableUpDownCounter("overlay.sessions.udp.active", ObserveActive, "{session}", "Established UDP sessions");
        Meter.CreateObservableCounter("overlay.sessions.udp.dropped", ObserveDrops, "{packet}", "Session packets dropped, tagged by reason");
        Meter.CreateObservableCounter("overlay.sessions.udp.accept_overflows", ObserveOverflows, "{session}", "Inbound sessions closed because the accept queue was full");
    }

    /// <summary>Observes <paramref name="host"/> from now until <see cref="Remove"/>.</summary>
    public static void Add(UdpSessionHost host)
    {
        lock (Gate)
        {
            Hosts.Add(host);
        }
    }

    /// <summary>Stops observing <paramref name="host"/>.</summary>
    public static void Remove(UdpSessionHost host)
    {
        lock (Gate)
        {
            Hosts.Remove(host);
        }
    }

    private static UdpSessionHost[] Snapshot()
    {
        lock (Gate)
        {
            return [.. Hosts];
        }
    }

    private static int ObserveActive() => Snapshot().Sum(h => h.SessionCount);

    private static long ObserveOverflows() => Snapshot().Sum(h => h.AcceptOverflows);

    private static IEnumerable<Measurement<long>> ObserveDrops()
    {
        var hosts = Snapshot();
        for (var i = 0; i < Reasons.Length; i++)
        {
            var reason = Reasons[i];
            yield return new Measurement<long>(hosts.Sum(h => h.GetDropCount(reason)), new KeyValuePair<string, object?>("reason", ReasonTags[i]));
        }
    }
}
