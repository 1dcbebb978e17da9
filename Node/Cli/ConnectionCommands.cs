using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Overlay.Node.Api;

namespace Overlay.Node.Cli;

/// <summary>The CLI commands about sessions with peers: <c>overlay connections [--watch]</c>, <c>overlay connect PEER</c>.</summary>
internal static class ConnectionCommands
{
    /// <summary><c>overlay connections</c>: the daemon's live sessions; with <paramref name="watch"/>, then every
    /// connection event as it happens (one line each, or one JSON object per line with <c>--json</c>) until interrupted.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="watch">Whether to follow the event feed (GET /api/v0/events).</param>
    /// <param name="cancellationToken">Cancels the call (Ctrl-C ends a watch with exit code 0).</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> ListAsync(CliContext context, bool watch, CancellationToken cancellationToken = default)
    {
        using var client = context.CreateClient();
        var (list, json) = await client.SendJsonAsync<ConnectionsResponse>(HttpMethod.Get, "connections", null, cancellationToken).ConfigureAwait(false);
        if (context.Json)
        {
            await context.StdOut.WriteLineAsync(json).ConfigureAwait(false);
        }
        else
        {
            Render.Write(context, Render.Rows(
                    ["Peer", "Path", "Remote", "Direction", "RTT", "Sent", "Received", "Streams", "Age"],
                    list.Connections.Select(c => new[]
                    {
                        c.Peer, c.Path, c.Remote, c.Direction, c.RttMs is { } rtt ? Render.Millis(rtt) : "-", Render.Bytes(c.BytesSent), Render.Bytes(c.BytesReceived),
                        Render.Number(c.Streams), TimeSpan.FromSeconds(Math.Floor(c.AgeSeconds)).ToString("c", System.Globalization.CultureInfo.InvariantCulture),
                    }))
                .WithCaption(list.Connections.Count == 1 ? "1 connection" : $"{list.Connections.Count} connections"));
        }

        return watch ? await WatchAsync(context, client, cancellationToken).ConfigureAwait(false) : ExitCodes.Ok;
    }

    /// <summary><c>overlay connect ID|HOST:PORT|ID@HOST:PORT</c>: a session with a peer (reused if one exists), with the
    /// handshake time.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="peer">The peer.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code (3 when an ID is not found in the DHT, 1 when no path connects).</returns>
    public static async Task<int> ConnectAsync(CliContext context, string peer, CancellationToken cancellationToken = default)
    {
        using var client = context.CreateClient();
        var (answer, json) = await client.SendJsonAsync<ConnectResponse>(HttpMethod.Post, "connect?peer=" + Uri.EscapeDataString(peer), null, cancellationToken).ConfigureAwait(false);
        if (context.Json)
        {
            await context.StdOut.WriteLineAsync(json).ConfigureAwait(false);
        }
        else
        {
            var c = answer.Connection;
            var how = answer.Reused ? "already connected" : $"connected in {Render.Millis(answer.ElapsedMs)} (handshake {Render.Millis(c.HandshakeMs)})";
            await context.StdOut.WriteLineAsync($"{how}: {c.Peer} at {c.Remote} over {c.Path}, {c.Direction}").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> WatchAsync(CliContext context, ApiClient client, CancellationToken cancellationToken)
    {
        using var socket = await client.OpenWebSocketAsync("events", cancellationToken).ConfigureAwait(false);
        var buffer = new byte[16 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return ExitCodes.Ok;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
                await context.StdOut.WriteLineAsync(context.Json ? text : Describe(text)).ConfigureAwait(false);
                await context.StdOut.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (WebSocketException ex)
        {
            throw new CliException(ExitCodes.Failure, $"the event feed ended: {ex.Message}");
        }
    }

    /// <summary>One event as a line: <c>2026-11-28 14:00:00Z connected 3f2a…(64 hex) 127.0.0.1:4001 udp</c>, with the reason of lost and closed.</summary>
    private static string Describe(string json)
    {
        var e = JsonSerializer.Deserialize<EventMessage>(json, ApiErrorHandler.JsonOptions)
            ?? throw new CliException(ExitCodes.Failure, "the daemon sent an empty event");
        var reason = e.Reason.Length == 0 ? string.Empty : $"\t{e.Reason}";
        return $"{Render.Instant(e.Time)}\t{e.Kind}\t{e.Peer}\t{e.Remote}\t{e.Path}{reason}";
    }
}
