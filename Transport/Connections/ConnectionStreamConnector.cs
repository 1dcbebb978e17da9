namespace Overlay.Transport.Connections;

/// <summary>An <see cref="IStreamConnector"/> that opens streams of one protocol over a <see cref="ConnectionManager"/>'s
/// connections, dialling (UDP first, TCP raced) when none is live. Thread-safe.</summary>
public sealed class ConnectionStreamConnector : IStreamConnector
{
    private readonly ConnectionManager _manager;
    private readonly string _protocol;

    /// <summary>Creates the connector; use <see cref="ConnectionManager.Connector"/>.</summary>
    /// <param name="manager">The manager.</param>
    /// <param name="protocol">The protocol's name (validated by the manager).</param>
    internal ConnectionStreamConnector(ConnectionManager manager, string protocol)
    {
        _manager = manager;
        _protocol = protocol;
    }

    /// <inheritdoc/>
    /// <exception cref="ConnectionFailedException">No path produced a session (an <see cref="IOException"/>).</exception>
    /// <exception cref="ConnectionClosedException">The connection ended before the stream opened (an <see cref="IOException"/>).</exception>
    public async ValueTask<Stream> ConnectAsync(PeerAddress peer, CancellationToken cancellationToken = default)
    {
        var connection = await _manager.ConnectAsync(peer, cancellationToken).ConfigureAwait(false);
        return await connection.OpenStreamAsync(_protocol, cancellationToken).ConfigureAwait(false);
    }
}
