using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Overlay.Kademlia;
using Overlay.Kademlia.Wire;
using Overlay.Testing;

namespace Overlay.Kademlia.Tests;

/// <summary>Bad input on a live node: random and mutated datagrams over real UDP, interleaved with PINGs that must keep working.</summary>
public sealed class NodeDatagramFuzzTests
{
    private const int Datagrams = 100_000;
    private const int PingEvery = 500;

    [Fact]
    public async Task Node_Receiving100000RandomAndMutatedDatagrams_KeepsAnsweringPing_AndAccountsForEveryDatagram()
    {
        const int seed = 4242;
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var swarm = await UdpTestSwarm.StartAsync(2, seed, cancellationToken: bound.Token);
        var target = swarm.Nodes[0];
        var prober = swarm.Nodes[1];
        var random = new Random(seed);
        var templates = ValidEnvelopes(random).Select(e => e.ToByteArray()).ToArray();
        using var fuzzer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        fuzzer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var failedPings = 0;

        for (var sent = 0; sent < Datagrams; sent++)
        {
            fuzzer.SendTo(Mutate(templates[random.Next(templates.Length)], random), target.LocalContact.EndPoint);
            if (sent % PingEvery == PingEvery - 1)
            {
                // Paces the fuzzer to the node (the socket buffer never overflows) and checks the node still answers.
                var ping = await prober.PingAsync(target.LocalContact.EndPoint, bound.Token);
                failedPings += ping.Success ? 0 : 1;
            }
        }

        var final = await prober.PingAsync(target.LocalContact.EndPoint, bound.Token);
        var stats = target.GetStatistics();

        Assert.True(final.Success, $"seed {seed}: the node stopped answering PING");
        Assert.Equal(0, failedPings);
        Assert.Equal(stats.DatagramsReceived, stats.DatagramsDropped + stats.RequestsServed + stats.ResponsesMatched);
        Assert.True(stats.DatagramsDropped >= Datagrams / 2, $"seed {seed}: only {stats.DatagramsDropped} of {Datagrams} fuzz datagrams were dropped");
        Assert.True(stats.DatagramsReceived >= Datagrams * 9 / 10, $"seed {seed}: only {stats.DatagramsReceived} datagrams reached the node");
    }

    private static byte[] Mutate(byte[] template, Random random)
    {
        switch (random.Next(6))
        {
            case 0:
                var noise = new byte[random.Next(0, 1400)];
                random.NextBytes(noise);
                return noise;
            case 1:
                return template[..random.Next(template.Length)];
            case 2:
                var extended = new byte[template.Length + random.Next(1, 64)];
                template.CopyTo(extended, 0);
                random.NextBytes(extended.AsSpan(template.Length));
                return extended;
            default:
                var flipped = (byte[])template.Clone();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
                }

                return flipped;
        }
    }

    private static IEnumerable<Envelope> ValidEnvelopes(Random random)
    {
        ByteString Id() => ByteString.CopyFrom(NodeId.Random(random).ToArray());
        var contact = new Contact { Id = Id(), Ip = ByteString.CopyFrom(IPAddress.Loopback.GetAddressBytes()), Port = 4001 };
        var bodies = new Func<Envelope>[]
        {
            () => new Envelope { Ping = new PingRequest() },
            () => new Envelope { Pong = new PingResponse { ObservedIp = contact.Ip, ObservedPort = 9 } },
            () => new Envelope { FindNode = new FindNodeRequest { Target = Id(), WantToken = true } },
            () => new Envelope { Nodes = new NodesResponse { Closer = { contact, contact }, Token = ByteString.CopyFrom(new byte[8]) } },
            () => new Envelope { FindValue = new FindValueRequest { Key = Id() } },
            () => new Envelope { Value = new ValueResponse { Record = new Wire.Record { Value = ByteString.CopyFromUtf8("v"), TtlSeconds = 60 } } },
            () => new Envelope { Store = new StoreRequest { Key = Id(), Record = new Wire.Record { Value = ByteString.CopyFromUtf8("v"), TtlSeconds = 60 }, Token = ByteString.CopyFrom(new byte[8]) } },
            () => new Envelope { Stored = new StoreResponse { Status = StoreStatus.Ok } },
            () => new Envelope { AddProvider = new AddProviderRequest { Key = Id(), Token = ByteString.CopyFrom(new byte[8]), TtlSeconds = 60 } },
            () => new Envelope { GetProviders = new GetProvidersRequest { Key = Id() } },
            () => new Envelope { Providers = new ProvidersResponse { Providers = { new Provider { Id = Id(), Ip = contact.Ip, Port = 1, TtlSeconds = 5 } }, Closer = { contact } } },
        };
        foreach (var body in bodies)
        {
            var envelope = body();
            envelope.Version = 1;
            envelope.TransactionId = (uint)random.Next();
            envelope.SenderId = Id();
            yield return envelope;
        }
    }
}
