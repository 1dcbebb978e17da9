using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Testing;
using Overlay.Transport.Datagrams;
using Overlay.Transport.Sessions;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// A node as the daemon runs it, its DHT and its UDP sessions on one socket behind a <see cref="DatagramDemux"/>, under
/// a flood that mixes forged DHT requests and forged session initiations, all from one socket standing for a spoofed
/// victim (on loopback the IP source cannot be forged, so what the node sends that socket is what a victim would get).
/// The node's DHT clock is virtual and frozen (rate limits do not refill); the session host runs on the system clock.
/// </summary>
public sealed class OnePortFloodTests
{
    private const int Batches = 10;
    private const int PerKind = 50;

    [Fact]
    public async Task FindNodeAndInitiationFlood_OnOnePort_SendsTheVictimAtMost3x_WhileLookupsAndAHandshakeSucceed()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var swarm = await UdpTestSwarm.StartAsync(20, seed: 733, UdpTestSwarm.LoopbackOptions(), clock, cancellationToken: bound.Token);
        var identity = NodeIdentity.FromSeed(Seed(7330));
        await using var datagrams = new DatagramDemux(UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 8 << 20));
        await using var node = new KademliaNode(identity, datagrams.For(DatagramKind.Dht), UdpTestSwarm.LoopbackOptions(), clock, NullLoggerFactory.Instance, new Random(733));
        node.Start();
        await using var sessions = new UdpSessionHost(identity, datagrams.For(DatagramKind.Session));
        sessions.Start();
        var joined = await node.BootstrapAsync([swarm.Nodes[0].LocalContact.EndPoint], bound.Token);
        Assert.True(joined.ContactsReached > 0, "the flooded node could not join the swarm");

        await using var clientDatagrams = new DatagramDemux(UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 4 << 20));
        await using var client = new UdpSessionHost(NodeIdentity.FromSeed(Seed(7331)), clientDatagrams.For(DatagramKind.Session));
        client.Start();
        using var victim = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20 };
        victim.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var random = new Random(7332);
        var lookups = new Random(7333);

        // A verification generation later (virtual): the join's verifications are forgotten.
        clock.Advance(TimeSpan.FromMinutes(1));
        long sent = 0;
        var mismatches = new List<string>();
        Task<UdpPacketLink>? handshake = null;
        var target = node.LocalContact.EndPoint;
        for (var b = 0; b < Batches; b++)
        {
            var received = node.GetStatistics().DatagramsReceived;
            for (var i = 0; i < PerKind; i++)
            {
                var request = ForgedRequests.Next(random, NodeId.Random(random), (uint)(b * PerKind + i));
                var initiation = ForgedInitiation(random, (uint)(b * PerKind + i));
                victim.SendTo(request, target);
                victim.SendTo(initiation, target);
                sent += request.Length + initiation.Length;
            }

            await WaitUntilAsync(() => node.GetStatistics().DatagramsReceived >= received + PerKind, $"the DHT to receive batch {b}", bound.Token);

            // An honest handshake in the middle of the flood (past the cookie threshold: it must echo a cookie), and an
            // honest lookup through the flooded socket after every batch.
            if (b == Batches / 2)
            {
                handshake = client.ConnectAsync(target, identity.Id, bound.Token);
            }

            // Brute force over all 21 nodes: peers' answers name the querier too, and the lookup keeps it.
            var key = NodeId.Random(lookups);
            var result = await node.FindNodeAsync(key, bound.Token);
            var expected = swarm.TrueClosest(key, KademliaOptions.DefaultBucketSize + 1).Append(identity.Id)
                .OrderBy(id => id.DistanceTo(key)).Take(KademliaOptions.DefaultBucketSize);
            if (!expected.SequenceEqual(result.Closest.Select(c => c.Id)))
            {
                mismatches.Add(key.ToShortString());
            }
        }

        var link = await handshake!.WaitAsync(bound.Token);
        Assert.Equal(identity.Id, link.RemoteId);

        // Let every verification PING's retransmissions go out and fail (virtual time; the victim never answers).
        for (var i = 0; i < 50; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        await WaitUntilAsync(() => node.GetStatistics().PendingRequests == 0, "the node's verification PINGs to end", bound.Token);
        var (dhtBytes, sessionBytes, sessionPackets) = await DrainAsync(victim, bound.Token);

        Assert.True(mismatches.Count == 0, $"seed 7333: lookups during the flood differ from brute force for {string.Join(", ", mismatches)}");
        Assert.True(dhtBytes > 0 && sessionPackets > 0, $"the flood got no answer of some kind (DHT {dhtBytes} bytes, {sessionPackets} session packets): the test would prove nothing");
        Assert.True(dhtBytes + sessionBytes <= 3 * sent, $"the node sent the victim {dhtBytes} DHT bytes and {sessionBytes} session bytes ({sessionPackets} packets) for {sent} received");
        Assert.True(sessions.GetDropCount(SessionDrop.HandshakeFailed) + sessions.GetDropCount(SessionDrop.Malformed) == 0, "a well-formed initiation was counted as malformed or failed");
    }

    /// <summary>An initiation as SessionPacket writes it: type 0xD1, sender index (4), cookie length 0, handshake message 1
    /// (the offered suites, then a 32-byte ephemeral key), zero padding to 256 bytes.</summary>
    private static byte[] ForgedInitiation(Random random, uint index)
    {
        var packet = new byte[256];
        packet[0] = 0xD1;
        BitConverter.TryWriteBytes(packet.AsSpan(1, 4), index + 1);
        packet[5] = 0;
        packet[6] = (byte)SessionCipherSuites.ChaChaPoly;
        random.NextBytes(packet.AsSpan(7, 32));
        return packet;
    }

    /// <summary>Receives until nothing more arrives for 500 ms; returns the DHT bytes, the session bytes and the session
    /// packets (first byte 0xD0..0xDF).</summary>
    private static async Task<(long Dht, long Session, int SessionPackets)> DrainAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[2048];
        long dht = 0;
        long session = 0;
        var packets = 0;
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow - quietSince < TimeSpan.FromMilliseconds(500))
        {
            if (socket.Available == 0)
            {
                await Task.Delay(20, cancellationToken);
                continue;
            }

            var length = socket.Receive(buffer);
            if (buffer[0] is >= DatagramDemux.SessionTypeFirst and <= DatagramDemux.SessionTypeLast)
            {
                session += length;
                packets++;
            }
            else
            {
                dht += length;
            }

            quietSince = DateTime.UtcNow;
        }

        return (dht, session, packets);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            try
            {
                await Task.Delay(5, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }
        }
    }

    private static byte[] Seed(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
