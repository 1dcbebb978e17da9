using System.Net;
using Microsoft.Extensions.Logging;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// A node's upkeep: joining (bootstrap), the maintenance tick every <see cref="KademliaOptions.MaintenanceInterval"/>
/// (expiry, self-lookup, refresh of stale buckets, republish of our records and re-announcement of our provided keys,
/// replication of held records, paper §2.3 and §2.5), and what this node publishes, kept in the
/// <see cref="IPublicationStore"/> across restarts.
/// </summary>
/// <remarks>
/// Thread-safe: the maintenance loop is one task per node; publications are read and written under the node's lock,
/// and saves are serialised so the store never goes back to an older state.
/// </remarks>
internal sealed class MaintenanceJobs
{
    private readonly NodeContext _node;
    private readonly RpcClient _rpc;
    private readonly LookupRunner _lookups;
    private readonly IPublicationStore? _publicationStore;
    private readonly object _saveGate = new();
    private long _lastReplication;
    private long _lastSelfLookup;

    /// <summary>Creates the jobs; nothing runs until <see cref="Initialize"/> and <see cref="RunAsync"/>.</summary>
    /// <param name="node">The node's shared state.</param>
    /// <param name="rpc">Sends the bootstrap PINGs.</param>
    /// <param name="lookups">Runs the refresh lookups and the (re)publishing writes.</param>
    /// <param name="publications">Keeps publications across restarts; null keeps them in memory only.</param>
    public MaintenanceJobs(NodeContext node, RpcClient rpc, LookupRunner lookups, IPublicationStore? publications)
    {
        _node = node;
        _rpc = rpc;
        _lookups = lookups;
        _publicationStore = publications;
    }

    /// <summary>Starts the replication and self-lookup clocks now and loads the publication store (on <see cref="KademliaNode.Start"/>).</summary>
    public void Initialize()
    {
        _lastReplication = _node.Time.GetTimestamp();
        _lastSelfLookup = _lastReplication;
        RestorePublications();
    }

    /// <summary>
    /// Joins the swarm: PINGs every bootstrap contact, then looks up this node's own ID, refreshes every bucket and
    /// announces restored publications; the facade's <see cref="KademliaNode.BootstrapAsync"/>.
    /// </summary>
    /// <param name="contacts">Bootstrap endpoints; this node's own endpoint is skipped.</param>
    /// <param name="cancellationToken">Cancels the join.</param>
    /// <returns>How many contacts answered and the routing table's size afterwards.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="contacts"/> is null (in the returned task).</exception>
    public async Task<BootstrapResult> BootstrapAsync(IReadOnlyList<IPEndPoint> contacts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        var pings = contacts
            .Select(WireCodec.Normalize)
            .Where(c => !c.Equals(_node.LocalContact.EndPoint))
            .Distinct()
            .Select(c => _rpc.PingAsync(c, cancellationToken))
            .ToList();
        var results = await Task.WhenAll(pings).ConfigureAwait(false);
        var reached = results.Count(r => r.Success);
        if (reached > 0)
        {
            await SelfLookupAsync(cancellationToken).ConfigureAwait(false);
            await RefreshAsync(force: true, cancellationToken).ConfigureAwait(false);
            await AnnounceRestoredAsync(cancellationToken).ConfigureAwait(false);
        }

        int size;
        lock (_node.Gate)
        {
            size = _node.Table.Count;
        }

        NodeLog.Bootstrapped(_node.Logger, reached, pings.Count, size);
        return new BootstrapResult(reached, size);
    }

    /// <summary>Schedules <paramref name="record"/> for republishing from now on, replacing any earlier record under its key, and saves the publications.</summary>
    /// <param name="record">A verified record this node puts.</param>
    public void Publish(DhtRecord record)
    {
        lock (_node.Gate)
        {
            _node.Published[record.Key] = new Publication(record, _node.Time.GetTimestamp());
        }

        SavePublications();
    }

