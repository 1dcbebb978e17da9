using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Transport.Connections.Internal;

namespace Overlay.Transport.Connections;

/// <summary>
/// Keeps this node's sessions with peers, one per peer, over UDP or TCP: dials with a race of paths
/// (<see cref="ConnectAsync"/>, RFC 8305 style), takes sessions that peers establish (<see cref="AddInbound"/>), hands
/// the streams peers open to per-protocol listeners (<see cref="Listen"/>), closes idle connections, enforces limits in
/// total and per IP, and reports connected / path changed / lost / closed events (<see cref="WatchAsync"/> and the log).
/// </summary>
/// <remarks>
/// One connection per peer: when sessions in both directions exist at once (simultaneous dials), both nodes keep the one
/// dialled by the lower node ID and close the other ("duplicate"), so they agree without a message. A second session
/// dialled by the same side replaces the first for new streams (a restarted peer's new session); the old one ends on
/// its own (idle, lost or closed by its initiator). Thread-safe.
/// </remarks>
public sealed partial class ConnectionManager : IAsyncDisposable
{
    private readonly NodeId _localId;
    private readonly ConnectionManagerOptions _options;
    private readonly IReadOnlyList<ILinkDialer> _dialers;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Dictionary<NodeId, List<SessionConnection>> _byPeer = [];
    private readonly Dictionary<NodeId, SessionConnection> _primary = [];
    private readonly Dictionary<IPEndPoint, int> _inboundPerIp = [];
    private readonly ConcurrentDictionary<Channel<ConnectionEvent>, byte> _watchers = new();
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly CancellationTokenSource _shutdown = new();
    private ITimer? _maintenance;
    private int _count;
    private int _disposed;

    /// <summary>Creates a manager; <see cref="Start"/> begins its maintenance.</summary>
    /// <param name="localId">This node's ID (the tie-breaker of simultaneous dials).</param>
    /// <param name="options">Limits and timers; validated here.</param>
    /// <param name="dialers">The paths to dial, in order of preference (UDP, then TCP); may be empty for a node that only accepts.</param>
    /// <param name="timeProvider">The clock of timers, events and idle times.</param>
    /// <param name="loggerFactory">Loggers; none when null.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message lists every problem.</exception>
    public ConnectionManager(NodeId localId, ConnectionManagerOptions options, IReadOnlyList<ILinkDialer> dialers, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dialers);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var invalid = options.Validate();
        if (invalid.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", invalid), nameof(options));
        }

