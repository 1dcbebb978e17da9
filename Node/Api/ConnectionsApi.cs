using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Overlay.Node.Daemon;
using Overlay.Transport.Connections;

namespace Overlay.Node.Api;

/// <summary>The connection routes of the local API: GET connections, POST connect?peer=, GET events (WebSocket).</summary>
/// <param name="runtime">The node.</param>
/// <param name="lifetime">Ends the event feeds when the daemon stops (an open WebSocket would otherwise hold the shutdown).</param>
internal sealed class ConnectionsApi(NodeRuntime runtime, IHostApplicationLifetime lifetime)
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    /// <summary>GET connections: every live session with a peer.</summary>
    /// <returns>One row per connection, oldest first.</returns>
    public ConnectionsResponse GetConnections()
    {
        var now = runtime.TimeProvider.GetUtcNow();
        var rows = runtime.Connections.Connections
            .OrderBy(c => c.EstablishedAt)
            .Select(c => Describe(c, now))
            .ToArray();
        return new ConnectionsResponse(rows);
    }

    /// <summary>
    /// POST connect?peer=: a session with a peer, given as <c>ID</c> (its address is looked up in the DHT), <c>HOST:PORT</c>
    /// (whoever proves an ID there) or <c>ID@HOST:PORT</c> (that ID must be proven there). An existing session is reused.
    /// </summary>
    /// <param name="peer">The peer.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The connection and how long it took.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> for a malformed peer; <see cref="ApiError.NotFound"/>
    /// when an ID is not found in the DHT; <see cref="ApiError.ConnectFailed"/> when every path failed.</exception>
    public async Task<ConnectResponse> ConnectAsync(string? peer, CancellationToken cancellationToken = default)
    {
        var time = runtime.TimeProvider;
        var started = time.GetTimestamp();
        var requested = time.GetUtcNow();
        var address = await ResolveAsync(peer, cancellationToken).ConfigureAwait(false);
        IConnection connection;
        try
        {
            connection = await runtime.Connections.ConnectAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectionFailedException ex)
        {
            throw new ApiException(ApiError.ConnectFailed, ex.Message, ex);
        }

        return new ConnectResponse(Describe(connection, time.GetUtcNow()), connection.EstablishedAt < requested, time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>GET events: a WebSocket that carries one JSON text message per connection event
    /// (<see cref="EventMessage"/>) until either side closes it or the daemon stops (close status 1000, "bye").</summary>
    /// <param name="context">The request.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> when the request is not a WebSocket upgrade.</exception>
    public async Task EventsAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new ApiException(ApiError.BadRequest, "GET /api/v0/events is a WebSocket: send an upgrade request (e.g. overlay connections --watch)");
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);

        // The client's side is read without a token (cancelling a WebSocket read aborts the socket, so no close could
        // be sent); it ends with the client's close or a dead connection, and that stops the feed.
        var reading = ReadUntilCloseAsync(socket, stop);
        try
        {
            await foreach (var e in runtime.Connections.WatchAsync(stop.Token).ConfigureAwait(false))
            {
                var message = new EventMessage(e.Kind.ToString().ToLowerInvariant(), e.Peer.ToString(), e.Path.ToString().ToLowerInvariant(), e.Remote.ToString(), e.Reason, e.Time);
                await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, Web), WebSocketMessageType.Text, endOfMessage: true, stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client left or closed, or the daemon is stopping.
        }

        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).ConfigureAwait(false);
            }

            await reading.WaitAsync(CloseWait, runtime.TimeProvider).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException)
        {
            socket.Abort();
        }
    }

    /// <summary>How long a closing feed waits for the client's close frame before it drops the connection: 5 s.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    /// <summary>Reads (and discards) what the client sends until it closes or the connection dies, then stops the feed.</summary>
    private static async Task ReadUntilCloseAsync(WebSocket socket, CancellationTokenSource stop)
    {
        var buffer = new byte[256];
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (WebSocketException)
        {
            // The client is gone.
        }

        try
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The feed already ended.
        }
    }

    private async Task<PeerAddress> ResolveAsync(string? peer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(peer))
        {
            throw new ApiException(ApiError.BadRequest, "a peer is required: ID, HOST:PORT or ID@HOST:PORT");
        }

        var at = peer.IndexOf('@', StringComparison.Ordinal);
        if (at < 0 && NodeId.TryParse(peer, out var onlyId))
        {
            var lookup = await runtime.Dht.FindNodeAsync(onlyId, cancellationToken).ConfigureAwait(false);
            var contact = lookup.Closest.FirstOrDefault(c => c.Id == onlyId)
                ?? throw new ApiException(ApiError.NotFound, $"node {onlyId} was not found in the DHT (asked {lookup.MessagesSent} nodes); give its address as ID@HOST:PORT");
            return new PeerAddress(contact.EndPoint, onlyId);
        }

        NodeId? id = at < 0 ? null : ApiInput.ParseNodeId(peer[..at], "node ID");
        var hostPort = ApiInput.ParseHostPort(at < 0 ? peer : peer[(at + 1)..]);
        try
        {
            return new PeerAddress(await hostPort.ResolveAsync(cancellationToken).ConfigureAwait(false), id);
        }
        catch (SocketException ex)
        {
            throw new ApiException(ApiError.BadRequest, $"'{ApiInput.Quote(peer)}' does not resolve: {ex.Message}", ex);
        }
    }

    private static ConnectionResponse Describe(IConnection c, DateTimeOffset now)
    {
        var s = c.Statistics;
        return new ConnectionResponse(
            c.RemoteId.ToString(),
            c.Path.ToString().ToLowerInvariant(),
            c.RemoteEndPoint.ToString(),
            c.IsInitiator ? "outbound" : "inbound",
            s.SmoothedRtt > TimeSpan.Zero ? s.SmoothedRtt.TotalMilliseconds : null,
            s.BytesSent,
            s.BytesReceived,
            s.OpenStreams,
            Math.Max(0, (now - c.EstablishedAt).TotalSeconds),
            c.HandshakeTime.TotalMilliseconds);
    }
}
