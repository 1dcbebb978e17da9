using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Kademlia;

namespace Overlay.Testing.Simulation;

/// <summary>
/// Many real <see cref="KademliaNode"/>s on an <see cref="InMemoryNetwork"/> in the virtual time of one
/// <see cref="Simulator"/>: nodes join through real bootstraps, leave and are replaced under churn, and everything is
/// drawn from one seed, so a run repeats exactly. Drive it with <see cref="Simulator.Run{T}"/>.
/// </summary>
public sealed class SimulatedSwarm
{
    private readonly KademliaOptions _options;
    private readonly List<Member> _live = [];
    private readonly Dictionary<KademliaNode, int> _index = [];
    private SessionModel? _sessions;

    /// <summary>Creates an empty swarm.</summary>
    /// <param name="seed">Seed of everything: identities, latencies, losses, transaction ids, churn.</param>
    /// <param name="latency">Link latency model.</param>
    /// <param name="lossRate">Datagram loss probability, 0..1.</param>
    /// <param name="options">Options of every node; null = the defaults.</param>
    public SimulatedSwarm(int seed, LatencyModel latency, double lossRate = 0, KademliaOptions? options = null)
    {
        Seed = seed;
        Random = new Random(seed);
        Simulator = new Simulator();
        Network = new InMemoryNetwork(Simulator, latency, lossRate, Random.Next());
        _options = options ?? new KademliaOptions();
    }

    /// <summary>Gets the seed the swarm was created with (print it with any failure).</summary>
    public int Seed { get; }

    /// <summary>Gets the swarm's seeded randomness (targets, pairs, churn).</summary>
    public Random Random { get; }

    /// <summary>Gets the clock and event loop.</summary>
    public Simulator Simulator { get; }

    /// <summary>Gets the network.</summary>
    public InMemoryNetwork Network { get; }

    /// <summary>Gets the nodes in the swarm now.</summary>
    public int Count => _live.Count;

    /// <summary>Gets how many nodes joined since the start (including the first ones).</summary>
    public int Joins { get; private set; }

    /// <summary>Gets the failures of churn's departures and replacement joins: empty in a correct run.</summary>
    public List<Exception> ChurnErrors { get; } = [];

    /// <summary>Gets how many nodes left.</summary>
    public int Departures { get; private set; }

    /// <summary>Gets the live node at <paramref name="index"/> (0..Count-1; indices shift as nodes leave).</summary>
    /// <param name="index">The index.</param>
    public KademliaNode this[int index] => _live[index].Node;

    /// <summary>Returns a uniformly random live node.</summary>
    public KademliaNode RandomNode() => _live[Random.Next(_live.Count)].Node;

    /// <summary>Returns whether <paramref name="id"/> is a live node.</summary>
    /// <param name="id">A node ID.</param>
    public bool IsLive(NodeId id) => _live.Exists(m => m.Node.Id == id);

    /// <summary>Returns the IDs of the live nodes, for brute-force truth.</summary>
    public List<NodeId> LiveIds() => _live.Select(m => m.Node.Id).ToList();

    /// <summary>Returns the <paramref name="count"/> live node IDs closest to <paramref name="target"/>, by brute force.</summary>
    /// <param name="target">The key.</param>
    /// <param name="count">How many.</param>
    /// <returns>Ascending XOR distance.</returns>
    public List<NodeId> TrueClosest(NodeId target, int count)
    {
        var best = new List<(XorDistance Distance, NodeId Id)>(count + 1);
        foreach (var member in _live)
        {
            var distance = member.Node.Id.DistanceTo(target);
            if (best.Count == count && distance >= best[^1].Distance)
            {
                continue;
            }

            var at = best.FindIndex(b => distance < b.Distance);
            best.Insert(at < 0 ? best.Count : at, (distance, member.Node.Id));
            if (best.Count > count)
            {
                best.RemoveAt(count);
            }
        }

        return best.Select(b => b.Id).ToList();
    }

