using System.Diagnostics;
using System.Security.Cryptography;

namespace Overlay.Node.Tests;

/// <summary>
/// A path where UDP between two daemons is dropped (iptables rules on the loopback interface, both directions, for
/// exactly their two ports; removed afterwards): `overlay get` still completes, over a TCP session, while the same get
/// between daemons with UDP open runs over UDP. Needs root and iptables (.ci/run installs it).
/// </summary>
public sealed class UdpBlockedTests : IDisposable
{
    private static readonly Dictionary<string, string> Quiet = new() { ["OVERLAY__Logging__LogLevel__Default"] = "Warning" };
    private readonly TempDir _root = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Get_BetweenDaemonsWhoseUdpIsBlocked_CompletesOverTcp_AndWithUdpOpenRunsOverUdp()
    {
        await using var hub = await DaemonProcess.StartAsync(Path.Combine(_root.Path, "hub"), null, Quiet);
        await using var provider = await DaemonProcess.StartAsync(Path.Combine(_root.Path, "provider"), hub.UdpEndPoint, Quiet);
        await using var blocked = await DaemonProcess.StartAsync(Path.Combine(_root.Path, "blocked"), hub.UdpEndPoint, Quiet);
        await using var open = await DaemonProcess.StartAsync(Path.Combine(_root.Path, "open"), hub.UdpEndPoint, Quiet);
        foreach (var daemon in new[] { provider, blocked, open })
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await daemon.RoutingTableSizeAsync(_http) == 0)
            {
                await Task.Delay(100, bound.Token);
            }
        }

        var content = new byte[3 << 20];
        new Random(77).NextBytes(content);
        var file = Path.Combine(_root.Path, "content.bin");
        await File.WriteAllBytesAsync(file, content);
        var added = await provider.CliAsync("add", file, "--json");
        Assert.True(added.ExitCode == 0, added.ToString());
        var cid = added.Json().GetProperty("cid").GetString()!;

        await using (await UdpBlock.BetweenAsync(Port(provider), Port(blocked)))
        {
            var viaTcp = await blocked.CliAsync("get", cid, "-o", Path.Combine(_root.Path, "via-tcp.bin"), "--json");
            Assert.True(viaTcp.ExitCode == 0, viaTcp.ToString());
            Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(_root.Path, "via-tcp.bin"))));
            Assert.Equal("tcp", await PathToAsync(blocked, provider));
        }

        var viaUdp = await open.CliAsync("get", cid, "-o", Path.Combine(_root.Path, "via-udp.bin"), "--json");
        Assert.True(viaUdp.ExitCode == 0, viaUdp.ToString());
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(_root.Path, "via-udp.bin"))));
        Assert.Equal("udp", await PathToAsync(open, provider));
    }

    public void Dispose()
    {
        _http.Dispose();
        _root.Dispose();
    }

    private static int Port(DaemonProcess daemon) => System.Net.IPEndPoint.Parse(daemon.UdpEndPoint).Port;

    private static async Task<string> PathToAsync(DaemonProcess from, DaemonProcess to)
    {
        var listed = await from.CliAsync("connections", "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        return listed.Json().GetProperty("connections").EnumerateArray()
            .Single(c => c.GetProperty("peer").GetString() == to.Id)
            .GetProperty("path").GetString()!;
    }

    /// <summary>iptables rules that drop UDP between two loopback ports, both directions; disposal removes them.</summary>
    private sealed class UdpBlock : IAsyncDisposable
    {
        private readonly string[][] _rules;

        private UdpBlock(string[][] rules) => _rules = rules;

        public static async Task<UdpBlock> BetweenAsync(int a, int b)
        {
            string[][] rules =
            [
                ["OUTPUT", "-o", "lo", "-p", "udp", "--sport", $"{a}", "--dport", $"{b}", "-j", "DROP"],
                ["OUTPUT", "-o", "lo", "-p", "udp", "--sport", $"{b}", "--dport", $"{a}", "-j", "DROP"],
            ];
            foreach (var rule in rules)
            {
                await RunAsync(["-I", .. rule]);
            }

            return new UdpBlock(rules);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var rule in _rules)
            {
                await RunAsync(["-D", .. rule]);
            }
        }

        private static async Task RunAsync(string[] arguments)
        {
            var start = new ProcessStartInfo("iptables") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            Process process;
            try
            {
                process = Process.Start(start) ?? throw new InvalidOperationException("iptables did not start");
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new InvalidOperationException("this test needs iptables (apt-get install -y iptables; .ci/run installs it) and root", ex);
            }

            using (process)
            {
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await process.WaitForExitAsync(bound.Token);
                Assert.True(process.ExitCode == 0, $"iptables {string.Join(' ', arguments)} failed: {await process.StandardError.ReadToEndAsync()}");
            }
        }
    }
}
