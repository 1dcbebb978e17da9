using System.Buffers;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Overlay.Node.Api;
using Spectre.Console;

namespace Overlay.Node.Cli;

/// <summary>
/// The CLI commands that move content: <c>add FILE</c>, <c>get CID -o FILE</c>, <c>cat CID</c>. Bodies are streamed
/// both ways (never held whole in memory). Progress bars (bytes, MB/s) and spinners appear on stderr only when
/// <see cref="CliContext.Progress"/> is set.
/// </summary>
internal static class ContentCommands
{
    /// <summary>Copy buffer, bytes: 128 KiB.</summary>
    private const int BufferBytes = 128 * 1024;

    /// <summary><c>overlay add FILE</c>: streams the file to the daemon and prints its CID (or the API's JSON).</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="CliException">Exit code 2 when the file does not exist or cannot be opened; API failures as mapped.</exception>
    public static async Task<int> AddAsync(CliContext context, string path, CancellationToken cancellationToken = default)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"cannot read {path}: {ex.Message}", ex);
        }

        await using (file.ConfigureAwait(false))
        {
            using var client = context.CreateClient();
            var length = file.Length;
            AddResponse added;
            string json;
            if (context.Progress is { } console && context.StdoutIsTerminal)
            {
                (added, json) = await console.Progress()
                    .AutoClear(true)
                    .Columns(ProgressColumns())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask($"add {Markup.Escape(Path.GetFileName(path))}", maxValue: Math.Max(1, length));
                        var result = await UploadAsync(client, file, length, read => task.Value = read, cancellationToken).ConfigureAwait(false);
                        task.Value = task.MaxValue;
                        return result;
                    }).ConfigureAwait(false);
            }
            else
            {
                (added, json) = await UploadAsync(client, file, length, null, cancellationToken).ConfigureAwait(false);
            }

            await context.StdOut.WriteLineAsync(context.Json ? json : added.Cid).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
    }

    /// <summary>
    /// <c>overlay get CID -o FILE</c>: asks the daemon to fetch the DAG, then streams the file into a temporary file
    /// next to <paramref name="output"/>, checks its length, and renames it into place (atomic on one file system).
    /// </summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="cid">The CID.</param>
    /// <param name="output">The file to write.</param>
    /// <param name="force">Whether an existing <paramref name="output"/> may be replaced.</param>
    /// <param name="cancellationToken">Cancels; the temporary file is removed.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="CliException">A bad CID or an existing file without <paramref name="force"/> (2), no providers (3), a failed fetch (1), a short body or corrupt block (1), unreachable daemon (4).</exception>
    public static async Task<int> GetAsync(CliContext context, string cid, string output, bool force = false, CancellationToken cancellationToken = default)
    {
        var parsed = ApiInput.ParseCid(cid).ToString();
        var destination = Path.GetFullPath(output);
        if (Directory.Exists(destination))
        {
            throw new CliException(ExitCodes.Usage, $"{output} is a directory; give a file name with -o");
        }

        if (!force && File.Exists(destination))
        {
            throw new CliException(ExitCodes.Usage, $"{output} exists; use --force to replace it");
        }

        var directory = Path.GetDirectoryName(destination)!;
        if (!Directory.Exists(directory))
        {
            throw new CliException(ExitCodes.Usage, $"directory {directory} does not exist");
        }

        var started = TimeProvider.System.GetTimestamp();
        using var client = context.CreateClient();
        var (fetched, fetchJson) = await FetchAsync(context, client, parsed, cancellationToken).ConfigureAwait(false);
        using var response = await client.SendStreamingAsync(HttpMethod.Get, $"cat/{parsed}", cancellationToken).ConfigureAwait(false);
        var expected = response.Content.Headers.ContentLength ?? fetched.Size;
        var temporary = Path.Combine(directory, $".{Path.GetFileName(destination)}.{Guid.NewGuid():N}.part");
        long written;
        byte[] sha256;
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferBytes, useAsync: true);
                await using (target.ConfigureAwait(false))
                {
                    (written, sha256) = await CopyWithProgressAsync(context, body, target, expected, $"get {parsed[..Math.Min(16, parsed.Length)]}…", cancellationToken).ConfigureAwait(false);
                    await target.FlushAsync(cancellationToken).ConfigureAwait(false);
                    target.Flush(flushToDisk: true);
                }
            }

            if (written != expected)
            {
                throw await TruncatedAsync(client, parsed, $"the daemon sent {written} of {expected} bytes of {parsed}", null, cancellationToken).ConfigureAwait(false);
            }

            File.Move(temporary, destination, overwrite: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            TryDelete(temporary);
            throw await TruncatedAsync(client, parsed, $"reading {parsed} from the daemon failed: {ex.Message}", ex, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        var elapsed = TimeProvider.System.GetElapsedTime(started);
        var hex = Convert.ToHexStringLower(sha256);
        if (context.Json)
        {
            var result = new JsonObject
            {
                ["cid"] = parsed,
                ["file"] = destination,
                ["bytes"] = written,
                ["sha256"] = hex,
                ["elapsedMs"] = elapsed.TotalMilliseconds,
                ["fetch"] = JsonNode.Parse(fetchJson),
            };
            await context.StdOut.WriteLineAsync(result.ToJsonString()).ConfigureAwait(false);
        }
        else
        {
            Render.Write(context, Render.Fields(
                ("CID", parsed),
                ("File", destination),
                ("Bytes", Render.Bytes(written)),
                ("SHA-256", hex),
                ("Fetched", fetched.Blocks == 0 ? "all blocks were local" : $"{fetched.Blocks} blocks, {Render.Bytes(fetched.Bytes)} from {fetched.Providers} providers"),
                ("Elapsed", Render.Millis(elapsed.TotalMilliseconds))));
        }

        return ExitCodes.Ok;
    }

    /// <summary><c>overlay cat CID</c>: asks the daemon to fetch the DAG, then streams the file to stdout.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="cid">The CID.</param>
    /// <param name="stdout">The raw standard output stream.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> CatAsync(CliContext context, string cid, Stream stdout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        var parsed = ApiInput.ParseCid(cid).ToString();
        using var client = context.CreateClient();
        var (fetched, _) = await FetchAsync(context, client, parsed, cancellationToken).ConfigureAwait(false);
        using var response = await client.SendStreamingAsync(HttpMethod.Get, $"cat/{parsed}", cancellationToken).ConfigureAwait(false);
        var expected = response.Content.Headers.ContentLength ?? fetched.Size;
        long written;
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                written = await CopyAsync(body, stdout, null, null, cancellationToken).ConfigureAwait(false);
            }

            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw await TruncatedAsync(client, parsed, $"reading {parsed} from the daemon failed: {ex.Message}", ex, cancellationToken).ConfigureAwait(false);
        }

        if (written != expected)
        {
            throw await TruncatedAsync(client, parsed, $"the daemon sent {written} of {expected} bytes of {parsed}", null, cancellationToken).ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/>, reporting cumulative bytes and hashing if asked.</summary>
    /// <param name="source">Read to its end.</param>
    /// <param name="destination">Written.</param>
    /// <param name="hash">Receives every byte, or null.</param>
    /// <param name="progress">Receives the cumulative count after each write, or null.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>Bytes copied.</returns>
    internal static async Task<long> CopyAsync(Stream source, Stream destination, IncrementalHash? hash, Action<long>? progress, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                hash?.AppendData(buffer, 0, read);
                total += read;
                progress?.Invoke(total);
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Builds the error for a body cut short: the daemon's reason from <c>GET cat/{cid}/status</c> (e.g. a corrupt
    /// block it quarantined) when it has one, else <paramref name="fallback"/>. Exit code 1 either way.
    /// </summary>
    private static async Task<CliException> TruncatedAsync(ApiClient client, string cid, string fallback, Exception? cause, CancellationToken cancellationToken)
    {
        try
        {
            var (status, _) = await client.SendJsonAsync<CatStatusResponse>(HttpMethod.Get, $"cat/{cid}/status", null, cancellationToken).ConfigureAwait(false);
            if (status.Failure is { Length: > 0 } reason)
            {
                return new CliException(ExitCodes.Failure, reason, cause, "corrupt_block");
            }
        }
        catch (CliException)
        {
            // The daemon went away or predates the status route: the transport's own words are all there is.
        }

        return new CliException(ExitCodes.Failure, fallback, cause);
    }

    private static async Task<(FetchResponse Value, string Json)> FetchAsync(CliContext context, ApiClient client, string cid, CancellationToken cancellationToken)
    {
        if (context.Progress is { } console)
        {
            return await console.Status()
                .Spinner(Spinner.Known.Dots)
                .StartAsync($"fetching {Markup.Escape(cid)}", _ =>
                    client.SendJsonAsync<FetchResponse>(HttpMethod.Post, $"fetch/{cid}", null, cancellationToken)).ConfigureAwait(false);
        }

        return await client.SendJsonAsync<FetchResponse>(HttpMethod.Post, $"fetch/{cid}", null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<(AddResponse Value, string Json)> UploadAsync(ApiClient client, Stream file, long length, Action<long>? onProgress, CancellationToken cancellationToken)
    {
        var body = onProgress is null ? file : new ProgressStream(file, onProgress);
        using var content = new StreamContent(body, BufferBytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = length;
        return await client.SendJsonAsync<AddResponse>(HttpMethod.Post, "add", content, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<(long Written, byte[] Sha256)> CopyWithProgressAsync(CliContext context, Stream source, Stream destination, long expected, string label, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long written;
        if (context.Progress is { } console && context.StdoutIsTerminal)
        {
            written = await console.Progress()
                .AutoClear(true)
                .Columns(ProgressColumns())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Markup.Escape(label), maxValue: Math.Max(1, expected));
                    var total = await CopyAsync(source, destination, hash, n => task.Value = n, cancellationToken).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                    return total;
                }).ConfigureAwait(false);
        }
        else
        {
            written = await CopyAsync(source, destination, hash, null, cancellationToken).ConfigureAwait(false);
        }

        return (written, hash.GetHashAndReset());
    }

    private static ProgressColumn[] ProgressColumns() =>
    [
        new TaskDescriptionColumn(),
        new ProgressBarColumn(),
        new PercentageColumn(),
        new DownloadedColumn(),
        new TransferSpeedColumn(),
        new RemainingTimeColumn(),
    ];

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the temporary file is hidden and named uniquely.
        }
    }
}