    /// <summary>Schedules <paramref name="key"/> for re-announcement from now on; saves the publications when the key is new.</summary>
    /// <param name="key">A content key this node provides.</param>
    public void Provide(NodeId key)
    {
        bool added;
        lock (_node.Gate)
        {
            added = !_node.Provided.ContainsKey(key);
            _node.Provided[key] = new Publication(null, _node.Time.GetTimestamp());
        }

        if (added)
        {
            SavePublications();
        }
    }

    /// <summary>
    /// Runs the maintenance loop until <paramref name="cancellationToken"/> is cancelled: one round every
    /// <see cref="KademliaOptions.MaintenanceInterval"/>; a round that fails is logged and the next one runs.
    /// </summary>
    /// <param name="cancellationToken">Ends the loop (the node's shutdown).</param>
    /// <returns>A task that completes when the loop ends.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // A delay loop rather than PeriodicTimer: PeriodicTimer resumes its waiter asynchronously on the thread pool,
        // which would take a simulation's maintenance off its single thread.
        try
        {
            while (true)
            {
                await Delays.DelayAsync(_node.Time, _node.Options.MaintenanceInterval, cancellationToken).ConfigureAwait(false);
                try
                {
                    await MaintainAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One failed round (a bug, or an I/O fault in a transport) must not end maintenance for good.
                    NodeLog.MaintenanceFailed(_node.Logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    /// <summary>One maintenance round: expiry, self-lookup, bucket refresh, republish of our records and provider records, replication.</summary>
    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        var nowUtc = _node.Time.GetUtcNow();
        var now = _node.Time.GetTimestamp();
        List<DhtRecord> republish;
        List<NodeId> reprovide;
        List<DhtRecord> replicate = [];
        var expiredPublications = false;
        lock (_node.Gate)
        {
            _node.Records.Expire(nowUtc);
            _node.Providers.Expire(nowUtc);
            foreach (var key in _node.Published.Where(p => p.Value.Record!.Expires <= nowUtc).Select(p => p.Key).ToList())
            {
                _node.Published.Remove(key);
                expiredPublications = true;
            }

            republish = Due(_node.Published, now).Select(p => p.Record!).ToList();
            reprovide = Due(_node.Provided, now).Select(p => p.Key).ToList();
            if (_node.Time.GetElapsedTime(_lastReplication) >= _node.Options.ReplicationInterval)
            {
                _lastReplication = now;

                // Paper §2.5: a record re-stored here within the interval was just replicated by another holder, so
                // this node skips it; in steady state about one holder per record replicates each interval.
                replicate = _node.Records.Snapshot()
                    .Where(r => !_node.Published.ContainsKey(r.Key)
                        && (!_node.LastStoredHere.TryGetValue(r.Key, out var at) || _node.Time.GetElapsedTime(at, now) >= _node.Options.ReplicationInterval))
                    .ToList();
                foreach (var key in _node.LastStoredHere.Keys.Where(k => _node.Records.Get(k, nowUtc) is null).ToList())
                {
                    _node.LastStoredHere.Remove(key);
                }
            }
        }

        if (expiredPublications)
        {
            SavePublications();
        }

        if (_node.Time.GetElapsedTime(Interlocked.Read(ref _lastSelfLookup)) >= _node.Options.SelfLookupInterval)
        {
            await SelfLookupAsync(cancellationToken).ConfigureAwait(false);
        }

        await RefreshAsync(force: false, cancellationToken).ConfigureAwait(false);
        foreach (var record in republish.Concat(replicate))
        {
            await _lookups.StoreOnClosestAsync(record, cancellationToken).ConfigureAwait(false);
        }

        foreach (var key in reprovide)
        {
            await _lookups.AnnounceProviderAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Returns the publications due for republishing and marks them published now; caller holds the lock. Restored
    /// ones are due at once, but only while the routing table has contacts (announcing to nobody would mark them done).
    /// </summary>
    private List<(NodeId Key, DhtRecord? Record)> Due(Dictionary<NodeId, Publication> publications, long now)
    {
        var due = new List<(NodeId, DhtRecord?)>();
        foreach (var (key, publication) in publications.ToList())
        {
            if (publication.Restored ? _node.Table.Count > 0 : _node.Time.GetElapsedTime(publication.LastPublished, now) >= _node.Options.RepublishInterval)
            {
                publications[key] = publication with { LastPublished = now, Restored = false };
                due.Add((key, publication.Record));
            }
        }

        return due;
    }

    /// <summary>Loads what the publication store holds (on start): live records and provided keys, due for announcement once the node has contacts.</summary>
    private void RestorePublications()
    {
        if (_publicationStore is null)
        {
            return;
        }

        PublishedState state;
        try
        {
            state = _publicationStore.Load();
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            NodeLog.PublicationsUnreadable(_node.Logger, ex.Message);
            return;
        }

        var now = _node.Time.GetTimestamp();
        var nowUtc = _node.Time.GetUtcNow();
        var restoredRecords = 0;
        lock (_node.Gate)
        {
            foreach (var record in state.Records)
            {
                if (record.Expires > nowUtc && record.Verify(_node.Options.MaxValueBytes) == RecordCheck.Valid)
                {
                    _node.Published[record.Key] = new Publication(record, now, Restored: true);
                    restoredRecords++;
                }
            }

            foreach (var key in state.ProvidedKeys)
            {
                _node.Provided[key] = new Publication(null, now, Restored: true);
            }
        }

        NodeLog.PublicationsRestored(_node.Logger, restoredRecords, state.ProvidedKeys.Count);
    }

    /// <summary>Announces restored publications now (after a successful bootstrap) instead of at the next maintenance tick.</summary>
    private async Task AnnounceRestoredAsync(CancellationToken cancellationToken)
    {
        List<DhtRecord> records;
        List<NodeId> keys;
        lock (_node.Gate)
        {
            if (_node.Table.Count == 0)
            {
                return;
            }

            var now = _node.Time.GetTimestamp();
            records = _node.Published.Where(p => p.Value.Restored).Select(p => p.Value.Record!).ToList();
            keys = _node.Provided.Where(p => p.Value.Restored).Select(p => p.Key).ToList();
            foreach (var record in records)
            {
                _node.Published[record.Key] = _node.Published[record.Key] with { LastPublished = now, Restored = false };
            }

            foreach (var key in keys)
            {
                _node.Provided[key] = _node.Provided[key] with { LastPublished = now, Restored = false };
            }
        }

        foreach (var record in records)
        {
            await _lookups.StoreOnClosestAsync(record, cancellationToken).ConfigureAwait(false);
        }

        foreach (var key in keys)
        {
            await _lookups.AnnounceProviderAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes what this node publishes to the publication store; a failure is logged, never thrown (the node keeps it in memory).</summary>
    private void SavePublications()
    {
        if (_publicationStore is null)
        {
            return;
        }

        // One save at a time, each of the state when it starts, so the file never goes back to an older state.
        lock (_saveGate)
        {
            PublishedState state;
            lock (_node.Gate)
            {
                state = new PublishedState(
                    _node.Published.Values.Select(p => p.Record!).ToList(),
                    _node.Provided.Keys.ToList());
            }

            try
            {
                _publicationStore.Save(state);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                NodeLog.PublicationsUnwritable(_node.Logger, ex.Message);
            }
        }
    }

    /// <summary>Looks up this node's own ID, so nodes that joined near it learn of it; restarts the self-lookup clock.</summary>
    private Task<LookupResult> SelfLookupAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lastSelfLookup, _node.Time.GetTimestamp());
        return _lookups.FindNodeAsync(_node.Id, cancellationToken);
    }

    /// <summary>Looks up a random ID in every bucket not looked up within the refresh interval (all of them when <paramref name="force"/>).</summary>
    private async Task RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        List<int> stale;
        lock (_node.Gate)
        {
            var staleBefore = force ? long.MaxValue : _node.Time.GetTimestamp() - (long)(_node.Options.BucketRefreshInterval.TotalSeconds * _node.Time.TimestampFrequency);
            stale = _node.Table.StaleBuckets(staleBefore);
        }

        var random = _node.Random;
        foreach (var index in stale)
        {
            NodeId target;
            lock (random)
            {
                target = _node.Id.RandomInBucket(index, random);
            }

            await _lookups.FindNodeAsync(target, cancellationToken).ConfigureAwait(false);
        }
    }
}
