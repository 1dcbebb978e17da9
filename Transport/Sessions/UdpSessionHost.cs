using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Transport.Sessions.Internal;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Sessions;

/// <summary>
/// Owns a <see cref="UdpSessionEndpoint"/> and lets many threads use it: dials sessions (<see cref="ConnectAsync"/>),
/// hands out inbound ones (<see cref="AcceptAsync"/>), gives each established session a <see cref="UdpPacketLink"/>
/// (and, on request, a <see cref="StreamMuxConnection"/> over it: <see cref="StartStreams"/>), and runs the endpoint's
/// timers every <see cref="UdpSessionHostOptions.TimerInterval"/> on the injected <see cref="TimeProvider"/>. It is the
/// <see cref="DatagramHandler"/> of the socket it is given (the session view of a
/// <see cref="Datagrams.DatagramDemux"/>, or any <see cref="IMessageTransport"/>), which it starts and does not dispose.
/// </summary>
/// <remarks>
/// <para>Threading: one lock serialises every call into the endpoint: received datagrams on the socket's receive thread
/// (no hop to another thread), sends on the threads of the links' callers, timers on the clock's. Under the lock the
/// endpoint only encrypts, decrypts and keeps its tables; what it sends and what it reports (a payload queued for a
/// link, a session made or ended) is collected in a batch, and once the lock is released the batch's datagrams go to the
/// socket and its completions run. So no system call, continuation or user code runs under the lock, and nothing
/// re-enters the endpoint, which <see cref="ISessionHandler"/> forbids. Under a simulator (a socket whose
/// <see cref="IMessageTransport.RequiresAsynchronousContinuations"/> is false) completions run inline on the caller's
/// thread, in virtual time.</para>
/// <para>Thread-safe: every public member may be called from any thread.</para>
/// </remarks>
public sealed partial class UdpSessionHost : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly UdpSessionEndpoint _endpoint;
    private readonly IMessageTransport _socket;
    private readonly UdpSessionHostOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _start;
    private readonly bool _asynchronous;
    private readonly ITimer _timer;
    private readonly Channel<UdpPacketLink> _accepted;
    private readonly Dictionary<uint, UdpPacketLink> _links = [];
    private readonly Dictionary<IPEndPoint, PendingConnect> _connects = [];
    private HostBatch _batch = new();
    private HostBatch? _spare;
    private long _acceptOverflows;
    private int _started;
    private bool _disposed;

    /// <summary>Creates a host; nothing is received until <see cref="Start"/>.</summary>
    /// <param name="identity">This node's identity, proven to every peer.</param>
    /// <param name="socket">The datagrams of sessions (first byte 0xD0..0xDF), not yet started; not owned.</param>
    /// <param name="options">Timers and caps; null for the defaults.</param>
    /// <param name="timeProvider">The clock of the endpoint, its timer and the stream connections; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Receives session lifecycle messages (EventIds 1100-1109); null for none.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public UdpSessionHost(NodeIdentity identity, IMessageTransport socket, UdpSessionHostOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(socket);
        options ??= new UdpSessionHostOptions();
        options.Validate();
        _options = options;
        _socket = socket;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _start = _time.GetTimestamp();
        _asynchronous = socket.RequiresAsynchronousContinuations;
        _endpoint = new UdpSessionEndpoint(identity, options.Session, new Outbox(this), new Handler(this), TimeSpan.Zero);
        _accepted = Channel.CreateBounded<UdpPacketLink>(new BoundedChannelOptions(options.AcceptQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = !_asynchronous,
        });
        _timer = _time.CreateTimer(static state => ((UdpSessionHost)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Gets the socket's local endpoint.</summary>
    public IPEndPoint LocalEndPoint => _socket.LocalEndPoint;

    /// <summary>Gets the number of established sessions.</summary>
    public int SessionCount
    {
        get
        {
            lock (_gate)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>Gets how many inbound sessions were closed at once because <see cref="UdpSessionHostOptions.AcceptQueueCapacity"/> were waiting.</summary>
    public long AcceptOverflows => Interlocked.Read(ref _acceptOverflows);

    /// <summary>Returns how many received packets the endpoint dropped for <paramref name="reason"/>.</summary>
    /// <param name="reason">A reason.</param>
    /// <returns>A count ≥ 0.</returns>
    public long GetDropCount(SessionDrop reason)
    {
        lock (_gate)
        {
            return _endpoint.GetDropCount(reason);
        }
    }

    /// <summary>Starts receiving from the socket and running the timers. Call once.</summary>
    /// <exception cref="InvalidOperationException">Already started, disposed, or the socket was started by someone else.</exception>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Interlocked.Exchange(ref _started, 1) != 0)
            {
                throw new InvalidOperationException("The session host was already started.");
            }
        }

        _socket.Start(Receive);
        SessionMetrics.Add(this);
        _timer.Change(_options.TimerInterval, _options.TimerInterval);
    }

    /// <summary>Dials <paramref name="remote"/> and waits until the handshake completes (initiations are retransmitted per
    /// <see cref="SessionOptions.HandshakeRetry"/>, <see cref="SessionOptions.HandshakeAttempts"/> times).</summary>
    /// <param name="remote">The peer's address and port.</param>
    /// <param name="expected">The node ID to reach; null to accept whoever proves an ID there.</param>
    /// <param name="cancellationToken">Stops this wait. The handshake goes on; a later call for the same endpoint and ID
    /// takes it over, else the session it makes is closed.</param>
    /// <returns>The new session's link (this side is the initiator, the stream "client").</returns>
    /// <exception cref="UdpSessionException">The handshake timed out or failed (another node answered than
    /// <paramref name="expected"/>, a proof did not verify), or the host shut down.</exception>
    /// <exception cref="InvalidOperationException">A handshake with <paramref name="remote"/> is already awaited, or for another ID; or the host is not started.</exception>
    /// <exception cref="ObjectDisposedException">The host is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<UdpPacketLink> ConnectAsync(IPEndPoint remote, NodeId? expected = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        cancellationToken.ThrowIfCancellationRequested();
        PendingConnect pending;
        HostBatch? batch;
        lock (_gate)
        {
            ThrowIfNotRunning();
            if (_connects.TryGetValue(remote, out var existing))
            {
                if (existing.Waiting || existing.Expected != expected)
                {
                    throw new InvalidOperationException($"A handshake with {remote} is already in flight{(existing.Waiting ? " and awaited" : $" for another node ID ({existing.Expected?.ToString() ?? "any"})")}; one session per peer.");
                }

                pending = existing;
            }
            else
            {
                pending = new PendingConnect(remote, expected, _asynchronous);
                pending.Index = _endpoint.Connect(remote, expected, Now());
                _connects.Add(remote, pending);
            }

            pending.Waiting = true;
            batch = TakeBatchLocked();
        }

        Flush(batch);
        try
        {
            return await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (_gate)
            {
                pending.Waiting = false;
            }

            throw;
        }
    }

    /// <summary>Waits for the next session a peer dialled (this side is the responder, the stream "server").</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The session's link.</returns>
    /// <exception cref="ObjectDisposedException">The host was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<UdpPacketLink> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(UdpSessionHost), "The session host was disposed while an accept waited.");
        }
    }

    /// <summary>Starts a stream multiplexer over <paramref name="link"/>: the session's initiator is the client (even
    /// stream ids). The connection owns the link from now on (disposing it closes the session), and runs on this host's clock.</summary>
    /// <param name="link">A link of this host, not yet used by another connection.</param>
    /// <param name="options">Multiplexer options (datagram path); null for the defaults.</param>
    /// <returns>The started connection: <see cref="StreamMuxConnection.OpenStreamAsync"/>, <see cref="StreamMuxConnection.AcceptStreamAsync"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="link"/> is another host's, or an option is out of range.</exception>
    public StreamMuxConnection StartStreams(UdpPacketLink link, StreamMuxOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (link.Host != this)
        {
            throw new ArgumentException("The link belongs to another session host.", nameof(link));
        }

        var connection = new StreamMuxConnection(link, link.Session.IsInitiator, options, _time, _logger);
        connection.Start();
        return connection;
    }

    /// <summary>Closes every session (<see cref="SessionCloseReason.Shutdown"/>: their links end with a
    /// <see cref="UdpSessionException"/>), fails pending dials, stops the timer and erases the keys. The socket is not disposed.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        HostBatch? batch;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            SessionMetrics.Remove(this);
            _endpoint.Dispose();
            foreach (var pending in _connects.Values)
            {
                _batch.Effects.Add(new HostEffect(HostEffectKind.ConnectFailed, pending, null, new UdpSessionException(SessionCloseReason.Shutdown, pending.Remote, pending.Expected)));
            }

            _connects.Clear();
            batch = TakeBatchLocked();
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        Flush(batch);
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var unclaimed))
        {
            await unclaimed.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends several payloads of <paramref name="link"/> under one lock; their datagrams leave together.</summary>
    /// <exception cref="UdpSessionException">The session has ended.</exception>
    internal void SendMany(UdpPacketLink link, ReadOnlySpan<LinkPayload> payloads)
    {
        var refused = 0;
        HostBatch? batch;
        lock (_gate)
        {
            var now = Now();
            foreach (var item in payloads)
            {
                if (_disposed || !_endpoint.Send(link.Session, item.Payload.Span, (ulong)item.PacketNumber, now))
                {
                    refused++;
                }
            }

            batch = TakeBatchLocked();
        }

        Flush(batch);
        for (var i = 0; i < refused; i++)
        {
            link.OnSendRefused();
        }
    }

    /// <summary>Closes <paramref name="link"/>'s session on this side (its reader then sees the end).</summary>
    internal void CloseSession(UdpPacketLink link)
    {
        HostBatch? batch;
        lock (_gate)
        {
            if (!_disposed)
            {
                _endpoint.Close(link.Session);
            }

            batch = TakeBatchLocked();
        }

        Flush(batch);
    }

    private TimeSpan Now() => _time.GetElapsedTime(_start);

    private void ThrowIfNotRunning()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref _started) == 0)
        {
            throw new InvalidOperationException("The session host is not started.");
        }
    }

    private void Receive(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        HostBatch? batch;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _endpoint.Receive(remote, datagram, Now());
            batch = TakeBatchLocked();
        }

        Flush(batch);
    }

    private void OnTimer()
    {
        HostBatch? batch;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _endpoint.OnTimer(Now());
            batch = TakeBatchLocked();
        }

        Flush(batch);
    }

    /// <summary>Takes what the endpoint produced during this locked call (null when nothing), leaving an empty batch.</summary>
    private HostBatch? TakeBatchLocked()
    {
        if (_batch.IsEmpty)
        {
            return null;
        }

        var full = _batch;
        _batch = Interlocked.Exchange(ref _spare, null) ?? new HostBatch();
        return full;
    }

    /// <summary>Sends a batch's datagrams, then runs its completions; outside the lock.</summary>
    private void Flush(HostBatch? batch)
    {
        if (batch is null)
        {
            return;
        }

        try
        {
            batch.SendAll(_socket);
            foreach (var effect in batch.Effects)
            {
                Run(effect);
            }
        }
        finally
        {
            batch.Clear();
            Interlocked.CompareExchange(ref _spare, batch, null);
        }
    }

    private void Run(in HostEffect effect)
    {
        switch (effect.Kind)
        {
            case HostEffectKind.Wake when effect.Target is Action notify:
                notify();
                break;
            case HostEffectKind.Wake:
                ((TaskCompletionSource<bool>)effect.Target!).TrySetResult(true);
                break;
            case HostEffectKind.Connected:
                ((PendingConnect)effect.Target!).Completion.TrySetResult(effect.Link!);
                break;
            case HostEffectKind.ConnectFailed:
                ((PendingConnect)effect.Target!).Completion.TrySetException(effect.Error!);
                break;
            case HostEffectKind.Accepted when _accepted.Writer.TryWrite(effect.Link!):
                break;
            case HostEffectKind.Accepted:
                Interlocked.Increment(ref _acceptOverflows);
                SessionHostLog.AcceptQueueFull(_logger, effect.Link!.RemoteId, effect.Link.Session.RemoteEndPoint);
                CloseSession(effect.Link);
                break;
            case HostEffectKind.CloseUnwanted:
                CloseSession(effect.Link!);
                break;
        }
    }

    /// <summary>A dial in flight, keyed by the endpoint dialled.</summary>
    private sealed class PendingConnect(IPEndPoint remote, NodeId? expected, bool asynchronous)
    {
        public IPEndPoint Remote { get; } = remote;

        public NodeId? Expected { get; } = expected;

        public uint Index { get; set; }

        /// <summary>Gets or sets whether a caller awaits it (guarded by the host's lock).</summary>
        public bool Waiting { get; set; }

        public TaskCompletionSource<UdpPacketLink> Completion { get; } = new(asynchronous ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
    }
}
