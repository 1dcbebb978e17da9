using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Kademlia;

namespace Overlay.Testing;

/// <summary>
/// A test-network factory (hyperdht practice): many <see cref="KademliaNode"/>s in one process, each on its own real
/// UDP socket on 127.0.0.1 with an OS-chosen port, identities drawn from a seed so node IDs repeat from run to run.
/// Node 0 is the bootstrap contact of every other node. Dispose stops every node and closes every socket.
/// </summary>
public sealed class UdpTestSwarm : IAsyncDisposable
{
    private readonly List<(KademliaNode Node, UdpMessageTransport Transport)> _members = [];
    private readonly HashSet<int> _stopped = [];

    private UdpTestSwarm(int seed)
    {
        Random = new Random(seed);
    }

    /// <summary>Gets the seeded randomness shared by the swarm and the test (IDs, targets, pairs).</summary>
    public Random Random { get; }

    /// <summary>Gets the nodes, index 0 = the bootstrap contact; stopped nodes stay at their index.</summary>
    public IReadOnlyList<KademliaNode> Nodes => _members.Select(m => m.Node).ToList();

    /// <summary>Gets the UDP transport of node <paramref name="index"/> (for its system-call counters).</summary>
    /// <param name="index">Node index, 0..count − 1.</param>
    /// <returns>The transport.</returns>
    /// <exception cref="ArgumentOutOfRangeException">No node has that index.</exception>
    public UdpMessageTransport TransportOf(int index) => _members[index].Transport;

    /// <summary>Gets the indices of nodes still running.</summary>
    public IEnumerable<int> Running => Enumerable.Range(0, _members.Count).Where(i => !_stopped.Contains(i));

    /// <summary>Returns options suited to loopback: short initial timeout, no maintenance during a test.</summary>
    public static KademliaOptions LoopbackOptions() => new()
    {
        RpcTimeoutInitial = TimeSpan.FromMilliseconds(500),
        RpcTimeoutMin = TimeSpan.FromMilliseconds(100),
        MaintenanceInterval = TimeSpan.FromHours(1),
    };

    /// <summary>
    /// Starts <paramref name="count"/> nodes and joins them: node 0 first, then the rest through node 0 in batches of
    /// <paramref name="joinConcurrency"/> concurrent bootstraps.
    /// </summary>
    /// <param name="count">Nodes, at least 1.</param>
    /// <param name="seed">Seed of the identities and of <see cref="Random"/>.</param>
    /// <param name="options">Options of every node; null = <see cref="LoopbackOptions"/>.</param>
    /// <param name="timeProvider">Clock of every node; null = the system clock.</param>
    /// <param name="joinConcurrency">Bootstraps run at once.</param>
    /// <param name="cancellationToken">Bounds the join.</param>
    /// <returns>The joined swarm.</returns>
    public static async Task<UdpTestSwarm> StartAsync(int count, int seed, KademliaOptions? options = null, TimeProvider? timeProvider = null, int joinConcurrency = 16, CancellationToken cancellationToken = default)
    {
        var swarm = new UdpTestSwarm(seed);
        try
        {
            for (var i = 0; i < count; i++)
            {
                swarm.AddNode(options ?? LoopbackOptions(), timeProvider ?? TimeProvider.System);
            }

            var bootstrap = new[] { swarm._members[0].Node.LocalContact.EndPoint };
            for (var start = 1; start < count; start += joinConcurrency)
            {
                var batch = Enumerable.Range(start, Math.Min(joinConcurrency, count - start))
                    .Select(i => swarm._members[i].Node.BootstrapAsync(bootstrap, cancellationToken));
                var results = await Task.WhenAll(batch).ConfigureAwait(false);
                if (results.Any(r => r.ContactsReached == 0))
                {
                    throw new InvalidOperationException($"A node of batch {start}.. could not reach the bootstrap node.");
                }
            }

            return swarm;
        }
        catch
        {
            await swarm.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Returns the IDs of the running nodes closest to <paramref name="target"/>, by brute force over all of them.</summary>
    /// <param name="target">The key.</param>
    /// <param name="count">How many.</param>
    /// <returns>At most <paramref name="count"/> IDs, ascending XOR distance.</returns>
    public List<NodeId> TrueClosest(NodeId target, int count) =>
        Running.Select(i => _members[i].Node.Id).OrderBy(id => id.DistanceTo(target)).Take(count).ToList();

    /// <summary>Stops node <paramref name="index"/> and closes its socket; its index stays taken.</summary>
    /// <param name="index">The node.</param>
    /// <returns>A task that completes when it is stopped.</returns>
    public async Task StopAsync(int index)
    {
        if (_stopped.Add(index))
        {
            await _members[index].Node.DisposeAsync().ConfigureAwait(false);
            await _members[index].Transport.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < _members.Count; i++)
        {
            await StopAsync(i).ConfigureAwait(false);
        }
    }

    private void AddNode(KademliaOptions options, TimeProvider timeProvider)
    {
        var seed = new byte[32];
        Random.NextBytes(seed);
        var identity = NodeIdentity.FromSeed(seed);
        var transport = UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), options.ReceiveBufferBytes);
        var node = new KademliaNode(identity, transport, options, timeProvider, NullLoggerFactory.Instance, new Random(Random.Next()));
        node.Start();
        _members.Add((node, transport));
    }
}
