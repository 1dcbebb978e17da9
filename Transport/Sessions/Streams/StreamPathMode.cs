namespace Overlay.Transport.Sessions.Streams;

/// <summary>What the path under a <see cref="StreamMux"/> guarantees, which decides what the multiplexer must do itself.</summary>
public enum StreamPathMode
{
    /// <summary>
    /// Datagrams (UDP): packets may be lost or reordered (never duplicated: the session layer drops replays). The
    /// multiplexer acknowledges, detects loss, retransmits data and runs congestion control and pacing (RFC 9002).
    /// </summary>
    Datagram,

    /// <summary>
    /// An ordered reliable path (TCP records): every packet arrives once, in order. No ACK frames, no loss detection, no
    /// congestion control: only stream multiplexing and flow control, as yamux over TCP.
    /// </summary>
    Reliable,
}
