using Overlay.Transport.Connections.Internal;

namespace Overlay.Transport.Connections;

public sealed partial class ConnectionManager
{
    private readonly Dictionary<PeerAddress, Task<IConnection>> _dialing = [];

    /// <summary>
    /// Returns the connection to <paramref name="peer"/>, dialling one if none is live: the first dialer (UDP) at once,
    /// the next (TCP) after <see cref="ConnectionManagerOptions.AttemptDelay"/> or as soon as every earlier attempt has
    /// failed (RFC 8305 §5); the first session wins and the other attempts are cancelled (a session that completes
    /// anyway is closed). Concurrent calls for one peer share one dial.
    /// </summary>
    /// <param name="peer">The peer's address, and the node ID it must prove when known (a live connection to that ID at
    /// any address is reused).</param>
    /// <param name="cancellationToken">Cancels this caller's wait (a shared dial continues for the others).</param>
    /// <returns>The connection.</returns>
    /// <exception cref="ConnectionFailedException">Every path failed; the message names each outcome.</exception>
    /// <exception cref="ObjectDisposedException">The manager is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<IConnection> ConnectAsync(PeerAddress peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer.EndPoint);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Task<IConnection> dial;
        lock (_gate)
        {
            if (Live(peer) is { } live)
            {
                return Task.FromResult(live);
            }

            if (!_dialing.TryGetValue(peer, out dial!))
            {
                dial = DialAsync(peer);
                _dialing[peer] = dial;
                Track(dial.ContinueWith(
                    (_, state) =>
                    {
                        lock (_gate)
                        {
                            _dialing.Remove((PeerAddress)state!);
                        }
                    },
                    peer,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default));
            }
        }

        return dial.WaitAsync(cancellationToken);
    }

    /// <summary>A live connection that serves <paramref name="peer"/>: by ID when it has one, else by address.</summary>
    private IConnection? Live(PeerAddress peer)
    {
        if (peer.Id is { } id)
        {
            return _primary.GetValueOrDefault(id);
        }

        return _primary.Values.FirstOrDefault(c => c.RemoteEndPoint.Equals(peer.EndPoint) || c.InitialRemote.Equals(peer.EndPoint));
    }

    private async Task<IConnection> DialAsync(PeerAddress peer)
    {
        using var race = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        var pending = new List<(ILinkDialer Dialer, Task<EstablishedLink> Task)>();
        var outcomes = new List<string>();
        Exception? last = null;
        var next = 0;
        Task? delay = null;
        EstablishedLink? winner = null;
        while (true)
        {
            foreach (var (dialer, task) in pending.Where(a => a.Task.IsCompleted).ToArray())
            {
                pending.Remove((dialer, task));
                if (task.IsCompletedSuccessfully)
                {
                    winner ??= task.Result;
                    if (!ReferenceEquals(winner, task.Result))
                    {
                        Track(DiscardAsync(task));
                    }

                    continue;
                }

                _shutdown.Token.ThrowIfCancellationRequested();
                last = task.Exception?.InnerException ?? new OperationCanceledException();
                var reason = Describe(last);
                outcomes.Add($"{dialer.Path.ToString().ToLowerInvariant()}: {reason}");
                ConnectionLog.AttemptFailed(_logger, peer.ToString(), dialer.Path, reason);
            }

            if (winner is not null)
            {
                break;
            }

            if (next < _dialers.Count && (pending.Count == 0 || delay is { IsCompleted: true }))
            {
                var dialer = _dialers[next++];
                pending.Add((dialer, dialer.DialAsync(peer, race.Token).AsTask()));
                delay = next < _dialers.Count ? Task.Delay(_options.AttemptDelay, _time, race.Token) : null;
                continue;
            }

            if (pending.Count == 0)
            {
                break;
            }

            var waits = pending.Select(a => (Task)a.Task).ToList();
            if (delay is { IsCompleted: false })
            {
                waits.Add(delay);
            }

            await Task.WhenAny(waits).ConfigureAwait(false);
        }

        await race.CancelAsync().ConfigureAwait(false);
        foreach (var (_, task) in pending)
        {
            Track(DiscardAsync(task));
        }

        if (winner is null)
        {
            throw new ConnectionFailedException(peer, outcomes, last);
        }

        if (Register(winner) is { } connection)
        {
            return connection;
        }

        // Refused: full, or the peer's simultaneous dial won the tie-break; its session is the connection.
        lock (_gate)
        {
            if (_primary.GetValueOrDefault(winner.RemoteId) is { } kept)
            {
                return kept;
            }
        }

        throw new ConnectionFailedException(peer, [$"{winner.Path.ToString().ToLowerInvariant()}: session refused (connection limit {_options.MaxConnections})"]);
    }

    /// <summary>Waits for a losing attempt and closes the session it produced, if any.</summary>
    private static async Task DiscardAsync(Task<EstablishedLink> attempt)
    {
        EstablishedLink link;
        try
        {
            link = await attempt.ConfigureAwait(false);
        }
        catch (Exception)
        {
            return;
        }

        await link.Link.DisposeAsync().ConfigureAwait(false);
    }

    private static string Describe(Exception ex) => ex switch
    {
        System.Net.Sockets.SocketException s => s.SocketErrorCode switch
        {
            System.Net.Sockets.SocketError.ConnectionRefused => "connection refused",
            System.Net.Sockets.SocketError.TimedOut => "timed out",
            System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable => "unreachable",
            var code => code.ToString(),
        },
        OperationCanceledException => "cancelled",
        _ => ex.Message,
    };
}