    /// <summary>
    /// Adds <paramref name="count"/> nodes: each joins through up to three random nodes already in the swarm, in waves
    /// of <paramref name="concurrency"/> concurrent joins (the very first node joins nobody).
    /// </summary>
    /// <param name="count">Nodes to add.</param>
    /// <param name="concurrency">Joins at once.</param>
    /// <param name="stable">Whether the new nodes never leave under churn (long-lived servers).</param>
    /// <returns>A task that completes when every new node has joined.</returns>
    public async Task<List<KademliaNode>> GrowAsync(int count, int concurrency = 64, bool stable = false)
    {
        var added = new List<KademliaNode>(count);
        if (_live.Count == 0 && count > 0)
        {
            added.Add(AddNode(stable));
        }

        while (added.Count < count)
        {
            var wave = Math.Min(concurrency, count - added.Count);
            var joins = new List<Task>(wave);
            for (var i = 0; i < wave; i++)
            {
                var contacts = BootstrapContacts();
                var node = AddNode(stable);
                added.Add(node);
                joins.Add(node.BootstrapAsync(contacts));
            }

            await Task.WhenAll(joins);
        }

        return added;
    }

    /// <summary>
    /// Starts churn: every live node, and every node that joins later, leaves after a session drawn from
    /// <paramref name="sessions"/> and is replaced at once by a new node that joins, so the size stays constant.
    /// </summary>
    /// <param name="sessions">The session-length distribution.</param>
    public void StartChurn(SessionModel sessions)
    {
        _sessions = sessions;
        foreach (var member in _live.Where(m => !m.Stable).ToList())
        {
            ScheduleDeparture(member.Node);
        }
    }

    /// <summary>Removes a node at once (its socket detaches first, then it stops) and returns when it has stopped.</summary>
    /// <param name="node">A live node.</param>
    /// <returns>A task that completes when the node has stopped.</returns>
    public async Task RemoveAsync(KademliaNode node)
    {
        if (!_index.TryGetValue(node, out var i))
        {
            return;
        }

        var member = _live[i];
        var last = _live[^1];
        _live[i] = last;
        _index[last.Node] = i;
        _live.RemoveAt(_live.Count - 1);
        _index.Remove(node);
        Departures++;
        await member.Transport.DisposeAsync();
        await node.DisposeAsync();
    }

    /// <summary>
    /// Adds one node whose transport is <paramref name="wrap"/> around its attachment (e.g. one that rewrites what it
    /// sends, to play a hostile node) and joins it through up to three random live nodes. It never leaves under churn.
    /// </summary>
    /// <param name="wrap">Builds the node's transport from its in-memory attachment; the attachment is disposed on removal.</param>
    /// <returns>A task that completes when the node has joined.</returns>
    public async Task<KademliaNode> JoinWrappedAsync(Func<InMemoryTransport, IMessageTransport> wrap)
    {
        ArgumentNullException.ThrowIfNull(wrap);
        var contacts = BootstrapContacts();
        var node = AddNode(stable: true, wrap);
        await node.BootstrapAsync(contacts);
        return node;
    }

    private KademliaNode AddNode(bool stable = false, Func<InMemoryTransport, IMessageTransport>? wrap = null)
    {
        var seed = new byte[32];
        Random.NextBytes(seed);
        var transport = Network.Attach();
        var node = new KademliaNode(NodeIdentity.FromSeed(seed), wrap?.Invoke(transport) ?? transport, _options, Simulator, NullLoggerFactory.Instance, new Random(Random.Next()));
        node.Start();
        _index[node] = _live.Count;
        _live.Add(new Member(node, transport, stable));
        Joins++;
        if (_sessions is not null && !stable)
        {
            ScheduleDeparture(node);
        }

        return node;
    }

    private List<System.Net.IPEndPoint> BootstrapContacts()
    {
        var contacts = new List<System.Net.IPEndPoint>(3);
        for (var i = 0; i < Math.Min(3, _live.Count); i++)
        {
            contacts.Add(_live[Random.Next(_live.Count)].Node.LocalContact.EndPoint);
        }

        return contacts;
    }

    private void ScheduleDeparture(KademliaNode node)
    {
        Simulator.Schedule(_sessions!.Draw(Random), () =>
        {
            if (!_index.ContainsKey(node))
            {
                return;
            }

            // Runs inline in this event, on the simulation thread, until the departure's first await.
            var replacement = ReplaceAsync(node);
            replacement.ContinueWith(
                t => ChurnErrors.Add(t.Exception!.GetBaseException()),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        });
    }

    private async Task ReplaceAsync(KademliaNode node)
    {
        await RemoveAsync(node);
        var contacts = BootstrapContacts();
        await AddNode().BootstrapAsync(contacts);
    }

    private sealed record Member(KademliaNode Node, InMemoryTransport Transport, bool Stable);
}
