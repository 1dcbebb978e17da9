using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Testing.Simulation;

namespace Overlay.Kademlia.Tests;

/// <summary>
/// A node that restarts keeps what it publishes (<see cref="IPublicationStore"/>): in a simulated swarm in virtual
/// time, a publisher provides a key and puts a record, stops, and starts again with the same identity and publication
/// file at a new address. Its provider record must point at the new address at once, and both must still be found
/// after the original copies' TTL has passed.
/// </summary>
public sealed class PublicationRestartTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("overlay-publications-").FullName;

    [Fact]
    public void RestartedPublisher_ReannouncesItsProvidedKeysAndRecords_FromItsPublicationFile()
    {
        const int seed = 4711;
        var options = new KademliaOptions
        {
            RecordTtl = TimeSpan.FromHours(2),
            RepublishInterval = TimeSpan.FromHours(1),
            ReplicationInterval = TimeSpan.FromHours(1),
            MaintenanceInterval = TimeSpan.FromMinutes(1),
        };
        var swarm = new SimulatedSwarm(seed, LatencyModel.WideArea(), 0, options);
        swarm.Simulator.Run(() => swarm.GrowAsync(60, concurrency: 16));
        var identity = NodeIdentity.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var file = Path.Combine(_directory, "published");
        var key = NodeId.Random(new Random(seed));
        DhtRecord? record = null;
        KademliaNode? first = null;
        InMemoryTransport? firstTransport = null;

        swarm.Simulator.Run(async () =>
        {
            (first, firstTransport) = Start(swarm, identity, options, new FilePublicationStore(file));
            await first.BootstrapAsync([swarm[0].LocalContact.EndPoint]);
            record = DhtRecord.CreateMutable(identity, "profile"u8, "kept across restarts"u8, 1, swarm.Simulator.GetUtcNow() + TimeSpan.FromHours(6));
            await first.ProvideAsync(key);
            await first.PutAsync(record);
            await firstTransport.DisposeAsync();
            await first.DisposeAsync();
        });

        KademliaNode? second = null;
        ProvidersResult? afterRestart = null;
        swarm.Simulator.Run(async () =>
        {
            (second, _) = Start(swarm, identity, options, new FilePublicationStore(file));
            await second.BootstrapAsync([swarm[1].LocalContact.EndPoint]);
            afterRestart = await swarm[5].GetProvidersAsync(key, 20);
        });

        // Past the TTL (2 h) of every copy the first process stored (the record itself lives 6 h): only the second
        // process's republishing keeps them alive.
        swarm.Simulator.RunFor(options.RecordTtl + TimeSpan.FromMinutes(30));
        ProvidersResult? later = null;
        GetResult? got = null;
        swarm.Simulator.Run(async () =>
        {
            later = await swarm[7].GetProvidersAsync(key, 20);
            got = await swarm[9].GetAsync(record!.Key);
        });

        Assert.NotEqual(firstTransport!.LocalEndPoint, second!.LocalContact.EndPoint);
        Assert.Contains(afterRestart!.Providers, p => p.ProviderId == identity.Id && p.EndPoint.Equals(second.LocalContact.EndPoint));
        var provider = Assert.Single(later!.Providers, p => p.ProviderId == identity.Id);
        Assert.Equal(second.LocalContact.EndPoint, provider.EndPoint);
        Assert.NotNull(got!.Record);
        Assert.Equal("kept across restarts"u8.ToArray(), got.Record.Value.ToArray());
        Assert.Equal(0, swarm.Simulator.OffThreadCalls);
    }

    [Fact]
    public void FilePublicationStore_RoundTrips_AndRefusesAForeignFile()
    {
        var file = Path.Combine(_directory, "published");
        var store = new FilePublicationStore(file);
        var identity = NodeIdentity.FromSeed(new byte[32]);
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(1_900_000_000_000);
        var records = new[]
        {
            DhtRecord.CreateImmutable("immutable"u8, expires),
            DhtRecord.CreateMutable(identity, "salt"u8, "mutable"u8, 42, expires),
        };
        var keys = Enumerable.Range(0, 100).Select(i => NodeId.Random(new Random(i))).ToList();

        Assert.Same(PublishedState.Empty, store.Load());
        store.Save(new PublishedState(records, keys));
        var loaded = new FilePublicationStore(file).Load();

        Assert.Equal(keys, loaded.ProvidedKeys);
        Assert.Equal(2, loaded.Records.Count);
        Assert.All(loaded.Records, r => Assert.Equal(RecordCheck.Valid, r.Verify(KademliaOptions.DefaultMaxValueBytes)));
        Assert.Equal(records.Select(r => (r.Key, r.Sequence, r.Expires)), loaded.Records.Select(r => (r.Key, r.Sequence, r.Expires)));
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));

        File.WriteAllText(file, "not a publications file, just text");
        Assert.Throws<InvalidDataException>(() => store.Load());
    }

    [Fact]
    public void Node_WithAnUnreadablePublicationFile_StartsWithNothing()
    {
        var file = Path.Combine(_directory, "published");
        File.WriteAllBytes(file, [0xFF, 0xFF, 0xFF, 0x0F]);
        var swarm = new SimulatedSwarm(3, LatencyModel.WideArea(), 0, new KademliaOptions());
        swarm.Simulator.Run(async () =>
        {
            var (node, transport) = Start(swarm, NodeIdentity.FromSeed(new byte[32]), new KademliaOptions(), new FilePublicationStore(file));
            await transport.DisposeAsync();
            await node.DisposeAsync();
        });

        Assert.Equal(0, swarm.Simulator.OffThreadCalls);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static (KademliaNode Node, InMemoryTransport Transport) Start(SimulatedSwarm swarm, NodeIdentity identity, KademliaOptions options, IPublicationStore store)
    {
        var transport = swarm.Network.Attach();
        var node = new KademliaNode(identity, transport, options, swarm.Simulator, NullLoggerFactory.Instance, new Random(1), store);
        node.Start();
        return (node, transport);
    }
}
