using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// What the parts of one <see cref="KademliaNode"/> share (<see cref="RpcClient"/>, <see cref="RequestHandler"/>,
/// <see cref="LookupRunner"/>, <see cref="MaintenanceJobs"/>): the node's wire identity, transport, options, clock,
/// randomness and logger; the routing table and stores with the one lock that guards them; what this node publishes;
/// and shutdown with the background work to wait for. Built once by the node; no reference changes afterwards.
/// </summary>
/// <remarks>
/// Thread-safe as the node is: the collections marked "guarded by <see cref="Gate"/>" are touched only under that lock,
/// held for short sections that never block or await; the rest is immutable or concurrent.
/// </remarks>
internal sealed class NodeContext
{
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private int _disposed;

    /// <summary>Creates the shared state of a node: an empty routing table and empty stores sized by <paramref name="options"/>.</summary>
    /// <param name="identity">The node's key pair.</param>
    /// <param name="transport">The datagram transport.</param>
    /// <param name="options">Validated options.</param>
    /// <param name="time">The node's clock.</param>
    /// <param name="logger">The node's logger (category <see cref="KademliaNode"/>).</param>
    /// <param name="random">The node's seeded randomness; draws are made under a lock on it.</param>
    public NodeContext(NodeIdentity identity, IMessageTransport transport, KademliaOptions options, TimeProvider time, ILogger logger, Random random)
    {
        Id = identity.Id;
        Identity = identity;
        PeerTokens = new PeerAddressTokens(time.TimestampFrequency);
        Transport = transport;
        Options = options;
        Time = time;
        Logger = logger;
        Random = random;
        LocalContact = new NodeContact(identity.Id, WireCodec.Normalize(transport.LocalEndPoint));
        SenderId = WireCodec.ToBytes(identity.Id);
        Table = new RoutingTable(identity.Id, options.BucketSize, DiversityLimits.From(options));
        Records = new RecordStore(options.MaxRecords);
        Providers = new ProviderStore(options.MaxProviderKeys, options.MaxProvidersPerKey);
    }

    /// <summary>Gets the node ID.</summary>
    public NodeId Id { get; }

    /// <summary>Gets the node's key pair: it signs identity proofs (<see cref="IdentityProof"/>).</summary>
    public NodeIdentity Identity { get; }

    /// <summary>Gets the address tokens other nodes handed this node, echoed in our requests (thread-safe).</summary>
    public PeerAddressTokens PeerTokens { get; }

    /// <summary>Gets this node as others should know it: its ID and the transport's local endpoint (normalized).</summary>
    public NodeContact LocalContact { get; }

    /// <summary>Gets this node's 32-byte ID as the sender_id of every envelope it writes; built once, never mutated.</summary>
    public ByteString SenderId { get; }

    /// <summary>Gets the datagram transport (not owned).</summary>
    public IMessageTransport Transport { get; }

    /// <summary>Gets the node's validated options.</summary>
    public KademliaOptions Options { get; }

    /// <summary>Gets the node's clock: monotonic timestamps for round trips and ages, UTC for record expiry.</summary>
    public TimeProvider Time { get; }

    /// <summary>Gets the node's logger (EventIds 1020-1099, <see cref="NodeLog"/>).</summary>
    public ILogger Logger { get; }

    /// <summary>Gets the node's randomness (transaction ids, refresh targets); lock on it around each draw, so the draws of a seeded run come in one order.</summary>
    public Random Random { get; }

    /// <summary>Gets the lock guarding the routing table, the stores and the publication maps.</summary>
    public object Gate { get; } = new();

    /// <summary>Gets the routing table; guarded by <see cref="Gate"/>.</summary>
    public RoutingTable Table { get; }

    /// <summary>Gets the records this node holds for others; guarded by <see cref="Gate"/>.</summary>
    public RecordStore Records { get; }

    /// <summary>Gets the provider records this node holds for others; guarded by <see cref="Gate"/>.</summary>
    public ProviderStore Providers { get; }

    /// <summary>Gets the records this node put, by key, republished until they expire; guarded by <see cref="Gate"/>.</summary>
    public Dictionary<NodeId, Publication> Published { get; } = [];

    /// <summary>Gets the keys this node provides (<see cref="Publication.Record"/> null), re-announced until it stops; guarded by <see cref="Gate"/>.</summary>
    public Dictionary<NodeId, Publication> Provided { get; } = [];

