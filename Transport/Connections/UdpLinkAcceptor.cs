using Overlay.Transport.Sessions;

namespace Overlay.Transport.Connections;

/// <summary>
/// The responder side of the UDP path: takes each session a peer dialled from the node's <see cref="UdpSessionHost"/>
/// and hands it to the <see cref="ConnectionManager"/>. Handshake floods are the host's to bound (cookies under load,
/// <see cref="SessionOptions.MaxSessions"/>, an accept queue of <see cref="UdpSessionHostOptions.AcceptQueueCapacity"/>);
/// connection limits are the manager's.
/// </summary>
public sealed class UdpLinkAcceptor : IAsyncDisposable
{
    private readonly UdpSessionHost _host;
    private readonly ConnectionManager _manager;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Creates the acceptor; <see cref="Start"/> runs it.</summary>
    /// <param name="host">The session host; not owned.</param>
    /// <param name="manager">Receives the sessions.</param>
    public UdpLinkAcceptor(UdpSessionHost host, ConnectionManager manager)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(manager);
        _host = host;
        _manager = manager;
    }

    /// <summary>Starts accepting. Call once, after the host is started.</summary>
    public void Start() => _loop ??= AcceptLoopAsync();

    /// <summary>Stops accepting; sessions already handed over stay with the manager. Idempotent.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (true)
        {
            UdpPacketLink link;
            try
            {
                link = await _host.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            try
            {
                _manager.AddInbound(UdpLinkDialer.ForSession(link));
            }
            catch (ObjectDisposedException)
            {
                // The manager shut down first.
                await link.DisposeAsync().ConfigureAwait(false);
                return;
            }
        }
    }
}
