using System.Globalization;
using System.Net.Http.Json;
using Overlay.Node.Api;
using Spectre.Console;

namespace Overlay.Node.Cli;

/// <summary>The CLI commands that query the daemon: id, status, peers, ping, dht find-node/put/get/providers.</summary>
internal static class InfoCommands
{
    /// <summary><c>overlay id</c>: the daemon's identity.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> IdAsync(CliContext context, CancellationToken cancellationToken = default)
    {
        using var client = context.CreateClient();
        var (id, json) = await client.SendJsonAsync<IdResponse>(HttpMethod.Get, "id", null, cancellationToken).ConfigureAwait(false);
        return await WriteAsync(context, json, () => Render.Fields(
            ("ID", id.Id),
            ("Public key", id.PublicKey),
            ("Endpoint", id.Endpoint),
            ("API", id.ApiUrl))).ConfigureAwait(false);
    }

    /// <summary><c>overlay status</c>: counters.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> StatusAsync(CliContext context, CancellationToken cancellationToken = default)
    {
        using var client = context.CreateClient();
        var (s, json) = await client.SendJsonAsync<StatusResponse>(HttpMethod.Get, "status", null, cancellationToken).ConfigureAwait(false);
        return await WriteAsync(context, json, () => Render.Fields(
            ("ID", s.Id),
            ("Endpoint", s.Endpoint),
            ("Uptime", TimeSpan.FromSeconds(Math.Floor(s.UptimeSeconds)).ToString("c", CultureInfo.InvariantCulture)),
            ("Routing table", Render.Number(s.RoutingTableSize)),
            ("Records stored", Render.Number(s.RecordsStored)),
            ("Provider records", Render.Number(s.ProviderRecordsStored)),
            ("Blocks", Render.Number(s.Blocks)),
            ("Block bytes", Render.Bytes(s.BlockBytes)),
            ("Datagrams received", Render.Number(s.DatagramsReceived)),
            ("Datagrams dropped", Render.Number(s.DatagramsDropped)),
            ("Requests served", Render.Number(s.RequestsServed)),
            ("Requests sent", Render.Number(s.RequestsSent)),
            ("Timeouts", Render.Number(s.Timeouts)))).ConfigureAwait(false);
    }

    /// <summary><c>overlay peers</c>: the routing table.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> PeersAsync(CliContext context, CancellationToken cancellationToken = default)
    {
        using var client = context.CreateClient();
        var (peers, json) = await client.SendJsonAsync<PeersResponse>(HttpMethod.Get, "peers", null, cancellationToken).ConfigureAwait(false);
        return await WriteAsync(context, json, () => Render.Rows(["ID", "Endpoint"], peers.Contacts.Select(c => new[] { c.Id, c.Endpoint }))
            .WithCaption($"{peers.Contacts.Count} contacts")).ConfigureAwait(false);
    }

