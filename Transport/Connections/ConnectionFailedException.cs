namespace Overlay.Transport.Connections;

/// <summary>No path to a peer produced a session; the message names each attempt's outcome
/// (e.g. "udp: no handshake response after 5 attempts; tcp: connection refused").</summary>
public sealed class ConnectionFailedException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="peer">Whom the dial was for.</param>
    /// <param name="attempts">Each attempt's outcome, one line per path.</param>
    /// <param name="inner">The last attempt's exception, if any.</param>
    public ConnectionFailedException(PeerAddress peer, IReadOnlyList<string> attempts, Exception? inner = null)
        : base($"could not connect to {peer}: {(attempts.Count == 0 ? "no path to try" : string.Join("; ", attempts))}", inner)
    {
        Peer = peer;
        Attempts = attempts;
    }

    /// <summary>Gets whom the dial was for.</summary>
    public PeerAddress Peer { get; }

    /// <summary>Gets each attempt's outcome.</summary>
    public IReadOnlyList<string> Attempts { get; }
}
