using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Transport.Connections.Internal;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Connections;

/// <summary>
/// The responder side of the TCP path: accepts TCP connections, runs the session handshake on each (at most
/// <see cref="MaxPendingHandshakes"/> at once and <see cref="MaxPendingPerIp"/> per IP (per IP and port on loopback,
/// where a local swarm's nodes share one address); beyond, the connection is closed
/// unanswered, so idle sockets cannot hold the port) and hands each session to the <see cref="ConnectionManager"/>.
/// </summary>
public sealed class TcpLinkAcceptor : IAsyncDisposable
{
    /// <summary>Most handshakes in progress at once: 64.</summary>
    public const int MaxPendingHandshakes = 64;

    /// <summary>Most handshakes in progress from one IP address: 4.</summary>
    public const int MaxPendingPerIp = 4;

    private readonly IStreamListener _listener;
    private readonly Sessions.Noise.SessionCredentials _credentials;
    private readonly ConnectionManager _manager;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<IPEndPoint, int> _pendingPerIp = [];
    private readonly HashSet<Task> _handshakes = [];
    private Task? _loop;
    private int _pending;

    /// <summary>Creates the acceptor; <see cref="Start"/> runs it.</summary>
    /// <param name="listener">Yields accepted TCP streams; owned (disposed with the acceptor).</param>
    /// <param name="identity">This node's identity.</param>
    /// <param name="manager">Receives the sessions.</param>
    /// <param name="timeProvider">The clock of handshake timeouts (<see cref="SecureStreamChannel.HandshakeTimeout"/>).</param>
    /// <param name="logger">Receives handshake failures; none when null.</param>
    public TcpLinkAcceptor(IStreamListener listener, NodeIdentity identity, ConnectionManager manager, TimeProvider timeProvider, ILogger<TcpLinkAcceptor>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _listener = listener;
        _credentials = new Sessions.Noise.SessionCredentials(identity);
        _manager = manager;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Gets the local TCP endpoint.</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Starts accepting. Call once.</summary>
    public void Start() => _loop ??= AcceptLoopAsync();

    /// <summary>Stops accepting, waits for handshakes in progress to end, and disposes the listener. Idempotent.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        Task[] pending;
        lock (_handshakes)
        {
            pending = [.. _handshakes];
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        _credentials.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            AcceptedStream accepted;
            try
            {
                accepted = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            var ip = ConnectionManager.SourceKey(accepted.Remote);
            bool admitted;
            lock (_handshakes)
            {
                admitted = _pending < MaxPendingHandshakes && _pendingPerIp.GetValueOrDefault(ip) < MaxPendingPerIp;
                if (admitted)
                {
                    _pending++;
                    _pendingPerIp[ip] = _pendingPerIp.GetValueOrDefault(ip) + 1;
                }
            }

            if (!admitted)
            {
                ConnectionMetrics.Refused.Add(1, new KeyValuePair<string, object?>("reason", "handshake-limit"));
                await accepted.Stream.DisposeAsync().ConfigureAwait(false);
                continue;
            }

            var handshake = HandshakeAsync(accepted, ip);
            lock (_handshakes)
            {
                _handshakes.Add(handshake);
            }

            _ = handshake.ContinueWith(
                t =>
                {
                    lock (_handshakes)
                    {
                        _handshakes.Remove(t);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private async Task HandshakeAsync(AcceptedStream accepted, IPEndPoint ip)
    {
        await Task.Yield();
        var started = _time.GetTimestamp();
        try
        {
            var channel = await SecureStreamChannel.EstablishAsync(accepted.Stream, _credentials, initiator: false, null, _time, _stop.Token).ConfigureAwait(false);
            _manager.AddInbound(new EstablishedLink(new ChannelPacketLink(channel), ConnectionPath.Tcp, channel.RemoteId, accepted.Remote, IsInitiator: false, StreamMuxOptions.ForReliablePath(), _time.GetElapsedTime(started)));
        }
        catch (Exception ex) when (ex is SecureHandshakeException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            ConnectionLog.InboundHandshakeFailed(_logger, accepted.Remote, ex.Message);
        }
        finally
        {
            lock (_handshakes)
            {
                _pending--;
                var left = _pendingPerIp.GetValueOrDefault(ip) - 1;
                if (left <= 0)
                {
                    _pendingPerIp.Remove(ip);
                }
                else
                {
                    _pendingPerIp[ip] = left;
                }

            }
        }
    }
}
