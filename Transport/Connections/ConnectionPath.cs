namespace Overlay.Transport.Connections;

/// <summary>What carries a connection's session.</summary>
public enum ConnectionPath
{
    /// <summary>A UDP session (Noise XX over the node's UDP port, streams with their own loss recovery); tried first.</summary>
    Udp,

    /// <summary>A TCP connection carrying the same handshake and stream multiplexing (the fallback when UDP is blocked).</summary>
    Tcp,
}
