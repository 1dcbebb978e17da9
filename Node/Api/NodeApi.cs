using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Overlay.Exchange;
using Overlay.Kademlia;
using Overlay.Node.Content;
using Overlay.Node.Daemon;
using Overlay.Storage;

namespace Overlay.Node.Api;

/// <summary>
/// The handlers of the local API (<c>/api/v0/...</c>), over one <see cref="NodeRuntime"/>. Each returns a response
/// record or throws <see cref="ApiException"/>; <see cref="ApiErrorHandler"/> writes the error. Durations are measured
/// with the runtime's <see cref="TimeProvider"/>. Thread-safe: handlers share no mutable state.
/// </summary>
internal sealed class NodeApi(NodeRuntime runtime, NodeMetrics metrics, ILogger<NodeApi> logger)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly StreamFailures _streamFailures = new();

    private TimeProvider Time => runtime.TimeProvider;

    /// <summary>GET id: the node's identity and addresses.</summary>
    /// <returns>ID, public key (base64), UDP endpoint, API URL.</returns>
    public IdResponse GetId() =>
        new(runtime.Dht.Id.ToString(), Convert.ToBase64String(runtime.Identity.PublicKey.Span), runtime.EndPoint.ToString(), runtime.ApiUrl);

    /// <summary>GET status: counters of the DHT and the block store.</summary>
    /// <returns>The snapshot.</returns>
    public StatusResponse GetStatus()
    {
        var stats = runtime.Dht.GetStatistics();
        var uptime = Time.GetUtcNow() - runtime.StartedAt;
        return new StatusResponse(
            runtime.Dht.Id.ToString(),
            runtime.EndPoint.ToString(),
            Math.Round(uptime.TotalSeconds, 3),
            stats.RoutingTableSize,
            stats.RecordsStored,
            stats.ProviderRecordsStored,
            runtime.Store.Count,
            runtime.Store.TotalBytes,
            stats.DatagramsReceived,
            stats.DatagramsDropped,
            stats.RequestsServed,
            stats.RequestsSent,
            stats.Timeouts);
    }

    /// <summary>GET peers: the routing table.</summary>
    /// <returns>Every contact.</returns>
    public PeersResponse GetPeers() =>
        new(runtime.Dht.GetContacts().Select(c => new ContactResponse(c.Id.ToString(), c.EndPoint.ToString())).ToArray());

    /// <summary>POST ping?addr=HOST:PORT: pings a node.</summary>
    /// <param name="address">The node's UDP <c>host:port</c>.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> for a malformed or unresolvable address; <see cref="ApiError.NotFound"/> when no PONG arrived.</exception>
    public async Task<PingResponse> PingAsync(string? address, CancellationToken cancellationToken = default)
    {
        var hostPort = ApiInput.ParseHostPort(address);
        IPEndPoint endPoint;
        try
        {
            endPoint = await hostPort.ResolveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new ApiException(ApiError.BadRequest, $"'{ApiInput.Quote(address)}' does not resolve: {ex.Message}", ex);
        }

        var started = Time.GetTimestamp();
        var result = await runtime.Dht.PingAsync(endPoint, cancellationToken).ConfigureAwait(false);
        if (!result.Success)
        {
            throw new ApiException(ApiError.NotFound, $"no answer from {endPoint} within {Seconds(Time.GetElapsedTime(started))}");
        }

        return new PingResponse(result.EndPoint.ToString(), true, result.Id?.ToString(), result.RoundTrip.TotalMilliseconds, result.ObservedEndPoint?.ToString());
    }

    /// <summary>GET dht/find-node/{id}: an iterative FIND_NODE.</summary>
    /// <param name="id">The target, 64 hexadecimal characters.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The closest nodes and the lookup's cost.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/>: <paramref name="id"/> is not a node ID.</exception>
    public async Task<FindNodeResponse> FindNodeAsync(string? id, CancellationToken cancellationToken = default)
    {
        var target = ApiInput.ParseNodeId(id, "node ID");
        var lookup = await runtime.Dht.FindNodeAsync(target, cancellationToken).ConfigureAwait(false);
        var closest = lookup.Closest
            .Select(c => new ClosestResponse(c.Id.ToString(), c.EndPoint.ToString(), c.Id.DistanceTo(target).ToString()))
            .ToArray();
        return new FindNodeResponse(target.ToString(), closest, lookup.Rounds, lookup.MessagesSent, lookup.Failures, lookup.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// POST dht/put: stores an immutable or (signed by this node) mutable record, expiring after Kademlia:RecordTtl. A
    /// mutable record without a sequence takes the next one after the highest found under its key (a lookup bounded by
    /// Node:GetTimeout first; 0 when none is found).
    /// </summary>
    /// <param name="request">The request; its body is a JSON <see cref="PutRequest"/>.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The key, the sequence used, how many nodes stored it, and the refusals by reason when some refused.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/>: the body is malformed, the value is missing, not base64 or too large, or the salt or sequence is invalid; <see cref="ApiError.Refused"/>: no node stored it and some refused (the message gives each reason); <see cref="ApiError.NoAnswer"/>: no node answered at all.</exception>
    public async Task<PutResponse> PutAsync(HttpRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = await JsonSerializer.DeserializeAsync<PutRequest>(request.Body, ApiErrorHandler.JsonOptions, cancellationToken).ConfigureAwait(false)
            ?? throw new ApiException(ApiError.BadRequest, "the body must be a JSON object {value | valueBase64, mutable, salt, sequence}");
        var value = DecodeValue(body);
        if (!body.Mutable && (body.Salt is not null || body.Sequence is not null))
        {
            throw new ApiException(ApiError.BadRequest, "salt and sequence apply only to mutable records (set mutable: true)");
        }

        var maxValue = Math.Min(runtime.Settings.Kademlia.MaxValueBytes, KademliaOptions.DefaultMaxValueBytes);
        if (value.Length > maxValue)
        {
            throw new ApiException(ApiError.BadRequest, $"the value is {value.Length} bytes; a record value is at most {maxValue} bytes (Kademlia:MaxValueBytes)");
        }

        var salt = Encoding.UTF8.GetBytes(body.Salt ?? string.Empty);
        if (salt.Length > DhtRecord.MaxSaltBytes)
        {
            throw new ApiException(ApiError.BadRequest, $"the salt is {salt.Length} bytes (UTF-8); a salt is at most {DhtRecord.MaxSaltBytes} bytes");
        }

        if (body.Sequence is < 0)
        {
            throw new ApiException(ApiError.BadRequest, $"sequence {body.Sequence} is negative; a sequence is a whole number ≥ 0");
        }

        long? storedSequence = null;
        long? sequence = null;
        if (body.Mutable)
        {
            if (body.Sequence is { } given)
            {
                sequence = given;
            }
            else
            {
                storedSequence = await HighestSequenceAsync(DhtRecord.MutableKey(runtime.Identity.PublicKey.Span, salt), cancellationToken).ConfigureAwait(false);
                sequence = storedSequence switch
                {
                    null => 0,
                    long.MaxValue => throw new ApiException(ApiError.Refused, $"the stored record has sequence {long.MaxValue}, the highest there is; use another salt"),
                    var s => s + 1,
                };
            }
        }

        var expires = Time.GetUtcNow() + runtime.Settings.Kademlia.RecordTtl;
        PutResult result;
        try
        {
            var record = sequence is { } seq
                ? DhtRecord.CreateMutable(runtime.Identity, salt, value, seq, expires)
                : DhtRecord.CreateImmutable(value, expires);
            result = await runtime.Dht.PutAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            // What is left here is the datagram-size check; its text is for users, its parameter name is not.
            throw new ApiException(ApiError.BadRequest, ApiInput.WithoutParameterName(ex), ex);
        }

        if (result.StoredOn == 0)
        {
            if (result.Refusals == 0)
            {
                throw new ApiException(ApiError.NoAnswer, $"no node accepted the record for key {result.Key}: 0 of {result.Lookup.Closest.Count} answered");
            }

            if (sequence is { } tried && storedSequence is null && result.RefusalsByStatus.ContainsKey(StoreRefusal.StaleSequence))
            {
                storedSequence = await HighestSequenceAsync(result.Key, cancellationToken).ConfigureAwait(false);
                storedSequence = storedSequence >= tried ? storedSequence : null;
            }

            var nodes = result.Refusals == 1 ? "1 node" : $"{result.Refusals} nodes";
            throw new ApiException(ApiError.Refused, $"the record for key {result.Key} was refused by {nodes}: {StoreRefusals.Describe(result.RefusalsByStatus, storedSequence, sequence)}");
        }

        return new PutResponse(result.Key.ToString(), result.StoredOn, result.Refusals, sequence, StoreRefusals.ByCode(result.RefusalsByStatus));
    }

    /// <summary>GET dht/get/{key}: looks up a record, bounded by Node:GetTimeout.</summary>
    /// <param name="key">The key, 64 hexadecimal characters.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The record.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> for a malformed key; <see cref="ApiError.NotFound"/> when no record was found in time.</exception>
    public async Task<RecordResponse> GetRecordAsync(string? key, CancellationToken cancellationToken = default)
    {
        var id = ApiInput.ParseNodeId(key, "key");
        var timeout = runtime.Settings.Node.GetTimeout;
        var result = await GetBoundedAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new ApiException(ApiError.NotFound, $"no record for key {id} found within {Seconds(timeout)} (Node:GetTimeout)");
        var record = result.Record
            ?? throw new ApiException(ApiError.NotFound, $"no record for key {id} (asked {result.Lookup.MessagesSent} nodes in {Seconds(result.Lookup.Elapsed)})");
        return new RecordResponse(
            id.ToString(),
            TryDecodeUtf8(record.Value.Span),
            Convert.ToBase64String(record.Value.Span),
            record.IsMutable,
            record.Sequence,
            record.IsMutable ? Convert.ToBase64String(record.PublicKey.Span) : null,
            record.Expires);
    }

    /// <summary>GET dht/providers/{cid}: finds providers of a CID, at most Node:MaxProviders, bounded by Node:GetTimeout.</summary>
    /// <param name="cidText">The CID.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The providers found (at least one).</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> for a malformed CID; <see cref="ApiError.NoProviders"/> when none was found (the message says how many nodes were asked) or the lookup did not finish in time.</exception>
    public async Task<ProvidersResponse> GetProvidersAsync(string? cidText, CancellationToken cancellationToken = default)
    {
        var cid = ApiInput.ParseCid(cidText);
        var started = Time.GetTimestamp();
        var found = await FindProvidersAsync(cid, cancellationToken).ConfigureAwait(false);
        if (found.Providers.Count == 0)
        {
            throw new ApiException(ApiError.NoProviders, $"no providers for {cid} (asked {found.Lookup.MessagesSent} nodes in {Seconds(Time.GetElapsedTime(started))})");
        }

        var providers = found.Providers
            .Select(p => new ProviderResponse(p.ProviderId.ToString(), p.EndPoint.ToString(), p.Expires))
            .ToArray();
        return new ProvidersResponse(cid.ToString(), found.Key.ToString(), providers);
    }

    /// <summary>
    /// POST add: imports the request body (streamed, never buffered whole) as a UnixFS file into the store with the
    /// Storage options, then announces this node as its provider.
    /// </summary>
    /// <param name="request">The request; its body is the file's bytes.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>The root CID and counts.</returns>
    public async Task<AddResponse> AddAsync(HttpRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Time.GetTimestamp();
        var imported = await UnixFsImporter.ImportAsync(request.Body, runtime.Store, runtime.Settings.Storage.ToImportOptions(), null, cancellationToken).ConfigureAwait(false);
        metrics.Added(imported.FileBytes);
        var provided = await runtime.Dht.ProvideAsync(ContentKeys.Of(imported.Root), cancellationToken).ConfigureAwait(false);
        var elapsed = Time.GetElapsedTime(started);
        NodeLog.Added(logger, imported.Root.ToString(), imported.FileBytes, imported.BlockCount, provided.StoredOn, elapsed);
        return new AddResponse(imported.Root.ToString(), imported.FileBytes, imported.BlockCount, provided.StoredOn, elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// POST fetch/{cid}: makes the DAG complete in the local store. When blocks are missing: finds providers (bounded
    /// by Node:GetTimeout, our own record excluded), fetches the DAG from them (bounded by Node:FetchTimeout), and
    /// announces this node as a provider, since it now holds a copy.
    /// </summary>
    /// <param name="cidText">The root CID.</param>
    /// <param name="cancellationToken">The request's token.</param>
    /// <returns>What was fetched, and the file size.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> for a malformed CID; <see cref="ApiError.NoProviders"/> when nobody else provides it; <see cref="ApiError.FetchFailed"/> when the exchange failed or timed out; <see cref="ApiError.BadContent"/> when the DAG is not a UnixFS file.</exception>
    public async Task<FetchResponse> FetchAsync(string? cidText, CancellationToken cancellationToken = default)
    {
        var cid = ApiInput.ParseCid(cidText);
        var started = Time.GetTimestamp();
        if (await IsCompleteAsync(cid, cancellationToken).ConfigureAwait(false))
        {
            var localSize = await FileSizeAsync(cid, cancellationToken).ConfigureAwait(false);
            return new FetchResponse(cid.ToString(), 0, 0, 0, 0, 0, Time.GetElapsedTime(started).TotalMilliseconds, localSize);
        }

        var found = await FindProvidersAsync(cid, cancellationToken).ConfigureAwait(false);
        var self = runtime.Dht.Id;
        var endPoints = found.Providers.Where(p => p.ProviderId != self).Select(p => new PeerAddress(p.EndPoint, p.ProviderId)).Distinct().ToArray();
        if (endPoints.Length == 0)
        {
            var lookupTime = Time.GetElapsedTime(started);
            metrics.NoProviders();
            NodeLog.NoProviders(logger, cid.ToString(), found.Lookup.MessagesSent, lookupTime);
            throw new ApiException(ApiError.NoProviders, $"no providers for {cid} (asked {found.Lookup.MessagesSent} nodes in {Seconds(lookupTime)})");
        }

        var fetchTimeout = runtime.Settings.Node.FetchTimeout;
        FetchResult fetched;
        using (var bound = new CancellationTokenSource(fetchTimeout, Time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token))
        {
            try
            {
                fetched = await runtime.Fetcher.FetchDagAsync(cid, endPoints, null, linked.Token).ConfigureAwait(false);
            }
            catch (ExchangeException ex)
            {
                NodeLog.FetchFailed(logger, cid.ToString(), Time.GetElapsedTime(started), ex.Message);
                throw new ApiException(ApiError.FetchFailed, $"fetching {cid} from {endPoints.Length} providers failed: {ex.Message}", ex);
            }
            catch (OperationCanceledException ex) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                var reason = $"not complete within {Seconds(fetchTimeout)} (Node:FetchTimeout)";
                NodeLog.FetchFailed(logger, cid.ToString(), Time.GetElapsedTime(started), reason);
                throw new ApiException(ApiError.FetchFailed, $"fetching {cid} from {endPoints.Length} providers failed: {reason}", ex);
            }
        }

        metrics.Fetched(fetched.BytesFetched, fetched.Elapsed);
        NodeLog.Fetched(logger, cid.ToString(), fetched.BlocksFetched, fetched.BytesFetched, endPoints.Length, fetched.Elapsed, fetched.BadBlocks, fetched.ProvidersDropped);
        var provided = await runtime.Dht.ProvideAsync(ContentKeys.Of(cid), cancellationToken).ConfigureAwait(false);
        NodeLog.Providing(logger, cid.ToString(), provided.StoredOn);
        var size = await FileSizeAsync(cid, cancellationToken).ConfigureAwait(false);
        return new FetchResponse(
            cid.ToString(),
            fetched.BlocksFetched,
            fetched.BytesFetched,
            endPoints.Length,
            fetched.BadBlocks,
            fetched.ProvidersDropped,
            Time.GetElapsedTime(started).TotalMilliseconds,
            size);
    }

    /// <summary>
    /// GET cat/{cid}: streams the file from the local store with Content-Length set to the file size. Defects found
    /// before the first byte are a 422 (or 500 <c>corrupt_block</c>); after it, the connection is aborted (see
    /// <see cref="ApiErrorHandler"/>) and the reason is kept for <see cref="GetCatStatus"/>. A block is verified as it is
    /// read (<see cref="FileBlockStore"/> quarantines a corrupt one), not before the first byte: that would read every
    /// block twice.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="cidText">The root CID.</param>
    /// <returns>A task that completes when the body is written.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> for a malformed CID; <see cref="ApiError.NotFound"/> when a block is not local; <see cref="ApiError.BadContent"/> when the DAG is not a UnixFS file.</exception>
    public async Task CatAsync(HttpContext context, string? cidText)
    {
        ArgumentNullException.ThrowIfNull(context);
        var cid = ApiInput.ParseCid(cidText);
        var cancellationToken = context.RequestAborted;
        if (!await IsCompleteAsync(cid, cancellationToken).ConfigureAwait(false))
        {
            throw new ApiException(ApiError.NotFound, $"{cid} is not complete in the local store (POST /api/v0/fetch/{cid} first)");
        }

        var size = await FileSizeAsync(cid, cancellationToken).ConfigureAwait(false);
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = size;
        context.Response.Headers.ETag = $"\"{cid}\"";
        try
        {
            await UnixFsExporter.ExportAsync(cid, (block, ct) => GetLocalBlockAsync(cid, block, ct), context.Response.Body, null, cancellationToken).ConfigureAwait(false);
            _streamFailures.Clear(cid);
        }
        catch (ApiException ex) when (ex.Error == ApiError.CorruptBlock)
        {
            _streamFailures.Record(cid, ex.Message);
            throw;
        }
        catch (InvalidDataException ex)
        {
            var error = new ApiException(ApiError.BadContent, $"{cid} is not a valid UnixFS file: {ex.Message}", ex);
            _streamFailures.Record(cid, error.Message);
            throw error;
        }
    }

    /// <summary>GET cat/{cid}/status: why the last <c>cat</c> of <paramref name="cidText"/> broke after its first byte, if it did.</summary>
    /// <param name="cidText">The root CID.</param>
    /// <returns>The CID and the reason, or a null reason.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/> for a malformed CID.</exception>
    public CatStatusResponse GetCatStatus(string? cidText)
    {
        var cid = ApiInput.ParseCid(cidText);
        return new CatStatusResponse(cid.ToString(), _streamFailures.Get(cid));
    }

    /// <summary>Formats a duration as seconds with one decimal, e.g. "2.5 s".</summary>
    /// <param name="duration">The duration.</param>
    /// <returns>The text.</returns>
    internal static string Seconds(TimeSpan duration) => duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    /// <summary>Returns the value as text when it is valid UTF-8, else null.</summary>
    /// <param name="value">The bytes.</param>
    /// <returns>The text or null.</returns>
    internal static string? TryDecodeUtf8(ReadOnlySpan<byte> value)
    {
        try
        {
            return StrictUtf8.GetString(value);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Returns the value bytes of a put request: exactly one of value (UTF-8) and valueBase64.</summary>
    /// <param name="body">The request.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="ApiException"><see cref="ApiError.BadRequest"/>: neither or both are set, or valueBase64 is not base64.</exception>
    internal static byte[] DecodeValue(PutRequest body)
    {
        if ((body.Value is null) == (body.ValueBase64 is null))
        {
            throw new ApiException(ApiError.BadRequest, "give exactly one of 'value' (text) and 'valueBase64'");
        }

        if (body.Value is not null)
        {
            return Encoding.UTF8.GetBytes(body.Value);
        }

        try
        {
            return Convert.FromBase64String(body.ValueBase64!);
        }
        catch (FormatException ex)
        {
            throw new ApiException(ApiError.BadRequest, $"'valueBase64' is not base64: {ex.Message}", ex);
        }
    }

    /// <summary>Reads a block of <paramref name="root"/>'s DAG for export; a block that is gone says whether it was corrupt (the store's count of corrupt reads moved).</summary>
    private async ValueTask<byte[]> GetLocalBlockAsync(Cid root, Cid cid, CancellationToken cancellationToken)
    {
        var corruptBefore = runtime.Store.CorruptBlocksDetected;
        var block = await runtime.Store.GetAsync(cid, cancellationToken).ConfigureAwait(false);
        if (block is not null)
        {
            return block;
        }

        var what = runtime.Store.CorruptBlocksDetected != corruptBefore
            ? "is corrupt in the daemon's store (quarantined)"
            : "disappeared from the daemon's store while it was read";
        throw new ApiException(ApiError.CorruptBlock, $"block {cid} of {root} {what}; run `overlay get` again to fetch it from providers");
    }

    /// <summary>Looks a key up, bounded by Node:GetTimeout; null when the bound passed first.</summary>
    private async Task<GetResult?> GetBoundedAsync(NodeId key, CancellationToken cancellationToken)
    {
        using var bound = new CancellationTokenSource(runtime.Settings.Node.GetTimeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        try
        {
            return await runtime.Dht.GetAsync(key, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Returns the highest sequence of a mutable record found under <paramref name="key"/>, or null when none was found in time.</summary>
    private async Task<long?> HighestSequenceAsync(NodeId key, CancellationToken cancellationToken) =>
        await GetBoundedAsync(key, cancellationToken).ConfigureAwait(false) is { Record: { IsMutable: true } record } ? record.Sequence : null;

    private async Task<ProvidersResult> FindProvidersAsync(Cid cid, CancellationToken cancellationToken)
    {
        var timeout = runtime.Settings.Node.GetTimeout;
        using var bound = new CancellationTokenSource(timeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        try
        {
            return await runtime.Dht.GetProvidersAsync(ContentKeys.Of(cid), runtime.Settings.Node.MaxProviders, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            metrics.NoProviders();
            NodeLog.NoProviders(logger, cid.ToString(), 0, timeout);
            throw new ApiException(ApiError.NoProviders, $"no providers for {cid} (the lookup did not finish within {Seconds(timeout)}, Node:GetTimeout)", ex);
        }
    }

    private async Task<bool> IsCompleteAsync(Cid cid, CancellationToken cancellationToken)
    {
        try
        {
            return await LocalDag.IsCompleteAsync(runtime.Store, cid, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw new ApiException(ApiError.BadContent, $"{cid} is not a valid UnixFS file: {ex.Message}", ex);
        }
    }

    private async Task<long> FileSizeAsync(Cid cid, CancellationToken cancellationToken)
    {
        try
        {
            return await LocalDag.GetFileSizeAsync(runtime.Store, cid, cancellationToken).ConfigureAwait(false)
                ?? throw new ApiException(ApiError.NotFound, $"{cid} is not in the local store");
        }
        catch (InvalidDataException ex)
        {
            throw new ApiException(ApiError.BadContent, $"{cid} is not a valid UnixFS file: {ex.Message}", ex);
        }
    }
}
