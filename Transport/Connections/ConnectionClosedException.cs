namespace Overlay.Transport.Connections;

/// <summary>A connection ended before (or while) it was used; the message says why.</summary>
public sealed class ConnectionClosedException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What ended and why, e.g. "connection to 3f2a… over UDP was lost: no packet for 45 s".</param>
    /// <param name="inner">The underlying failure, if any.</param>
    public ConnectionClosedException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
