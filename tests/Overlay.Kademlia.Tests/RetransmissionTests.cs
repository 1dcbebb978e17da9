using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Kademlia.Wire;
using Overlay.Testing.Simulation;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// Retransmission of unanswered requests: <see cref="KademliaOptions.RpcRetries"/> more copies under the same transaction
/// id, one adaptive timeout apart (no doubling), and failure (1 + RpcRetries) timeouts after the first copy. Runs on the
/// simulator, where the timeout before any round-trip sample is exactly <see cref="KademliaOptions.RpcTimeoutInitial"/>.
/// </summary>
public sealed class RetransmissionTests
{
    private static readonly TimeSpan OneWay = TimeSpan.FromMilliseconds(10);

    [Fact]
    public void UnansweredPing_IsSentThreeTimes_OneTimeoutApart_UnderOneTransactionId_ThenFails()
    {
        var simulator = new Simulator();
        var network = new InMemoryNetwork(simulator, LatencyModel.Uniform(OneWay, OneWay), 0, seed: 1);
        var options = new KademliaOptions();
        var copies = new List<(TimeSpan At, uint TransactionId)>();
        var start = simulator.Elapsed;
        var result = simulator.Run(() =>
        {
            var node = NewNode(network, simulator, options, seed: 1);
            var silent = network.Attach();
            silent.Start((_, datagram) => copies.Add((simulator.Elapsed - start, Envelope.Parser.ParseFrom(datagram.ToArray()).TransactionId)));
            return node.PingAsync(silent.LocalEndPoint);
        });
        var failedAfter = simulator.Elapsed - start;

        Assert.False(result.Success);
        var timeout = options.RpcTimeoutInitial;
        Assert.Equal([OneWay, timeout + OneWay, 2 * timeout + OneWay], copies.Select(c => c.At));
        Assert.Single(copies.Select(c => c.TransactionId).Distinct());
        Assert.Equal((1 + options.RpcRetries) * timeout, failedAfter);
        Assert.Equal(0, simulator.OffThreadCalls);
    }

    [Fact]
    public void Ping_WhoseFirstTwoCopiesAreLost_SucceedsOnTheThird()
    {
        var simulator = new Simulator();
        var network = new InMemoryNetwork(simulator, LatencyModel.Uniform(OneWay, OneWay), 0, seed: 2);
        var options = new KademliaOptions();
        var lossy = new DropFirstTransport(network.Attach(), drop: 2);
        KademliaNode? peer = null;
        var result = simulator.Run(() =>
        {
            var node = NewNode(network, simulator, options, seed: 1);
            peer = new KademliaNode(NodeIdentity.FromSeed(new byte[32]), lossy, options, simulator, NullLoggerFactory.Instance, new Random(2));
            peer.Start();
            return node.PingAsync(lossy.LocalEndPoint);
        });

        Assert.True(result.Success);
        Assert.Equal(peer!.Id, result.Id);
        Assert.Equal(3, lossy.Received);
        Assert.Equal(0, simulator.OffThreadCalls);
    }

    [Fact]
    public void NoRetries_FailsAfterOneTimeout_WithOneCopy()
    {
        var simulator = new Simulator();
        var network = new InMemoryNetwork(simulator, LatencyModel.Uniform(OneWay, OneWay), 0, seed: 3);
        var options = new KademliaOptions { RpcRetries = 0 };
        var received = 0;
        var start = simulator.Elapsed;
        var result = simulator.Run(() =>
        {
            var node = NewNode(network, simulator, options, seed: 1);
            var silent = network.Attach();
            silent.Start((_, _) => received++);
            return node.PingAsync(silent.LocalEndPoint);
        });

        Assert.False(result.Success);
        Assert.Equal(1, received);
        Assert.Equal(options.RpcTimeoutInitial, simulator.Elapsed - start);
    }

    private static KademliaNode NewNode(InMemoryNetwork network, Simulator simulator, KademliaOptions options, int seed)
    {
        var identity = new byte[32];
        new Random(seed).NextBytes(identity);
        identity[0] = 0xA5;
        var node = new KademliaNode(NodeIdentity.FromSeed(identity), network.Attach(), options, simulator, NullLoggerFactory.Instance, new Random(seed));
        node.Start();
        return node;
    }

    /// <summary>Drops the first <c>drop</c> datagrams it receives, then delivers the rest to its node.</summary>
    private sealed class DropFirstTransport(IMessageTransport inner, int drop) : IMessageTransport
    {
        public int Received { get; private set; }

        public IPEndPoint LocalEndPoint => inner.LocalEndPoint;

        public bool RequiresAsynchronousContinuations => inner.RequiresAsynchronousContinuations;

        public void Start(DatagramHandler handler) => inner.Start((remote, datagram) =>
        {
            if (++Received > drop)
            {
                handler(remote, datagram);
            }
        });

        public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram) => inner.Send(remote, datagram);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
