using System.Net.Sockets;

namespace Overlay.Transport.Internal;

/// <summary>
/// TCP keepalives on session sockets, so a peer that vanishes without a FIN or RST (power loss, a NAT that forgot the
/// mapping) is reported lost within <see cref="DeadAfter"/>, like a UDP session's dead interval, not after the kernel's
/// 2 h default: first probe after 15 s of silence, then every 5 s, dead after 3 unanswered (RFC 1122 §4.2.3.6 leaves
/// the interval to the application).
/// </summary>
internal static class TcpKeepAlive
{
    /// <summary>Seconds of silence before the first probe: 15.</summary>
    public const int IdleSeconds = 15;

    /// <summary>Seconds between probes: 5.</summary>
    public const int IntervalSeconds = 5;

    /// <summary>Unanswered probes before the connection fails: 3.</summary>
    public const int Probes = 3;

    /// <summary>Gets the longest a dead peer goes unnoticed: 15 + 3 × 5 = 30 s.</summary>
    public static TimeSpan DeadAfter => TimeSpan.FromSeconds(IdleSeconds + (Probes * IntervalSeconds));

    /// <summary>Turns keepalives on with the intervals above; a platform that lacks an option keeps its default for it.</summary>
    /// <param name="socket">A TCP socket.</param>
    public static void Enable(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, IdleSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, IntervalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, Probes);
        }
        catch (SocketException)
        {
            // Not settable here: the system's keepalive intervals apply.
        }
    }
}