    /// <summary><c>overlay ping HOST:PORT</c>.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="address">The node's UDP address.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code (3 when unanswered).</returns>
    public static async Task<int> PingAsync(CliContext context, string address, CancellationToken cancellationToken = default)
    {
        ApiInput.ParseHostPort(address);
        using var client = context.CreateClient();
        var (pong, json) = await client.SendJsonAsync<PingResponse>(HttpMethod.Post, "ping?addr=" + Uri.EscapeDataString(address), null, cancellationToken).ConfigureAwait(false);
        if (context.Json)
        {
            await context.StdOut.WriteLineAsync(json).ConfigureAwait(false);
        }
        else
        {
            var observed = pong.ObservedEndpoint is null ? string.Empty : $" (it sees us as {pong.ObservedEndpoint})";
            await context.StdOut.WriteLineAsync($"pong from {pong.Id} at {pong.Endpoint} in {Render.Millis(pong.RoundTripMs)}{observed}").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    /// <summary><c>overlay dht find-node ID</c>.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="id">The target ID.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> FindNodeAsync(CliContext context, string id, CancellationToken cancellationToken = default)
    {
        var target = ApiInput.ParseNodeId(id, "node ID");
        using var client = context.CreateClient();
        var (found, json) = await client.SendJsonAsync<FindNodeResponse>(HttpMethod.Get, $"dht/find-node/{target}", null, cancellationToken).ConfigureAwait(false);
        return await WriteAsync(context, json, () => Render.Rows(
                ["ID", "Endpoint", "Distance"],
                found.Closest.Select(c => new[] { c.Id, c.Endpoint, c.Distance }))
            .WithCaption($"{found.Closest.Count} closest; {found.Rounds} rounds, {found.Messages} messages, {found.Failures} failures, {Render.Millis(found.ElapsedMs)}")).ConfigureAwait(false);
    }

    /// <summary><c>overlay dht put VALUE [--mutable --salt S --seq N]</c>.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="value">The value text (stored as UTF-8).</param>
    /// <param name="mutable">Whether to store a mutable record signed by the daemon's key.</param>
    /// <param name="salt">The salt of a mutable record, or null.</param>
    /// <param name="sequence">The sequence number of a mutable record, or null for one more than the highest the daemon finds (0 when none).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> PutAsync(CliContext context, string value, bool mutable, string? salt, long? sequence, CancellationToken cancellationToken = default)
    {
        if (!mutable && (salt is not null || sequence is not null))
        {
            throw new CliException(ExitCodes.Usage, "--salt and --seq apply only with --mutable");
        }

        using var client = context.CreateClient();
        var request = new PutRequest { Value = value, Mutable = mutable, Salt = salt, Sequence = sequence };
        using var content = JsonContent.Create(request, options: ApiErrorHandler.JsonOptions);
        var (put, json) = await client.SendJsonAsync<PutResponse>(HttpMethod.Post, "dht/put", content, cancellationToken).ConfigureAwait(false);
        var refusals = put.Refusals == 0
            ? "0"
            : $"{Render.Number(put.Refusals)} ({StoreRefusals.Describe(put.RefusalsByReason)})";
        return await WriteAsync(context, json, () => Render.Fields(
            ("Key", put.Key),
            ("Sequence", put.Sequence is { } s ? Render.Number(s) : "- (immutable)"),
            ("Stored on", Render.Number(put.StoredOn)),
            ("Refusals", refusals))).ConfigureAwait(false);
    }

    /// <summary><c>overlay dht get KEY</c>.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code (3 when not found).</returns>
    public static async Task<int> GetAsync(CliContext context, string key, CancellationToken cancellationToken = default)
    {
        var id = ApiInput.ParseNodeId(key, "key");
        using var client = context.CreateClient();
        var (record, json) = await client.SendJsonAsync<RecordResponse>(HttpMethod.Get, $"dht/get/{id}", null, cancellationToken).ConfigureAwait(false);
        return await WriteAsync(context, json, () => Render.Fields(
            ("Key", record.Key),
            ("Value", record.Value ?? "(not UTF-8; see base64)"),
            ("Value (base64)", record.ValueBase64),
            ("Mutable", record.Mutable ? "yes" : "no"),
            ("Sequence", Render.Number(record.Sequence)),
            ("Public key", record.PublicKey),
            ("Expires", Render.Instant(record.Expires)))).ConfigureAwait(false);
    }

    /// <summary><c>overlay dht providers CID</c>.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="cid">The CID.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> ProvidersAsync(CliContext context, string cid, CancellationToken cancellationToken = default)
    {
        var parsed = ApiInput.ParseCid(cid);
        using var client = context.CreateClient();
        var (found, json) = await client.SendJsonAsync<ProvidersResponse>(HttpMethod.Get, $"dht/providers/{parsed}", null, cancellationToken).ConfigureAwait(false);
        return await WriteAsync(context, json, () => Render.Rows(
                ["ID", "Endpoint", "Expires"],
                found.Providers.Select(p => new[] { p.Id, p.Endpoint, Render.Instant(p.Expires) }))
            .WithCaption($"{found.Providers.Count} providers of {found.Cid} (key {found.Key})")).ConfigureAwait(false);
    }

    /// <summary>Writes the raw JSON with <c>--json</c>, else the table (see <see cref="Render.Write"/>).</summary>
    private static async Task<int> WriteAsync(CliContext context, string json, Func<TextTable> table)
    {
        if (context.Json)
        {
            await context.StdOut.WriteLineAsync(json).ConfigureAwait(false);
        }
        else
        {
            Render.Write(context, table());
        }

        return ExitCodes.Ok;
    }
}
