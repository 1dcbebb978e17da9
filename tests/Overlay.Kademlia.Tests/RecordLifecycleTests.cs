using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Overlay.Kademlia;
using Overlay.Kademlia.Wire;
using Overlay.Testing;

namespace Overlay.Kademlia.Tests;

/// <summary>Records and provider records across a small loopback swarm: durability, expiry, BEP 44 refusals.</summary>
public sealed class RecordLifecycleTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Record_StaysRetrievable_AfterItsPublisherStops()
    {
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(30, seed: 31, cancellationToken: bound.Token);
        var record = DhtRecord.CreateImmutable("still here after the publisher left"u8, DateTimeOffset.UtcNow.AddHours(1));

        var put = await swarm.Nodes[5].PutAsync(record, bound.Token);
        await swarm.StopAsync(5);
        var got = await swarm.Nodes[9].GetAsync(record.Key, bound.Token);

        Assert.True(put.StoredOn >= KademliaOptions.DefaultBucketSize - 1, $"stored on {put.StoredOn}");
        Assert.NotNull(got.Record);
        Assert.Equal(record.Value.ToArray(), got.Record.Value.ToArray());
    }

    [Fact]
    public async Task Record_IsNoLongerReturned_AfterItsTtl()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var bound = new CancellationTokenSource(Bound);
        var options = UdpTestSwarm.LoopbackOptions();
        options.RecordTtl = TimeSpan.FromHours(1);
        options.RepublishInterval = TimeSpan.FromMinutes(50);
        options.ReplicationInterval = TimeSpan.FromMinutes(50);
        await using var swarm = await UdpTestSwarm.StartAsync(25, seed: 47, options, clock, cancellationToken: bound.Token);
        var record = DhtRecord.CreateImmutable("short-lived"u8, clock.GetUtcNow().AddMinutes(30));

        await swarm.Nodes[3].PutAsync(record, bound.Token);
        var before = await swarm.Nodes[17].GetAsync(record.Key, bound.Token);
        clock.Advance(TimeSpan.FromMinutes(31));
        var after = await swarm.Nodes[17].GetAsync(record.Key, bound.Token);
        var fromPublisher = await swarm.Nodes[3].GetAsync(record.Key, bound.Token);

        Assert.NotNull(before.Record);
        Assert.Null(after.Record);
        Assert.Null(fromPublisher.Record);
    }

    [Fact]
    public async Task MutableRecord_LowerSequence_IsRefused_AndHigherSequenceWins()
    {
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(30, seed: 53, cancellationToken: bound.Token);
        var publisher = swarm.Nodes[4].Identity;
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        var v5 = DhtRecord.CreateMutable(publisher, "profile"u8, "version five"u8, 5, expires);
        var v3 = DhtRecord.CreateMutable(publisher, "profile"u8, "version three"u8, 3, expires);

        var first = await swarm.Nodes[4].PutAsync(v5, bound.Token);
        var stale = await swarm.Nodes[4].PutAsync(v3, bound.Token);
        var got = await swarm.Nodes[21].GetAsync(v5.Key, bound.Token);

        Assert.True(first.StoredOn >= KademliaOptions.DefaultBucketSize - 1, $"stored on {first.StoredOn}");
        Assert.Equal(0, stale.StoredOn);
        Assert.True(stale.Refusals >= KademliaOptions.DefaultBucketSize - 1, $"refused by {stale.Refusals}");
        Assert.NotNull(got.Record);
        Assert.Equal(5, got.Record.Sequence);
        Assert.Equal("version five"u8.ToArray(), got.Record.Value.ToArray());
    }

    [Fact]
    public async Task Store_WithBadSignature_IsRefused_AndWithoutToken_IsRefused()
    {
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(3, seed: 59, cancellationToken: bound.Token);
        var target = swarm.Nodes[1];
        using var client = new RawClient(target.LocalContact.EndPoint);
        var good = DhtRecord.CreateMutable(NodeIdentity.FromSeed(new byte[32]), [], "value"u8, 1, DateTimeOffset.UtcNow.AddHours(1));
        var wire = new Wire.Record
        {
            Value = ByteString.CopyFrom(good.Value.Span),
            PublicKey = ByteString.CopyFrom(good.PublicKey.Span),
            Sequence = 1,
            TtlSeconds = 600,
        };
        var badSignature = good.Signature.ToArray();
        badSignature[10] ^= 0x40;
        wire.Signature = ByteString.CopyFrom(badSignature);

        var nodes = await client.RequestAsync(new Envelope { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(good.Key.ToArray()), WantToken = true } }, bound.Token);
        var token = nodes.Nodes.Token;
        var refusedSignature = await client.RequestAsync(new Envelope { Store = new StoreRequest { Key = ByteString.CopyFrom(good.Key.ToArray()), Record = wire, Token = token } }, bound.Token);
        var refusedToken = await client.RequestAsync(new Envelope { Store = new StoreRequest { Key = ByteString.CopyFrom(good.Key.ToArray()), Record = wire, Token = ByteString.CopyFrom(new byte[8]) } }, bound.Token);
        var held = await target.GetAsync(good.Key, bound.Token);

        Assert.Equal(8, token.Length);
        Assert.Equal(StoreStatus.BadSignature, refusedSignature.Stored.Status);
        Assert.Equal(StoreStatus.BadToken, refusedToken.Stored.Status);
        Assert.Null(held.Record);
    }

    [Fact]
    public async Task Providers_AnnouncedOnOneNode_AreFoundFromAnother_WithTheAnnouncersEndpoint()
    {
        using var bound = new CancellationTokenSource(Bound);
        await using var swarm = await UdpTestSwarm.StartAsync(30, seed: 61, cancellationToken: bound.Token);
        var key = NodeId.HashOf("some content multihash"u8);

        await swarm.Nodes[6].ProvideAsync(key, bound.Token);
        await swarm.Nodes[12].ProvideAsync(key, bound.Token);
        var found = await swarm.Nodes[25].GetProvidersAsync(key, 20, bound.Token);
        var none = await swarm.Nodes[25].GetProvidersAsync(NodeId.HashOf("nobody has this"u8), 20, bound.Token);

        Assert.Equal(
            new[] { swarm.Nodes[6].LocalContact, swarm.Nodes[12].LocalContact }.OrderBy(c => c.Id).ToList(),
            found.Providers.Select(p => new NodeContact(p.ProviderId, p.EndPoint)).OrderBy(c => c.Id).ToList());
        Assert.Empty(none.Providers);
    }

    /// <summary>A bare UDP client speaking the wire protocol directly, to send what a well-behaved node never would.</summary>
    private sealed class RawClient(IPEndPoint target) : IDisposable
    {
        private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly byte[] _id = NodeId.HashOf("raw client"u8).ToArray();
        private uint _nextTransaction = 1;

        public async Task<Envelope> RequestAsync(Envelope request, CancellationToken cancellationToken)
        {
            request.Version = 1;
            request.TransactionId = _nextTransaction++;
            request.SenderId = ByteString.CopyFrom(_id);
            await _udp.SendAsync(request.ToByteArray(), target, cancellationToken);
            while (true)
            {
                var received = await _udp.ReceiveAsync(cancellationToken);
                var envelope = Envelope.Parser.ParseFrom(received.Buffer);
                if (envelope.TransactionId == request.TransactionId)
                {
                    return envelope;
                }
            }
        }

        public void Dispose() => _udp.Dispose();
    }
}
