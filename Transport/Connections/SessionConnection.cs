using System.Net;
using Microsoft.Extensions.Logging;
using Overlay.Transport.Connections.Internal;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Connections;

/// <summary>
/// An <see cref="IConnection"/> over one established session: a <see cref="StreamMuxConnection"/> on the session's
/// packet link (the initiator is the multiplexer's client). Created and owned by the <see cref="ConnectionManager"/>.
/// </summary>
internal sealed class SessionConnection : IConnection
{
    private readonly EstablishedLink _link;
    private readonly StreamMuxConnection _mux;
    private readonly TaskCompletionSource<ConnectionEvent> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private string? _localCloseReason;

    /// <summary>Creates the connection; <see cref="Start"/> runs it.</summary>
    /// <param name="link">The session.</param>
    /// <param name="time">The manager's clock.</param>
    /// <param name="logger">The multiplexer's logger.</param>
    public SessionConnection(EstablishedLink link, TimeProvider time, ILogger logger)
    {
        _link = link;
        _time = time;
        _mux = new StreamMuxConnection(link.Link, isClient: link.IsInitiator, link.MuxOptions, time, logger);
        EstablishedAt = time.GetUtcNow();
        ReportedRemote = link.Remote;
        IdleSince = time.GetTimestamp();
    }

    /// <inheritdoc/>
    public NodeId RemoteId => _link.RemoteId;

    /// <summary>Gets the peer's address when the session was established (what per-IP limits count).</summary>
    public IPEndPoint InitialRemote => _link.Remote;

    /// <inheritdoc/>
    public IPEndPoint RemoteEndPoint => _link.CurrentRemote?.Invoke() ?? _link.Remote;

    /// <inheritdoc/>
    public ConnectionPath Path => _link.Path;

    /// <inheritdoc/>
    public bool IsInitiator => _link.IsInitiator;

    /// <inheritdoc/>
    public DateTimeOffset EstablishedAt { get; }

    /// <inheritdoc/>
    public TimeSpan HandshakeTime => _link.HandshakeTime;

    /// <inheritdoc/>
    public ConnectionStatistics Statistics
    {
        get
        {
            var s = _mux.Statistics;
            // Before the first sample the estimator holds its initial guess (333 ms), which is no measurement.
            return new ConnectionStatistics(s.LatestRtt > TimeSpan.Zero ? s.SmoothedRtt : TimeSpan.Zero, s.BytesSent, s.BytesReceived, s.OpenStreams, s.PacketsLost);
        }
    }

    /// <inheritdoc/>
    public Task<ConnectionEvent> Completion => _completion.Task;

    /// <summary>Gets the multiplexer (the manager's accept loop reads from it).</summary>
    public StreamMuxConnection Mux => _mux;

    /// <summary>Gets or sets the address last reported in an event (the manager's maintenance only).</summary>
    public IPEndPoint ReportedRemote { get; set; }

    /// <summary>Gets or sets the <see cref="TimeProvider.GetTimestamp"/> since which no stream was open, or 0 while one is
    /// (the manager's maintenance only).</summary>
    public long IdleSince { get; set; }

    /// <summary>Returns the node ID of whichever side dialled (the tie-breaker of simultaneous dials).</summary>
    /// <param name="localId">This node's ID.</param>
    /// <returns>The initiator's ID.</returns>
    public NodeId InitiatorId(NodeId localId) => IsInitiator ? localId : RemoteId;

    /// <summary>Starts the multiplexer; <paramref name="onEnded"/> runs once when it has closed.</summary>
    /// <param name="onEnded">Receives the connection and its final event; must not throw.</param>
    /// <returns>A task that completes after <paramref name="onEnded"/> ran (the manager awaits it on dispose).</returns>
    public Task Start(Action<SessionConnection, ConnectionEvent> onEnded)
    {
        _mux.Start();
        return WatchAsync(onEnded);
    }

    /// <inheritdoc/>
    public async ValueTask<Stream> OpenStreamAsync(string protocol, CancellationToken cancellationToken = default)
    {
        var header = StreamProtocolHeader.Encode(protocol);
        MuxStream stream;
        try
        {
            stream = await _mux.OpenStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (StreamMuxException ex)
        {
            throw new ConnectionClosedException($"connection to {RemoteId.ToShortString()} over {Path} has ended: {ex.Message}", ex);
        }

        try
        {
            await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            stream.Abort(0);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return stream;
    }

    /// <inheritdoc/>
    public async ValueTask CloseAsync(string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Interlocked.CompareExchange(ref _localCloseReason, reason, null);
        await _mux.CloseAsync(0, reason, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes (if still open) and releases the multiplexer and the link.</summary>
    /// <param name="reason">The reason reported if this ends the connection.</param>
    /// <returns>A task.</returns>
    public ValueTask DisposeAsync(string reason)
    {
        Interlocked.CompareExchange(ref _localCloseReason, reason, null);
        return _mux.DisposeAsync();
    }

    /// <summary>Turns the multiplexer's close into the connection's final event: a close this node asked for or the peer
    /// sent with an application code is <see cref="ConnectionEventKind.Closed"/>; anything else (silence, a failed
    /// path, a protocol error) is <see cref="ConnectionEventKind.Lost"/>.</summary>
    private async Task WatchAsync(Action<SessionConnection, ConnectionEvent> onEnded)
    {
        var info = await _mux.Completion.ConfigureAwait(false);
        var local = Volatile.Read(ref _localCloseReason);
        var (kind, reason) = local is not null
            ? (ConnectionEventKind.Closed, local)
            : info.ByPeer && info.IsApplicationError
                ? (ConnectionEventKind.Closed, $"closed by peer: {(info.Reason.Length == 0 ? "no reason given" : info.Reason)}")
                : (ConnectionEventKind.Lost, info.ToString());
        var ended = new ConnectionEvent(kind, RemoteId, Path, RemoteEndPoint, reason, _time.GetUtcNow());
        _completion.TrySetResult(ended);
        onEnded(this, ended);
    }
}
