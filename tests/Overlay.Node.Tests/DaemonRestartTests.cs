using System.Net;
using System.Net.Sockets;

namespace Overlay.Node.Tests;

/// <summary>
/// Real daemon processes across starts and restarts: a bootstrap node that comes up late, a restart that rejoins
/// through the peer cache alone and re-announces what the node provides, and a second daemon on a data directory in use.
/// </summary>
public sealed class DaemonRestartTests : IDisposable
{
    private static readonly TimeSpan JoinBound = TimeSpan.FromSeconds(60);
    private static readonly Dictionary<string, string> FastRetries = new()
    {
        ["OVERLAY__Node__BootstrapRetryDelay"] = "00:00:00.100",
        ["OVERLAY__Node__BootstrapRetryMaxDelay"] = "00:00:01",
        ["OVERLAY__Node__JoinCheckInterval"] = "00:00:00.200",
        ["OVERLAY__Logging__LogLevel__Default"] = "Warning",
    };

    private readonly TempDir _root = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task BootstrapNodeDownAtStart_ThenUp_TheNodeJoinsWithinABound()
    {
        var port = FreePort();
        await using var late = await DaemonProcess.StartAsync(Path.Combine(_root.Path, "late"), $"127.0.0.1:{port}", FastRetries);

        // The joiner has tried and failed at least once before its bootstrap node exists.
        await WaitUntilAsync(() => late.Log.Contains("bootstrap attempt", StringComparison.Ordinal), "a failed bootstrap attempt in the log", late);
        Assert.Equal(0, await late.RoutingTableSizeAsync(_http));

        await using var bootstrap = await DaemonProcess.StartAsync(Path.Combine(_root.Path, "bootstrap"), null, FastRetries, port);
        await WaitUntilAsync(async () => await late.RoutingTableSizeAsync(_http) > 0, "the late node to join once its bootstrap node is up", late);
        await WaitUntilAsync(async () => await bootstrap.RoutingTableSizeAsync(_http) > 0, "the bootstrap node to learn of the late node", bootstrap);
    }

    [Fact]
    public async Task RestartedDaemon_WithoutBootstrapList_RejoinsThroughItsPeerCache_AndItsContentIsFound()
    {
        var first = await DaemonProcess.StartAsync(Path.Combine(_root.Path, "node-0"), null, FastRetries);
        await using var firstGuard = first;
        var others = new List<DaemonProcess>();
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                others.Add(await DaemonProcess.StartAsync(Path.Combine(_root.Path, $"node-{i}"), first.UdpEndPoint, FastRetries));
            }

            var provider = others[0];
            foreach (var daemon in others)
            {
                await WaitUntilAsync(async () => await daemon.RoutingTableSizeAsync(_http) >= 2, "every node to know two others", daemon);
            }

            var file = _root.Write("content.txt", "provided before a restart, found after it");
            var added = await provider.CliAsync("add", file, "--json");
            Assert.True(added.ExitCode == 0, added.ToString());
            var cid = added.Json().GetProperty("cid").GetString()!;
            await WaitUntilAsync(() => File.Exists(Path.Combine(provider.DataDir, "peers")), "the provider's peer cache", provider);

            // Restart the provider with no --bootstrap at all, and stop the node everyone bootstrapped from.
            Assert.Equal(0, await provider.StopAsync());
            Assert.Equal(0, await first.StopAsync());
            await using var restarted = await DaemonProcess.StartAsync(provider.DataDir, null, FastRetries);
            Assert.Equal(provider.Id, restarted.Id);
            await WaitUntilAsync(async () => await restarted.RoutingTableSizeAsync(_http) > 0, "the restarted node to rejoin from its peer cache", restarted);

            // Another node finds the restarted node as provider at its new address (its port was 0: a new one).
            var asker = others[2];
            string? endpoint = null;
            await WaitUntilAsync(
                async () =>
                {
                    var found = await asker.CliAsync("dht", "providers", cid, "--json");
                    endpoint = found.ExitCode == 0
                        ? found.Json().GetProperty("providers").EnumerateArray().Select(p => p.GetProperty("endpoint").GetString()).FirstOrDefault(e => e == restarted.UdpEndPoint)
                        : null;
                    return endpoint is not null;
                },
                "the restarted provider's new address in the DHT",
                asker);
            Assert.Equal(restarted.UdpEndPoint, endpoint);
        }
        finally
        {
            foreach (var daemon in others)
            {
                await daemon.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SecondDaemon_OnADataDirectoryInUse_StopsWithAClearError_AndLeavesTheFirstAlone()
    {
        var dataDir = Path.Combine(_root.Path, "shared");
        await using var first = await DaemonProcess.StartAsync(dataDir, null);
        var apiFile = await File.ReadAllTextAsync(Path.Combine(dataDir, "api"));

        var second = await DaemonProcess.RunCliAsync("node", "run", "--data-dir", dataDir, "--port", "0", "--api", "127.0.0.1:0");

        Assert.Equal(1, second.ExitCode);
        var line = Assert.Single(second.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: data directory", line, StringComparison.Ordinal);
        Assert.Contains($"in use by another overlay daemon (api {first.ApiUrl})", line, StringComparison.Ordinal);
        Assert.Equal(apiFile, await File.ReadAllTextAsync(Path.Combine(dataDir, "api")));
        var id = await first.CliAsync("id", "--json");
        Assert.True(id.ExitCode == 0, id.ToString());
        Assert.Equal(first.Id, id.Json().GetProperty("id").GetString());
    }

    public void Dispose()
    {
        _http.Dispose();
        _root.Dispose();
    }

    private static int FreePort()
    {
        // A port free for both UDP and TCP now; the test binds it again a moment later.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            try
            {
                using var tcp = new TcpListener(IPAddress.Loopback, port);
                tcp.Start();
                tcp.Stop();
                return port;
            }
            catch (SocketException)
            {
                // Taken for TCP: try another.
            }
        }

        throw new InvalidOperationException("no port free for both UDP and TCP on 127.0.0.1");
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what, DaemonProcess daemon) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, daemon);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, DaemonProcess daemon)
    {
        using var bound = new CancellationTokenSource(JoinBound);
        while (!await condition())
        {
            if (daemon.HasExited)
            {
                throw new InvalidOperationException($"daemon {daemon.DataDir} exited while waiting for {what}: {daemon.Log}");
            }

            try
            {
                await Task.Delay(100, bound.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no {what} within {JoinBound}; log of {daemon.DataDir}: {daemon.Log}");
            }
        }
    }
}
