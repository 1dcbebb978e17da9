using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Overlay.Node.Api;
using Xunit.Abstractions;

namespace Overlay.Node.Tests;

/// <summary>The API token file and the API's body limits, on a real daemon process.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DaemonApiTests(ITestOutputHelper output)
{
    /// <summary>Most the daemon's resident set may grow (peak over the start) while it refuses or streams a body, bytes.</summary>
    private const long RssGrowthBound = 64L * 1024 * 1024;

    [Fact]
    public async Task TokenFile_IsMode0600_NewAtEachStart_UsedByTheCli_AndRemovedOnShutdown()
    {
        using var dir = new TempDir();
        var dataDir = Path.Combine(dir.Path, "node");
        var tokenPath = Path.Combine(dataDir, "api.token");
        await using var daemon = await DaemonProcess.StartAsync(dataDir, null);
        var first = daemon.Token;

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenPath));
        Assert.Matches("^[0-9a-f]{64}$", first);
        var id = await daemon.CliAsync("id", "--json");
        Assert.True(id.ExitCode == 0, id.ToString());
        Assert.Equal(daemon.Id, id.Json().GetProperty("id").GetString());

        // The CLI pointed at the right API but the wrong data directory has no token: refused, and told where it looked.
        var elsewhere = await DaemonProcess.RunCliAsync("id", "--api", daemon.ApiUrl.Replace("http://", string.Empty, StringComparison.Ordinal), "--data-dir", Path.Combine(dir.Path, "other"));
        Assert.Equal(ExitCodes.Refused, elsewhere.ExitCode);
        Assert.Contains(Path.Combine(dir.Path, "other", "api.token"), elsewhere.StdErr, StringComparison.Ordinal);
        Assert.Single(elsewhere.StdErr.Trim().Split('\n'));

        Assert.Equal(0, await daemon.StopAsync());
        Assert.False(File.Exists(tokenPath), "the token file was left behind");
        await using var again = await DaemonProcess.StartAsync(dataDir, null);
        Assert.NotEqual(first, again.Token);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenPath));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HugePutBody_IsRefused_WithoutGrowingTheDaemon(bool declareLength)
    {
        using var dir = new TempDir();
        await using var daemon = await DaemonProcess.StartAsync(Path.Combine(dir.Path, "node"), null);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        await WarmUpAsync(daemon, http);
        var before = Memory(daemon.Pid);

        const long size = 200L * 1024 * 1024;
        var body = new PatternStream(size, """{"value":"""u8.ToArray());
        using var content = new StreamContent(body, 64 * 1024);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (declareLength)
        {
            content.Headers.ContentLength = size;
        }

        using var request = daemon.Request(HttpMethod.Post, "dht/put");
        request.Content = content;
        var outcome = await SendAllowingResetAsync(http, request);
        var after = Memory(daemon.Pid);
        output.WriteLine($"declared length {declareLength}: {outcome}; sent {body.BytesRead / 1048576.0:0.0} MiB; VmRSS before {before.Rss / 1048576.0:0.0} MiB, after {after.Rss / 1048576.0:0.0} MiB, peak after {after.Peak / 1048576.0:0.0} MiB");

        Assert.True(outcome is "413 too_large" or "connection closed", outcome);
        Assert.True(after.Peak - before.Rss < RssGrowthBound, $"the daemon grew from {before.Rss} to a peak of {after.Peak} bytes");
        Assert.False(daemon.HasExited, daemon.Log);
    }

    [Fact]
    public async Task LargeAdd_IsStreamedToTheStore_WithoutGrowingTheDaemon()
    {
        using var dir = new TempDir();
        await using var daemon = await DaemonProcess.StartAsync(Path.Combine(dir.Path, "node"), null);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        await WarmUpAsync(daemon, http);
        var before = Memory(daemon.Pid);

        const long size = 64L * 1024 * 1024;
        var body = new PatternStream(size);
        using var content = new StreamContent(body, 64 * 1024);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = size;
        using var request = daemon.Request(HttpMethod.Post, "add");
        request.Content = content;
        using var response = await http.SendAsync(request);
        var json = await response.Content.ReadAsStringAsync();
        var after = Memory(daemon.Pid);
        output.WriteLine($"add of {size / 1048576} MiB: {(int)response.StatusCode}; VmRSS before {before.Rss / 1048576.0:0.0} MiB, after {after.Rss / 1048576.0:0.0} MiB, peak after {after.Peak / 1048576.0:0.0} MiB");

        Assert.True(response.StatusCode == HttpStatusCode.OK, json);
        Assert.Contains($"\"bytes\":{size}", json, StringComparison.Ordinal);
        Assert.True(after.Peak - before.Rss < RssGrowthBound, $"the daemon grew from {before.Rss} to a peak of {after.Peak} bytes");
    }

    /// <summary>Runs one small put and one small add, so JIT and first-use allocations are in the baseline.</summary>
    private static async Task WarmUpAsync(DaemonProcess daemon, HttpClient http)
    {
        using (var put = daemon.Request(HttpMethod.Post, "dht/put"))
        {
            put.Content = new StringContent("""{"value":"warm-up"}""", Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(put);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        using (var add = daemon.Request(HttpMethod.Post, "add"))
        {
            add.Content = new ByteArrayContent(new byte[3 * 1024 * 1024]);
            add.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await http.SendAsync(add);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>Sends a request whose body the server may refuse before reading it all: then it may answer and close, or reset.</summary>
    /// <returns>"STATUS code" from the error body, or "connection closed".</returns>
    private static async Task<string> SendAllowingResetAsync(HttpClient http, HttpRequestMessage request)
    {
        try
        {
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var error = System.Text.Json.JsonSerializer.Deserialize<ErrorResponse>(body, ApiErrorHandler.JsonOptions);
            return $"{(int)response.StatusCode} {error?.Code}";
        }
        catch (HttpRequestException)
        {
            return "connection closed";
        }
        catch (IOException)
        {
            return "connection closed";
        }
    }

    /// <summary>Reads VmRSS and VmHWM (peak resident set) of a process from /proc, bytes.</summary>
    private static (long Rss, long Peak) Memory(int pid)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }

        Assert.True(rss > 0 && peak > 0, $"no VmRSS/VmHWM in /proc/{pid}/status");
        return (rss, peak);

        static long Kilobytes(string line) =>
            long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
