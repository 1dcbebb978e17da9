using System.Globalization;
using System.Text.Json;
using Overlay.Node.Cli;
using Overlay.Storage;

namespace Overlay.Node.Tests;

/// <summary>One real daemon (logging at Warning, so its stderr stays empty unless something is wrong) shared by the CLI cases.</summary>
public sealed class CliFixture : IAsyncLifetime
{
    internal TempDir Root { get; } = new();

    internal DaemonProcess Daemon { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Daemon = await DaemonProcess.StartAsync(Path.Combine(Root.Path, "daemon"), null, new Dictionary<string, string>
        {
            ["OVERLAY__Logging__LogLevel__Default"] = "Warning",
            ["OVERLAY__Node__GetTimeout"] = "00:00:10",
        });
    }

    public async Task DisposeAsync()
    {
        await Daemon.DisposeAsync();
        Root.Dispose();
    }
}

/// <summary>
/// The CLI's error policy through the real executable (piped, as a script would run it): exit codes, one-line errors
/// with no .NET type names, <c>--json</c> errors, refusals with reasons, CID forms, overwrite protection, corrupt blocks.
/// </summary>
public sealed class CliTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    private static readonly Dictionary<string, string> QuietLog = new() { ["OVERLAY__Logging__LogLevel__Default"] = "Warning" };

    private DaemonProcess Daemon => fixture.Daemon;

    [Theory]
    [InlineData(new[] { "frobnicate" }, "error: unknown command 'frobnicate' (see overlay --help)")]
    [InlineData(new string[0], "error: overlay needs a command: overlay <node|id|status|peers|ping|dht|connections|connect|add|get|cat> (see overlay --help)")]
    [InlineData(new[] { "dht" }, "error: overlay dht needs a command: overlay dht <find-node|put|get|providers> (see overlay dht --help)")]
    [InlineData(new[] { "dht", "put", "x", "--mutable", "--seq", "abc" }, "error: --seq: 'abc' is not a whole number ≥ 0")]
    [InlineData(new[] { "node", "run", "--port", "abc" }, "error: --port: 'abc' is not a port number (0..65535; 0 = any free port)")]
    public async Task UsageErrors_AreOneLine_Exit2_AndNameNoDotNetType(string[] args, string line)
    {
        var run = await DaemonProcess.RunCliAsync(args);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal(line, run.StdErr.Trim());
        Assert.Equal(string.Empty, run.StdOut);
    }

    [Fact]
    public async Task ParseErrorWithJson_IsOneJsonObjectOnStdout()
    {
        var run = await DaemonProcess.RunCliAsync("dht", "put", "x", "--mutable", "--seq", "abc", "--json");

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal(string.Empty, run.StdErr);
        Assert.Equal("--seq: 'abc' is not a whole number ≥ 0", run.Json().GetProperty("error").GetString());
        Assert.Equal("usage", run.Json().GetProperty("code").GetString());
    }

    [Fact]
    public async Task ApiErrorWithJson_IsTheApiBodyOnStdout_WithTheSameExitCode()
    {
        var key = new string('a', 64);

        var run = await Daemon.CliAsync("dht", "get", key, "--json");

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Equal(string.Empty, run.StdErr);
        Assert.Equal("not_found", run.Json().GetProperty("code").GetString());
        Assert.Contains($"no record for key {key}", run.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableDaemonWithJson_IsCodeUnreachable_Exit4()
    {
        var run = await DaemonProcess.RunCliAsync("id", "--json", "--api", "127.0.0.1:9");

        Assert.Equal(ExitCodes.DaemonUnreachable, run.ExitCode);
        Assert.Equal("unreachable", run.Json().GetProperty("code").GetString());
    }

    [Fact]
    public async Task ProvidersOfAnUnknownCid_IsNotFound_Exit3_SayingHowManyNodesWereAsked()
    {
        var nobody = Cid.Compute(Cid.RawCodec, "no daemon provides this"u8);

        var run = await Daemon.CliAsync("dht", "providers", nobody.ToString());

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Matches($"^error: no providers for {nobody} \\(asked \\d+ nodes in [0-9.]+ s\\)$", run.StdErr.Trim());
    }

    [Fact]
    public async Task MutablePut_WithoutSeq_TakesTheNext_AndAStaleSeqIsRefused_Exit5_WithTheReason()
    {
        var salt = "seq-" + Guid.NewGuid().ToString("N");
        var first = await Daemon.CliAsync("dht", "put", "first", "--mutable", "--salt", salt, "--json");
        var second = await Daemon.CliAsync("dht", "put", "second", "--mutable", "--salt", salt, "--json");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(0, first.Json().GetProperty("sequence").GetInt64());
        Assert.Equal(1, second.Json().GetProperty("sequence").GetInt64());
        var key = second.Json().GetProperty("key").GetString()!;

        var got = await Daemon.CliAsync("dht", "get", key, "--json");
        var stale = await Daemon.CliAsync("dht", "put", "third", "--mutable", "--salt", salt, "--seq", "0");
        var staleJson = await Daemon.CliAsync("dht", "put", "third", "--mutable", "--salt", salt, "--seq", "1", "--json");

        Assert.True(got.ExitCode == 0, got.ToString());
        Assert.Equal("second", got.Json().GetProperty("value").GetString());
        Assert.Equal(1, got.Json().GetProperty("sequence").GetInt64());
        Assert.Equal(ExitCodes.Refused, stale.ExitCode);
        Assert.Equal($"error: the record for key {key} was refused by 1 node: stale sequence (a record with sequence 1 is stored; use --seq 2 or omit --seq)", stale.StdErr.Trim());
        Assert.Equal(ExitCodes.Refused, staleJson.ExitCode);
        Assert.Equal("refused", staleJson.Json().GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("--salt", "the salt is 70 bytes (UTF-8); a salt is at most 64 bytes")]
    [InlineData("VALUE", "the value is 1001 bytes; a record value is at most 1000 bytes (Kademlia:MaxValueBytes)")]
    public async Task TooLongSaltOrValue_IsExit2_WithoutAParameterName(string which, string message)
    {
        string[] args = which == "--salt"
            ? ["dht", "put", "v", "--mutable", "--salt", new string('s', 70)]
            : ["dht", "put", new string('v', 1001)];

        var run = await Daemon.CliAsync(args);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal($"error: {message}", run.StdErr.Trim());
        Assert.DoesNotContain("(Parameter", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_RefusesToOverwriteWithoutForce_BeforeFetching_AndReplacesWithForce()
    {
        var content = RandomBytes(3000, 11);
        var cid = await AddAsync(content);
        var output = fixture.Root.Write("existing.bin", "keep me");

        var refused = await Daemon.CliAsync("get", cid, "-o", output);
        Assert.Equal(ExitCodes.Usage, refused.ExitCode);
        Assert.Equal($"error: {output} exists; use --force to replace it", refused.StdErr.Trim());
        Assert.Equal("keep me", await File.ReadAllTextAsync(output));

        // Checked before any fetch: even a CID nobody has is refused for the existing file, with exit 2 and not 3.
        var nobody = await Daemon.CliAsync("get", Cid.Compute(Cid.RawCodec, "nobody"u8).ToString(), "-o", output);
        Assert.Equal(ExitCodes.Usage, nobody.ExitCode);

        var forced = await Daemon.CliAsync("get", cid, "-o", output, "--force");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Equal(content, await File.ReadAllBytesAsync(output));
    }

    [Fact]
    public async Task CidV0AndOtherMultibases_AreAccepted_AndPrintedAsCidV1Base32()
    {
        // ASCII, so cat's stdout can be compared as text.
        var content = RandomBytes((2 * 1024 * 1024) + 77, 12).Select(b => (byte)('a' + (b % 26))).ToArray();
        var cid = Cid.Parse(await AddAsync(content));
        Assert.Equal(Cid.DagPbCodec, cid.Codec);
        var v0 = SimpleBase.Base58.Bitcoin.Encode(cid.Multihash.Span);
        var base58 = "z" + SimpleBase.Base58.Bitcoin.Encode(cid.ToBytes());
        var base16 = "F" + Convert.ToHexString(cid.ToBytes());
        Assert.StartsWith("Qm", v0, StringComparison.Ordinal);

        var catV0 = await Daemon.CliAsync("cat", v0);
        var output = Path.Combine(fixture.Root.Path, "from-base16.bin");
        var got = await Daemon.CliAsync("get", base16, "-o", output, "--json");

        // A lone daemon holds no provider record (it is not among the k closest of anything): the error names the CIDv1.
        var providers = await Daemon.CliAsync("dht", "providers", base58, "--json");

        Assert.True(catV0.ExitCode == 0, catV0.StdErr);
        Assert.Equal(System.Text.Encoding.ASCII.GetString(content), catV0.StdOut);
        Assert.True(got.ExitCode == 0, got.ToString());
        Assert.Equal(cid.ToString(), got.Json().GetProperty("cid").GetString());
        Assert.Equal(content, await File.ReadAllBytesAsync(output));
        Assert.Equal(ExitCodes.NotFound, providers.ExitCode);
        Assert.StartsWith($"no providers for {cid} ", providers.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cat")]
    [InlineData("get")]
    public async Task ACorruptBlockInTheDaemonsStore_IsNamed_Exit1(string command)
    {
        var content = RandomBytes((2 * 1024 * 1024) + 5, command == "cat" ? 21 : 22);
        var root = Cid.Parse(await AddAsync(content));
        var links = DagPb.GetLinks(root, await File.ReadAllBytesAsync(BlockPath(root)));
        var victim = links[1];
        var bytes = await File.ReadAllBytesAsync(BlockPath(victim));
        bytes[100] ^= 0x5a;
        await File.WriteAllBytesAsync(BlockPath(victim), bytes);

        var run = command == "cat"
            ? await Daemon.CliAsync("cat", root.ToString())
            : await Daemon.CliAsync("get", root.ToString(), "-o", Path.Combine(fixture.Root.Path, "corrupt.bin"));

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Equal($"error: block {victim} of {root} is corrupt in the daemon's store (quarantined); run `overlay get` again to fetch it from providers", run.StdErr.Trim());
        Assert.False(File.Exists(BlockPath(victim)), "the corrupt block was not quarantined");
        Assert.False(File.Exists(Path.Combine(fixture.Root.Path, "corrupt.bin")));
    }

    [Fact]
    public async Task PipedFields_AreTabSeparatedLines_WithWholeIds()
    {
        var run = await Daemon.CliAsync("id");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal($"ID\t{Daemon.Id}", lines[0]);
        Assert.All(lines, line => Assert.Equal(2, line.Split('\t').Length));
        Assert.DoesNotContain("│", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APortTaken_EndsWithOneErrorLine_NamingThePort_NoStack()
    {
        var udpPort = Daemon.UdpEndPoint.Split(':')[1];
        var apiPort = new Uri(Daemon.ApiUrl).Port.ToString(CultureInfo.InvariantCulture);

        var udp = await DaemonProcess.RunCliAsync(QuietLog, "node", "run", "--data-dir", Path.Combine(fixture.Root.Path, "second-udp"), "--port", udpPort, "--api", "127.0.0.1:0");
        var api = await DaemonProcess.RunCliAsync(QuietLog, "node", "run", "--data-dir", Path.Combine(fixture.Root.Path, "second-api"), "--port", "0", "--api", $"127.0.0.1:{apiPort}");

        foreach (var (run, port) in new[] { (udp, udpPort), (api, apiPort) })
        {
            Assert.Equal(ExitCodes.Failure, run.ExitCode);
            var line = Assert.Single(run.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{port} is in use", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.StdErr, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", run.StdErr, StringComparison.Ordinal);
        }

        Assert.Contains("--port", udp.StdErr, StringComparison.Ordinal);
        Assert.Contains("--api", api.StdErr, StringComparison.Ordinal);
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private async Task<string> AddAsync(byte[] content)
    {
        var file = Path.Combine(fixture.Root.Path, Guid.NewGuid().ToString("N") + ".bin");
        await File.WriteAllBytesAsync(file, content);
        var added = await Daemon.CliAsync("add", file);
        Assert.True(added.ExitCode == 0, added.ToString());
        return added.StdOut.Trim();
    }

    /// <summary>Where the daemon's FileBlockStore keeps a block: &lt;data-dir&gt;/blocks/blocks/&lt;two characters before the CID's last&gt;/&lt;cid&gt;.data.</summary>
    private string BlockPath(Cid cid)
    {
        var text = cid.ToString();
        return Path.Combine(Daemon.DataDir, "blocks", "blocks", text.Substring(text.Length - 3, 2), text + ".data");
    }
}
