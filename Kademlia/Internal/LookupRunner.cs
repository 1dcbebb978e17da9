using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// The node's iterative lookups (paper §2.3): one runner driving a <see cref="ClosestPeersIterator"/> with alpha
/// queries in flight, parameterised by what to ask each peer (FIND_NODE, FIND_VALUE, GET_PROVIDERS) and when to stop
/// early (go-libp2p-kad-dht query.go); and the writes that follow a lookup, STORE and ADD_PROVIDER to the k closest
/// nodes with the write tokens they handed out.
/// </summary>
/// <remarks>Thread-safe: any number of lookups run at once; each owns its iterator, and touches the routing table and stores under the node's lock.</remarks>
internal sealed class LookupRunner
{
    private readonly NodeContext _node;
    private readonly RpcClient _rpc;

    /// <summary>Creates the runner.</summary>
    /// <param name="node">The node's shared state.</param>
    /// <param name="rpc">Sends the lookups' queries and the writes.</param>
    public LookupRunner(NodeContext node, RpcClient rpc)
    {
        _node = node;
        _rpc = rpc;
    }

    /// <summary>Runs an iterative FIND_NODE lookup for <paramref name="target"/>; the facade's <see cref="KademliaNode.FindNodeAsync"/>.</summary>
    /// <param name="target">The ID looked up.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>At most k nodes that answered, ascending XOR distance to the target, including this node when it is among them.</returns>
    public Task<LookupResult> FindNodeAsync(NodeId target, CancellationToken cancellationToken) =>
        LookupAsync(target, () => new Envelope { FindNode = new FindNodeRequest { Target = WireCodec.ToBytes(target) } }, null, cancellationToken);

    /// <summary>
    /// Looks up the record stored under <paramref name="key"/>: the local store first for an immutable record, then an
    /// iterative FIND_VALUE lookup; the facade's <see cref="KademliaNode.GetAsync"/>. Every record received is
    /// verified; for a mutable key the highest valid sequence seen during the whole lookup wins (BEP 44).
    /// </summary>
    /// <param name="key">The record key.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The record, or <see cref="GetResult.Record"/> = null when no live, valid record was found.</returns>
    public async Task<GetResult> GetAsync(NodeId key, CancellationToken cancellationToken)
    {
        DhtRecord? best;
        lock (_node.Gate)
        {
            best = _node.Records.Get(key, _node.Time.GetUtcNow()) ?? _node.LivePublished(key);
        }

        if (best is { IsMutable: false })
        {
            return new GetResult(key, best, new LookupResult(key, [_node.LocalContact], 0, 0, 0, TimeSpan.Zero));
        }

        var lookup = await LookupAsync(
            key,
            () => new Envelope { FindValue = new FindValueRequest { Key = WireCodec.ToBytes(key) } },
            response =>
            {
                if (response.Envelope.Value?.Record is not { } wire
                    || WireCodec.FromWire(key, wire, _node.Time.GetUtcNow(), _node.Options.RecordTtl) is not { } record
                    || record.Verify(_node.Options.MaxValueBytes) != RecordCheck.Valid)
                {
                    return false;
                }

                if (best is null || (record.IsMutable && record.Sequence > best.Sequence))
                {
                    best = record;
                }

                return !record.IsMutable;
            },
            cancellationToken).ConfigureAwait(false);
        return new GetResult(key, best, lookup);
    }

    /// <summary>
    /// Finds providers of <paramref name="key"/>: those held locally, then an iterative GET_PROVIDERS lookup that stops
    /// once <paramref name="maxProviders"/> distinct providers are known or the lookup ends; the facade's
    /// <see cref="KademliaNode.GetProvidersAsync"/>.
    /// </summary>
    /// <param name="key">The content key.</param>
    /// <param name="maxProviders">The most providers wanted, 1..1024.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>Distinct providers (never this node), at most <paramref name="maxProviders"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxProviders"/> is outside 1..1024 (in the returned task).</exception>
    public async Task<ProvidersResult> GetProvidersAsync(NodeId key, int maxProviders, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxProviders, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxProviders, 1024);
        var found = new Dictionary<NodeId, ProviderRecord>();
        lock (_node.Gate)
        {
            foreach (var record in _node.Providers.Get(key, maxProviders, _node.Time.GetUtcNow()).Where(r => r.ProviderId != _node.Id))
            {
                found[record.ProviderId] = record;
            }
        }

