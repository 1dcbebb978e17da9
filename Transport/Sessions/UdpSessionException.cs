using System.Net;

namespace Overlay.Transport.Sessions;

/// <summary>A UDP session could not be made, or ended under its user: the handshake timed out or failed (the wrong
/// peer answered, a proof did not verify), the session was lost, its numbers ran out, or its host shut down.</summary>
public sealed class UdpSessionException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Why the session or handshake ended.</param>
    /// <param name="remote">The peer's address and port (the one dialled, or the session's last).</param>
    /// <param name="remoteId">The peer's node ID: the proven one of a session, the expected one of a handshake, or null.</param>
    /// <param name="detail">Extra words (what was waiting, for how long), or null.</param>
    public UdpSessionException(SessionCloseReason reason, IPEndPoint remote, NodeId? remoteId, string? detail = null)
        : base(Describe(reason, remote, remoteId) + (detail is null ? string.Empty : $" ({detail})"))
    {
        ArgumentNullException.ThrowIfNull(remote);
        Reason = reason;
        Remote = remote;
        RemoteId = remoteId;
    }

    /// <summary>Gets why the session or handshake ended.</summary>
    public SessionCloseReason Reason { get; }

    /// <summary>Gets the peer's address and port.</summary>
    public IPEndPoint Remote { get; }

    /// <summary>Gets the peer's node ID (proven for a session, expected for a handshake), or null when none was known.</summary>
    public NodeId? RemoteId { get; }

    /// <summary>Says what happened first (a stream close reason keeps only 128 bytes), then with whom.</summary>
    private static string Describe(SessionCloseReason reason, IPEndPoint remote, NodeId? id)
    {
        var what = reason switch
        {
            SessionCloseReason.HandshakeTimeout => "UDP session handshake timed out: no response",
            SessionCloseReason.HandshakeFailed => "UDP session handshake failed: the peer could not prove the expected node ID, or a message did not authenticate",
            SessionCloseReason.Lost => "UDP session lost: no authenticated packet within the dead interval",
            SessionCloseReason.Exhausted => "UDP session ran out of packet numbers",
            SessionCloseReason.Shutdown => "UDP session ended: its host shut down",
            _ => "UDP session closed",
        };
        return id is { } known ? $"{what}; peer {known} at {remote}" : $"{what}; peer at {remote}";
    }
}
