using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Connections;

/// <summary>The TCP path of a dial: a TCP connection to the peer's port, the session handshake on it
/// (<see cref="SecureStreamChannel"/>, proving this node with credentials made once per dialer), and the reliable-path
/// stream options. Thread-safe. Dispose to erase the dialer's static key.</summary>
public sealed class TcpLinkDialer : ILinkDialer, IDisposable
{
    private readonly Sessions.Noise.SessionCredentials _credentials;
    private bool _disposed;
    private readonly TimeProvider _time;
    private readonly IStreamConnector _tcp;

    /// <summary>Creates the dialer.</summary>
    /// <param name="identity">This node's identity, proven to the peer.</param>
    /// <param name="timeProvider">The clock of the handshake timeout and its duration.</param>
    /// <param name="tcp">Opens the byte stream; plain TCP (<see cref="TcpStreamConnector"/>) when null, in-memory pairs in tests.</param>
    public TcpLinkDialer(NodeIdentity identity, TimeProvider timeProvider, IStreamConnector? tcp = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _credentials = new Sessions.Noise.SessionCredentials(identity);
        _time = timeProvider;
        _tcp = tcp ?? new TcpStreamConnector();
    }

    /// <inheritdoc/>
    public ConnectionPath Path => ConnectionPath.Tcp;

    /// <inheritdoc/>
    public async ValueTask<EstablishedLink> DialAsync(PeerAddress peer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        var started = _time.GetTimestamp();
        var stream = await _tcp.ConnectAsync(peer.EndPoint, cancellationToken).ConfigureAwait(false);
        var channel = await SecureStreamChannel.EstablishAsync(stream, _credentials, initiator: true, peer.Id, _time, cancellationToken).ConfigureAwait(false);
        return new EstablishedLink(new ChannelPacketLink(channel), ConnectionPath.Tcp, channel.RemoteId, peer.EndPoint, IsInitiator: true, StreamMuxOptions.ForReliablePath(), _time.GetElapsedTime(started));
    }

    /// <summary>Erases the static key; dials after this fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        _credentials.Dispose();
    }
}