    /// <summary>Gets when each held record was last stored here by another node (monotonic timestamp), so replication skips it (paper §2.5); guarded by <see cref="Gate"/>.</summary>
    public Dictionary<NodeId, long> LastStoredHere { get; } = [];

    /// <summary>Gets the source cancelled when the node is disposed; it cancels background work and maintenance.</summary>
    public CancellationTokenSource Shutdown { get; } = new();

    /// <summary>Gets whether the node was disposed; requests are then not sent and datagrams are dropped.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Marks the node disposed.</summary>
    /// <returns>True for the first call, false for every later one.</returns>
    public bool TryMarkDisposed() => Interlocked.Exchange(ref _disposed, 1) == 0;

    /// <summary>Returns our own published record for <paramref name="key"/> while it lives, else null; caller holds <see cref="Gate"/>.</summary>
    /// <param name="key">The record key.</param>
    public DhtRecord? LivePublished(NodeId key) =>
        Published.TryGetValue(key, out var publication) && publication.Record!.Expires > Time.GetUtcNow() ? publication.Record : null;

    /// <summary>Encodes <paramref name="envelope"/> into a stack buffer and sends it as one datagram.</summary>
    /// <param name="remote">The destination.</param>
    /// <param name="envelope">A complete envelope (version, transaction id, sender id set).</param>
    /// <param name="size">Its encoded size, at most <see cref="KademliaOptions.MaxDatagramBytes"/> (Google.Protobuf does not cache sizes, so the caller passes the one it computed).</param>
    public void Send(IPEndPoint remote, Envelope envelope, int size)
    {
        Span<byte> buffer = stackalloc byte[KademliaOptions.MaxDatagramBytes];
        Debug.Assert(size <= buffer.Length, "envelopes are fitted to one datagram before sending");
        envelope.WriteTo(buffer[..size]);
        Transport.Send(remote, buffer[..size]);
    }

    /// <summary>
    /// Starts <paramref name="work"/> in the background (see <see cref="Spawn"/>) unless the node is disposed; shutdown
    /// cancellation ends it quietly, any other exception is logged. Disposal waits for it.
    /// </summary>
    /// <param name="work">The work; it should observe <see cref="Shutdown"/>.</param>
    public void RunInBackground(Func<Task> work)
    {
        if (IsDisposed)
        {
            return;
        }

        var task = Spawn(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (Shutdown.IsCancellationRequested)
            {
                // Shutdown.
            }
            catch (Exception ex)
            {
                NodeLog.MaintenanceFailed(Logger, ex);
            }
        });
        _background.TryAdd(task, 0);
        task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _background, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Returns the background work still running (a snapshot).</summary>
    /// <returns>A new list.</returns>
    public List<Task> BackgroundTasks() => _background.Keys.ToList();

    /// <summary>
    /// Starts <paramref name="work"/> from a zero-delay timer of the node's <see cref="TimeProvider"/>: on the thread
    /// pool with the system clock, and as an event on the simulation's thread in a simulation, so that a simulated run
    /// never leaves its thread and repeats exactly.
    /// </summary>
    /// <param name="work">The work to start.</param>
    /// <returns>A task that completes with the work.</returns>
    public Task Spawn(Func<Task> work)
    {
        var started = new TaskCompletionSource<Task>();
        var state = new SpawnState(work, started);
        state.Timer = Time.CreateTimer(
            static s =>
            {
                var spawn = (SpawnState)s!;
                spawn.Timer?.Dispose();
                try
                {
                    spawn.Started.TrySetResult(spawn.Work());
                }
                catch (Exception ex)
                {
                    spawn.Started.TrySetException(ex);
                }
            },
            state,
            TimeSpan.Zero,
            Timeout.InfiniteTimeSpan);
        return started.Task.Unwrap();
    }

    /// <summary>Work to start from a timer; holds the timer so that it is not collected before it fires.</summary>
    private sealed class SpawnState(Func<Task> work, TaskCompletionSource<Task> started)
    {
        /// <summary>Gets the work to start.</summary>
        public Func<Task> Work { get; } = work;

        /// <summary>Gets the completion that receives the started work's task.</summary>
        public TaskCompletionSource<Task> Started { get; } = started;

        /// <summary>Gets or sets the timer that starts the work.</summary>
        public ITimer? Timer { get; set; }
    }
}
