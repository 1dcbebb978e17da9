using System.Diagnostics.Metrics;
using System.Net;
using Overlay.Transport.Datagrams;
using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests.Sessions;

/// <summary>The "Overlay.Transport.Sessions" meter observes started hosts: their sessions and their dropped packets by
/// reason. Other tests' hosts may be observed too (the meter is process-wide), so counts are lower bounds.</summary>
public sealed class SessionMetricsTests
{
    [Fact]
    public async Task ActiveSessionsAndDropsByReason_AreObserved_FromStartedHosts()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var a = new DatagramDemux(UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 1 << 20));
        await using var b = new DatagramDemux(UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 1 << 20));
        await using var alice = new UdpSessionHost(NodeIdentity.Generate(), a.For(DatagramKind.Session));
        var bobIdentity = NodeIdentity.Generate();
        await using var bob = new UdpSessionHost(bobIdentity, b.For(DatagramKind.Session));
        alice.Start();
        bob.Start();
        await using var link = await alice.ConnectAsync(b.LocalEndPoint, bobIdentity.Id, bound.Token);

        // A packet of session type naming no session: dropped as unknown-index at Bob.
        using (var stray = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            var packet = new byte[64];
            packet[0] = 0xD4;
            packet[1] = 0x77;
            await stray.SendAsync(packet, b.LocalEndPoint, bound.Token);
        }

        while (bob.GetDropCount(SessionDrop.UnknownIndex) == 0 && bob.GetDropCount(SessionDrop.Malformed) == 0)
        {
            await Task.Delay(10, bound.Token);
        }

        var (active, drops) = Collect();

        Assert.True(active >= 2, $"active sessions observed: {active}");
        Assert.True(drops.GetValueOrDefault("unknown_index") + drops.GetValueOrDefault("malformed") >= 1, string.Join(", ", drops));
        Assert.Contains("handshake_failed", drops.Keys);
    }

    private static (long Active, Dictionary<string, long> Drops) Collect()
    {
        long active = 0;
        var drops = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Overlay.Transport.Sessions")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "overlay.sessions.udp.active")
            {
                active += value;
            }
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "overlay.sessions.udp.dropped")
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "reason")
                    {
                        drops[(string)tag.Value!] = drops.GetValueOrDefault((string)tag.Value!) + value;
                    }
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return (active, drops);
    }
}