        _localId = localId;
        _options = options;
        _dialers = dialers;
        _time = timeProvider;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<ConnectionManager>();
    }

    /// <summary>Gets this node's ID.</summary>
    public NodeId LocalId => _localId;

    /// <summary>Gets a snapshot of every live connection (a peer may briefly have two, see the remarks).</summary>
    public IReadOnlyList<IConnection> Connections
    {
        get
        {
            lock (_gate)
            {
                return _byPeer.Values.SelectMany(list => list).ToArray();
            }
        }
    }

    /// <summary>Gets the number of live connections.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Starts the maintenance timer (idle close, address changes) on the manager's clock. Call once.</summary>
    public void Start() =>
        _maintenance ??= _time.CreateTimer(_ => Maintain(), null, _options.MaintenanceInterval, _options.MaintenanceInterval);

    /// <summary>Returns the connection new streams to <paramref name="peer"/> use, if one is live.</summary>
    /// <param name="peer">The peer's node ID.</param>
    /// <returns>The connection, or null.</returns>
    public IConnection? Find(NodeId peer)
    {
        lock (_gate)
        {
            return _primary.GetValueOrDefault(peer);
        }
    }

    /// <summary>
    /// Takes a session a peer established with this node (the UDP endpoint's or the TCP listener's responder side) or a
    /// dial produced. Refuses it (disposing the link) when the manager is full, the peer's IP has
    /// <see cref="ConnectionManagerOptions.MaxConnectionsPerIp"/> inbound connections, or a simultaneous dial's rule
    /// keeps the other session.
    /// </summary>
    /// <param name="link">The session; owned by the manager from now on.</param>
    /// <returns>The connection, or null when refused.</returns>
    public IConnection? AddInbound(EstablishedLink link) => Register(link);

    /// <summary>Streams of every event from now on, until <paramref name="cancellationToken"/> is cancelled or the
    /// manager is disposed. A slow reader loses the oldest events beyond
    /// <see cref="ConnectionManagerOptions.EventQueueCapacity"/>, never blocks the manager.</summary>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The events, in order.</returns>
    public async IAsyncEnumerable<ConnectionEvent> WatchAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<ConnectionEvent>(new BoundedChannelOptions(_options.EventQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        _watchers.TryAdd(channel, 0);
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                yield break;
            }

            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            _watchers.TryRemove(channel, out _);
        }
    }

    /// <summary>Closes every connection ("shutting down"), stops the listeners and the maintenance, and ends the event
    /// streams. Idempotent.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _maintenance?.Dispose();
        await _shutdown.CancelAsync().ConfigureAwait(false);
        SessionConnection[] all;
        lock (_gate)
        {
            all = _byPeer.Values.SelectMany(list => list).ToArray();
        }

        await Task.WhenAll(all.Select(c => c.DisposeAsync("shutting down").AsTask())).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_background.Keys).WaitAsync(TimeSpan.FromSeconds(10), _time).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Accept loops and late dials end with the connections; one that does not within the bound is abandoned.
        }

        foreach (var listener in _listeners.Values)
        {
            listener.Complete();
        }

        foreach (var watcher in _watchers.Keys)
        {
            watcher.Writer.TryComplete();
        }

        _shutdown.Dispose();
    }

    private SessionConnection? Register(EstablishedLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        var connection = new SessionConnection(link, _time, _loggerFactory.CreateLogger<SessionConnection>());
        string? refusal = null;
        SessionConnection? displaced = null;
        lock (_gate)
        {
            var ip = SourceKey(link.Remote);
            if (Volatile.Read(ref _disposed) != 0)
            {
                refusal = "shutdown";
            }
            else if (_count >= _options.MaxConnections)
            {
                refusal = "limit";
            }
            else if (!link.IsInitiator && _inboundPerIp.GetValueOrDefault(ip) >= _options.MaxConnectionsPerIp)
            {
                refusal = "ip-limit";
            }
            else
            {
                var existing = _byPeer.GetValueOrDefault(link.RemoteId);
                var mine = connection.InitiatorId(_localId);
                var other = existing?.FirstOrDefault(c => c.InitiatorId(_localId) != mine);
                if (other is not null && other.InitiatorId(_localId).CompareTo(mine) < 0)
                {
                    refusal = "duplicate";
                }
                else
                {
                    displaced = other;
                    if (existing is null)
                    {
                        _byPeer[link.RemoteId] = existing = [];
                    }

                    existing.Add(connection);
                    _primary[link.RemoteId] = connection;
                    _count++;
                    if (!link.IsInitiator)
                    {
                        _inboundPerIp[ip] = _inboundPerIp.GetValueOrDefault(ip) + 1;
                    }
                }
            }
        }

        if (refusal is not null)
        {
            ConnectionMetrics.Refused.Add(1, new KeyValuePair<string, object?>("reason", refusal));
            ConnectionLog.Refused(_logger, link.Path, link.RemoteId.ToShortString(), link.Remote, refusal);
            Track(RefuseAsync(connection, refusal));
            return null;
        }

        var direction = link.IsInitiator ? "outbound" : "inbound";
        ConnectionMetrics.Established.Add(1, new("path", link.Path), new("direction", direction));
        ConnectionMetrics.HandshakeDuration.Record(link.HandshakeTime.TotalMilliseconds, new KeyValuePair<string, object?>("path", link.Path));
        ConnectionLog.Connected(_logger, link.RemoteId.ToShortString(), link.Remote, link.Path, direction, link.HandshakeTime.TotalMilliseconds);
        Track(connection.Start(OnEnded));
        Publish(new ConnectionEvent(ConnectionEventKind.Connected, link.RemoteId, link.Path, link.Remote, "", connection.EstablishedAt));
        Track(AcceptStreamsAsync(connection));
        if (displaced is not null)
        {
            Track(displaced.CloseAsync("duplicate: simultaneous dials, kept the session dialled by the lower node ID").AsTask());
        }

        return connection;
    }

    private async Task RefuseAsync(SessionConnection connection, string reason)
    {
        // Started so that the peer hears a close with the reason rather than silence.
        connection.Mux.Start();
        await connection.CloseAsync(reason == "duplicate" ? "duplicate: simultaneous dials, kept the session dialled by the lower node ID" : $"refused: {reason}").ConfigureAwait(false);
        await connection.DisposeAsync(reason).ConfigureAwait(false);
    }

    private void OnEnded(SessionConnection connection, ConnectionEvent ended)
    {
        lock (_gate)
        {
            if (_byPeer.TryGetValue(connection.RemoteId, out var list) && list.Remove(connection))
            {
                _count--;
                if (!connection.IsInitiator)
                {
                    var ip = SourceKey(connection.InitialRemote);
                    var left = _inboundPerIp.GetValueOrDefault(ip) - 1;
                    if (left <= 0)
                    {
                        _inboundPerIp.Remove(ip);
                    }
                    else
                    {
                        _inboundPerIp[ip] = left;
                    }
                }

                if (list.Count == 0)
                {
                    _byPeer.Remove(connection.RemoteId);
                    _primary.Remove(connection.RemoteId);
                }
                else if (_primary.GetValueOrDefault(connection.RemoteId) == connection)
                {
                    _primary[connection.RemoteId] = list[^1];
                }
            }
        }

        ConnectionMetrics.Ended.Add(1, new("path", connection.Path), new("kind", ended.Kind));
        if (ended.Kind == ConnectionEventKind.Lost)
        {
            ConnectionLog.Lost(_logger, ended.Peer.ToShortString(), ended.Remote, ended.Path, ended.Reason);
        }
        else
        {
            ConnectionLog.Closed(_logger, ended.Peer.ToShortString(), ended.Remote, ended.Path, ended.Reason);
        }

        Publish(ended);
        Track(connection.DisposeAsync(ended.Reason).AsTask());
    }

    private void Maintain()
    {
        try
        {
            SessionConnection[] all;
            lock (_gate)
            {
                all = _byPeer.Values.SelectMany(list => list).ToArray();
            }

            var now = _time.GetTimestamp();
            foreach (var connection in all)
            {
                var remote = connection.RemoteEndPoint;
                if (!remote.Equals(connection.ReportedRemote))
                {
                    connection.ReportedRemote = remote;
                    ConnectionLog.PathChanged(_logger, connection.RemoteId.ToShortString(), connection.Path, remote);
                    Publish(new ConnectionEvent(ConnectionEventKind.PathChanged, connection.RemoteId, connection.Path, remote, "", _time.GetUtcNow()));
                }

                if (connection.Statistics.OpenStreams > 0)
                {
                    connection.IdleSince = 0;
                }
                else if (connection.IdleSince == 0)
                {
                    connection.IdleSince = now;
                }
                else if (_options.IdleTimeout > TimeSpan.Zero && _time.GetElapsedTime(connection.IdleSince, now) >= _options.IdleTimeout)
                {
                    connection.IdleSince = long.MaxValue;
                    Track(connection.CloseAsync($"idle for {_options.IdleTimeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s").AsTask());
                }
            }
        }
        catch (Exception ex)
        {
            ConnectionLog.MaintenanceFailed(_logger, ex);
        }
    }

    private void Publish(ConnectionEvent e)
    {
        foreach (var watcher in _watchers.Keys)
        {
            watcher.Writer.TryWrite(e);
        }
    }

    private void Track(Task task)
    {
        if (task.IsCompleted)
        {
            _ = task.Exception;
            return;
        }

        _background.TryAdd(task, 0);
        _ = task.ContinueWith(
            static (t, state) =>
            {
                _ = t.Exception;
                ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _);
            },
            _background,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>What the per-IP limit counts: the IP address (IPv4-mapped IPv6 as IPv4), or for loopback the address and
    /// port, since a local swarm's nodes all share 127.0.0.1 (as Kademlia's request limiter counts sources).</summary>
    /// <param name="remote">The peer's endpoint.</param>
    /// <returns>The key (port 0 unless loopback).</returns>
    internal static IPEndPoint SourceKey(IPEndPoint remote)
    {
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        return new IPEndPoint(address, IPAddress.IsLoopback(address) ? remote.Port : 0);
    }
}