        if (found.Count >= maxProviders)
        {
            return new ProvidersResult(key, [.. found.Values], new LookupResult(key, [_node.LocalContact], 0, 0, 0, TimeSpan.Zero));
        }

        var lookup = await LookupAsync(
            key,
            () => new Envelope { GetProviders = new GetProvidersRequest { Key = WireCodec.ToBytes(key) } },
            response =>
            {
                var now = _node.Time.GetUtcNow();
                foreach (var provider in response.Envelope.Providers?.Providers ?? [])
                {
                    if (found.Count < maxProviders
                        && NodeId.TryFromBytes(provider.Id.Span, out var providerId)
                        && providerId != _node.Id
                        && WireCodec.TryEndPoint(provider.Ip, provider.Port, out var endPoint))
                    {
                        var ttl = TimeSpan.FromSeconds(Math.Min(provider.TtlSeconds, _node.Options.RecordTtl.TotalSeconds));
                        found.TryAdd(providerId, new ProviderRecord(key, providerId, WireCodec.Normalize(endPoint), now + ttl));
                    }
                }

                return found.Count >= maxProviders;
            },
            cancellationToken).ConfigureAwait(false);
        return new ProvidersResult(key, [.. found.Values], lookup);
    }

    /// <summary>Stores <paramref name="record"/> on the k closest nodes to its key, and here when this node is among them (its TTL capped at <see cref="KademliaOptions.RecordTtl"/>).</summary>
    /// <param name="record">A verified record.</param>
    /// <param name="cancellationToken">Cancels the lookup and the writes.</param>
    /// <returns>How many nodes accepted it and why the others refused.</returns>
    public Task<PutResult> StoreOnClosestAsync(DhtRecord record, CancellationToken cancellationToken) =>
        WriteToClosestAsync(
            record.Key,
            now => _node.Records.Put(record.WithExpiry(Min(record.Expires, now + _node.Options.RecordTtl)), now),
            token => new Envelope
            {
                Store = new StoreRequest { Key = WireCodec.ToBytes(record.Key), Record = WireCodec.ToWire(record, _node.Time.GetUtcNow()), Token = token },
            },
            cancellationToken);

    /// <summary>Announces this node as a provider of <paramref name="key"/> (ADD_PROVIDER, TTL <see cref="KademliaOptions.RecordTtl"/>) on the k closest nodes, and here when this node is among them.</summary>
    /// <param name="key">The content key.</param>
    /// <param name="cancellationToken">Cancels the lookup and the writes.</param>
    /// <returns>How many nodes accepted the provider record.</returns>
    public Task<PutResult> AnnounceProviderAsync(NodeId key, CancellationToken cancellationToken) =>
        WriteToClosestAsync(
            key,
            now => _node.Providers.Add(new ProviderRecord(key, _node.Id, _node.LocalContact.EndPoint, now + _node.Options.RecordTtl), now) ? StoreStatus.Ok : StoreStatus.Full,
            token => new Envelope
            {
                AddProvider = new AddProviderRequest { Key = WireCodec.ToBytes(key), Token = token, TtlSeconds = (uint)_node.Options.RecordTtl.TotalSeconds },
            },
            cancellationToken);

    /// <summary>
    /// The one lookup runner (go-libp2p-kad-dht query.go): <paramref name="query"/> says what to ask each peer,
    /// <paramref name="onAnswer"/> reads each answer and says when to stop early; otherwise the lookup ends when the k
    /// closest peers seen have all answered (<see cref="ClosestPeersIterator"/>). A peer that failed is not asked again. A query that
    /// passes the adaptive RTO (soft timeout) stops counting against alpha, so the lookup asks another peer meanwhile,
    /// but a late answer is still taken; the query is retransmitted (RpcRetries, one RTO apart, same transaction id)
    /// and only then does the peer count as failed (libtorrent's short and long timeouts). One RTO for all peers would
    /// otherwise fail every peer on a long-tailed path, and one lost datagram would drop a peer from the result.
    /// </summary>
    private async Task<LookupResult> LookupAsync(NodeId target, Func<Envelope> query, Func<RpcResponse, bool>? onAnswer, CancellationToken cancellationToken)
    {
        var started = _node.Time.GetTimestamp();
        List<NodeContact> seeds;
        lock (_node.Gate)
        {
            seeds = _node.Table.Closest(target, _node.Options.BucketSize);
            _node.Table.Touch(target, started);
        }

        var iterator = new ClosestPeersIterator(target, _node.Options.BucketSize, _node.Options.Alpha, seeds, _node.LocalContact);

        // Answers, failures and soft timeouts arrive through one channel; its reader resumes on the writer's thread,
        // so a simulation stays on its thread and production pays no extra hop.
        var events = Channel.CreateUnbounded<LookupEvent>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
        var softTimers = new Dictionary<NodeId, ITimer>();
        var outstanding = 0;
        var stop = false;
        try
        {
            while (!stop)
            {
                while (iterator.TryGetNext(out var peer, out _))
                {
                    // The soft timeout (the adaptive RTO) frees the query's slot; the query itself is retransmitted
                    // (RpcRetries, one RTO apart) before the peer counts as failed.
                    var softTimeout = _rpc.CurrentTimeout;
                    outstanding++;
                    softTimers[peer.Id] = _node.Time.CreateTimer(
                        static state =>
                        {
                            var (writer, slow) = ((ChannelWriter<LookupEvent>, NodeContact))state!;
                            writer.TryWrite(new LookupEvent(slow, null, Slow: true));
                        },
                        (events.Writer, peer),
                        softTimeout,
                        Timeout.InfiniteTimeSpan);
                    // The continuation only writes to the channel and cannot fault; the loop reads every outcome.
                    _ = _rpc.RequestAsync(peer.EndPoint, peer.Id, query(), softTimeout, _node.Options.RpcRetries, cancellationToken).ContinueWith(
                        static (task, state) =>
                        {
                            var (writer, queried) = ((ChannelWriter<LookupEvent>, NodeContact))state!;
                            writer.TryWrite(new LookupEvent(queried, task.IsCompletedSuccessfully ? task.Result : null, Slow: false)
                            {
                                NotSent = task.Exception?.InnerException is PendingTableFullException,
                            });
                        },
                        (events.Writer, peer),
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }

                if (outstanding == 0 || iterator.IsFinished)
                {
                    break;
                }

                var next = await events.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                if (next.Slow)
                {
                    iterator.OnSlow(next.Peer.Id);
                    continue;
                }

                outstanding--;
                if (softTimers.Remove(next.Peer.Id, out var softTimer))
                {
                    softTimer.Dispose();
                }

                if (next.Response is null)
                {
                    iterator.OnFailure(next.Peer.Id);
                    if (!next.NotSent)
                    {
                        lock (_node.Gate)
                        {
                            _node.Table.OnFailure(next.Peer.Id);
                        }
                    }

                    continue;
                }

                iterator.OnSuccess(next.Peer.Id, CloserOf(next.Response.Envelope));
                stop = onAnswer?.Invoke(next.Response) ?? false;
            }
        }
        finally
        {
            foreach (var timer in softTimers.Values)
            {
                timer.Dispose();
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var elapsed = _node.Time.GetElapsedTime(started);
        var result = new LookupResult(target, iterator.Result(), iterator.MaxDepth, iterator.Queried, iterator.Failures, elapsed);
        KademliaMetrics.LookupDuration.Record(elapsed.TotalSeconds);
        KademliaMetrics.LookupMessages.Record(result.MessagesSent);
        NodeLog.LookupFinished(_node.Logger, target, elapsed.TotalMilliseconds, result.MessagesSent, result.Rounds, result.Closest.Count);
        return result;
    }

    /// <summary>Returns the closer contacts an answer carries (empty for a body without any).</summary>
    private static List<NodeContact> CloserOf(Envelope envelope)
    {
        var closer = envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.Nodes => envelope.Nodes.Closer,
            Envelope.BodyOneofCase.Value => envelope.Value.Closer,
            Envelope.BodyOneofCase.Providers => envelope.Providers.Closer,
            _ => null,
        };
        return closer is null ? [] : WireCodec.FromContacts(closer);
    }

    /// <summary>Returns the write token an answer carries, or null for a body without one.</summary>
    private static ByteString? TokenOf(Envelope envelope) => envelope.BodyCase switch
    {
        Envelope.BodyOneofCase.Nodes => envelope.Nodes.Token,
        Envelope.BodyOneofCase.Value => envelope.Value.Token,
        Envelope.BodyOneofCase.Providers => envelope.Providers.Token,
        _ => null,
    };

    /// <summary>A FIND_NODE lookup that also collects each answering peer's write token.</summary>
    private async Task<(LookupResult Lookup, Dictionary<NodeId, ByteString> Tokens)> LookupWithTokensAsync(NodeId key, CancellationToken cancellationToken)
    {
        var tokens = new Dictionary<NodeId, ByteString>();
        var lookup = await LookupAsync(
            key,
            () => new Envelope { FindNode = new FindNodeRequest { Target = WireCodec.ToBytes(key), WantToken = true } },
            response =>
            {
                if (TokenOf(response.Envelope) is { Length: > 0 } token)
                {
                    tokens[response.Sender.Id] = token;
                }

                return false;
            },
            cancellationToken).ConfigureAwait(false);
        return (lookup, tokens);
    }

    /// <summary>
    /// Finds the k closest nodes to <paramref name="key"/> with their write tokens, then writes to each: locally with
    /// <paramref name="writeLocal"/> (under the lock) when this node is among them, else with the request that
    /// <paramref name="request"/> builds around the node's token (retransmitted per RpcRetries).
    /// </summary>
    private async Task<PutResult> WriteToClosestAsync(NodeId key, Func<DateTimeOffset, StoreStatus> writeLocal, Func<ByteString, Envelope> request, CancellationToken cancellationToken)
    {
        var (lookup, tokens) = await LookupWithTokensAsync(key, cancellationToken).ConfigureAwait(false);
        var writes = new List<Task<StoreStatus?>>();
        foreach (var peer in lookup.Closest)
        {
            if (peer.Id == _node.Id)
            {
                lock (_node.Gate)
                {
                    writes.Add(Task.FromResult<StoreStatus?>(writeLocal(_node.Time.GetUtcNow())));
                }
            }
            else if (tokens.TryGetValue(peer.Id, out var token))
            {
                writes.Add(WriteAsync(peer, request(token), cancellationToken));
            }
        }

        var statuses = await Task.WhenAll(writes).ConfigureAwait(false);
        var refused = statuses.Where(s => s is { } v && v != StoreStatus.Ok).GroupBy(s => ToRefusal(s!.Value)).ToDictionary(g => g.Key, g => g.Count());
        return new PutResult(key, statuses.Count(s => s == StoreStatus.Ok), refused.Values.Sum(), lookup) { RefusalsByStatus = refused };
    }

    /// <summary>Maps a refusing wire status to its public reason (the wire enum is internal to Kademlia).</summary>
    private static StoreRefusal ToRefusal(StoreStatus status) => status switch
    {
        StoreStatus.BadToken => StoreRefusal.BadToken,
        StoreStatus.BadSignature => StoreRefusal.BadSignature,
        StoreStatus.StaleSequence => StoreRefusal.StaleSequence,
        StoreStatus.Invalid => StoreRefusal.Invalid,
        StoreStatus.Full => StoreRefusal.Full,
        _ => StoreRefusal.Other,
    };

    /// <summary>Sends a STORE or ADD_PROVIDER with retries; the status answered, or null when unanswered.</summary>
    private async Task<StoreStatus?> WriteAsync(NodeContact peer, Envelope request, CancellationToken cancellationToken)
    {
        RpcResponse? response;
        try
        {
            response = await _rpc.RequestWithRetriesAsync(peer.EndPoint, peer.Id, request, cancellationToken).ConfigureAwait(false);
        }
        catch (PendingTableFullException)
        {
            return null;
        }

        return response?.Envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.Stored => response.Envelope.Stored.Status,
            Envelope.BodyOneofCase.ProviderAdded => response.Envelope.ProviderAdded.Status,
            _ => null,
        };
    }

    /// <summary>Returns the earlier of two instants.</summary>
    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>One event of a lookup: a query answered (Response set) or failed (null), or passed its soft timeout.</summary>
    private readonly record struct LookupEvent(NodeContact Peer, RpcResponse? Response, bool Slow)
    {
        /// <summary>Gets whether the query failed because it was never sent (pending table full): not the peer's fault.</summary>
        public bool NotSent { get; init; }
    }
}
