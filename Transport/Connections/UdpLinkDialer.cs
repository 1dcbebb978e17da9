using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Connections;

/// <summary>The UDP path of a dial: a UDP session handshake to the peer's port through the node's
/// <see cref="UdpSessionHost"/> (the session view of its one socket), and the datagram-path stream options. The first
/// path the <see cref="ConnectionManager"/> tries (RFC 8305 style: TCP follows after
/// <see cref="ConnectionManagerOptions.AttemptDelay"/>). Thread-safe.</summary>
public sealed class UdpLinkDialer : ILinkDialer
{
    private readonly UdpSessionHost _host;

    /// <summary>Creates the dialer.</summary>
    /// <param name="host">The started session host of this node's UDP socket; not owned.</param>
    public UdpLinkDialer(UdpSessionHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        _host = host;
    }

    /// <inheritdoc/>
    public ConnectionPath Path => ConnectionPath.Udp;

    /// <inheritdoc/>
    /// <exception cref="UdpSessionException">No answer within the handshake's retransmissions (<see cref="SessionOptions.HandshakeAttempts"/>
    /// × <see cref="SessionOptions.HandshakeRetry"/>), another node answered than <see cref="PeerAddress.Id"/>, or a proof
    /// did not verify.</exception>
    public async ValueTask<EstablishedLink> DialAsync(PeerAddress peer, CancellationToken cancellationToken = default)
    {
        var link = await _host.ConnectAsync(peer.EndPoint, peer.Id, cancellationToken).ConfigureAwait(false);
        return ForSession(link);
    }

    /// <summary>The manager's view of one established session of the host, dialled or accepted.</summary>
    /// <param name="link">The session's link.</param>
    /// <returns>The link with its path, proven ID, direction, handshake time and the peer's current address (a UDP
    /// session follows a peer that roams).</returns>
    internal static EstablishedLink ForSession(UdpPacketLink link)
    {
        var session = link.Session;
        return new EstablishedLink(link, ConnectionPath.Udp, session.RemoteId, session.RemoteEndPoint, session.IsInitiator, DatagramOptions(), session.HandshakeTime, () => session.RemoteEndPoint);
    }

    /// <summary>Datagram-path multiplexer options without the multiplexer's own idle timeout: the session's keepalives
    /// and <see cref="SessionOptions.DeadAfter"/> already detect a silent peer (and are invisible to the multiplexer), and
    /// the manager closes connections without streams after <see cref="ConnectionManagerOptions.IdleTimeout"/>.</summary>
    private static StreamMuxOptions DatagramOptions() => new() { IdleTimeout = TimeSpan.Zero };
}
