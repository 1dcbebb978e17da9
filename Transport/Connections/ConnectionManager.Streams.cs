using System.Collections.Concurrent;
using Overlay.Transport.Connections.Internal;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Connections;

public sealed partial class ConnectionManager
{
    /// <summary>Application code with which a stream is reset when its protocol has no listener or a full backlog.</summary>
    public const long StreamRefusedCode = 0x10;

    private readonly ConcurrentDictionary<string, ConnectionStreamListener> _listeners = new(StringComparer.Ordinal);

    /// <summary>Returns the listener of <paramref name="protocol"/>: it yields the streams peers open for it, on any
    /// connection, with the peer's proven node ID. Registering a protocol twice returns the same listener.</summary>
    /// <param name="protocol">The protocol's name, 1 to 64 printable ASCII characters (e.g. <c>/overlay/exchange/1</c>).</param>
    /// <returns>The listener; disposing it unregisters the protocol.</returns>
    /// <exception cref="ArgumentException"><paramref name="protocol"/> is not a valid name.</exception>
    public IStreamListener Listen(string protocol)
    {
        StreamProtocolHeader.Validate(protocol);
        return _listeners.GetOrAdd(protocol, p => new ConnectionStreamListener(this, p, _options.ListenerBacklog));
    }

    /// <summary>Returns a connector that opens <paramref name="protocol"/> streams to peers over this manager's
    /// connections, dialling when none is live (the exchange's fetcher uses it).</summary>
    /// <param name="protocol">The protocol's name.</param>
    /// <returns>The connector.</returns>
    /// <exception cref="ArgumentException"><paramref name="protocol"/> is not a valid name.</exception>
    public IStreamConnector Connector(string protocol)
    {
        StreamProtocolHeader.Validate(protocol);
        return new ConnectionStreamConnector(this, protocol);
    }

    /// <summary>Gets the local endpoint listeners report (set by the daemon: the node's address and port).</summary>
    public System.Net.IPEndPoint LocalEndPoint { get; init; } = new(System.Net.IPAddress.Loopback, 0);

    /// <summary>Removes a listener that was disposed.</summary>
    /// <param name="listener">The listener.</param>
    internal void Unlisten(ConnectionStreamListener listener) =>
        _listeners.TryRemove(new KeyValuePair<string, ConnectionStreamListener>(listener.Protocol, listener));

    /// <summary>Hands each stream the peer opens on <paramref name="connection"/> to its protocol's listener.</summary>
    private async Task AcceptStreamsAsync(SessionConnection connection)
    {
        while (true)
        {
            MuxStream stream;
            try
            {
                stream = await connection.Mux.AcceptStreamAsync(_shutdown.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is StreamMuxException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            Track(RouteAsync(connection, stream));
        }
    }

    private async Task RouteAsync(SessionConnection connection, MuxStream stream)
    {
        string? protocol;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token))
        {
            timeout.CancelAfter(_options.StreamHeaderTimeout);
            try
            {
                protocol = await StreamProtocolHeader.ReadAsync(stream, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
            {
                protocol = null;
            }
        }

        string? refusal = protocol is null ? "header"
            : !_listeners.TryGetValue(protocol, out var listener) ? "protocol"
            : listener.TryEnqueue(new AcceptedStream(stream, connection.RemoteEndPoint, connection.RemoteId)) ? null
            : "backlog";
        if (refusal is null)
        {
            return;
        }

        ConnectionMetrics.StreamsRefused.Add(1, new KeyValuePair<string, object?>("reason", refusal));
        ConnectionLog.StreamRefused(_logger, connection.RemoteId.ToShortString(), refusal == "protocol" ? $"no listener for {protocol}" : refusal);
        stream.Abort(StreamRefusedCode);
        await stream.DisposeAsync().ConfigureAwait(false);
    }
}
