using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Exchange;
using Overlay.Kademlia;
using Overlay.Storage;
using Overlay.Testing;
using Overlay.Transport.Connections;
using Overlay.Transport.Datagrams;
using Overlay.Transport.Sessions;

namespace Overlay.Node.Tests;

/// <summary>Ten real daemon processes on 127.0.0.1, node 0 the bootstrap contact of the rest.</summary>
public sealed class DaemonSwarmFixture : IAsyncLifetime
{
    public const int Size = 10;

    /// <summary>Leaf size of the daemons (256 KiB), so a 4 MiB file spans 17 blocks.</summary>
    public const int ChunkSize = 256 * 1024;

    private readonly List<DaemonProcess> _daemons = [];

    internal TempDir Root { get; } = new();

    internal IReadOnlyList<DaemonProcess> Daemons => _daemons;

    internal HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        var environment = new Dictionary<string, string>
        {
            ["OVERLAY__Storage__ChunkSize"] = ChunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OVERLAY__Node__GetTimeout"] = "00:00:20",
            ["OVERLAY__Logging__LogLevel__Default"] = "Warning",
        };
        _daemons.Add(await DaemonProcess.StartAsync(Path.Combine(Root.Path, "node-0"), null, environment));
        var starts = Enumerable.Range(1, Size - 1)
            .Select(i => DaemonProcess.StartAsync(Path.Combine(Root.Path, $"node-{i}"), _daemons[0].UdpEndPoint, environment));
        _daemons.AddRange(await Task.WhenAll(starts));

        // Joined = every node but the bootstrap node has a contact; bounded, polled through the API.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var daemon in _daemons.Skip(1))
        {
            while (await daemon.RoutingTableSizeAsync(Http) == 0)
            {
                await Task.Delay(100, bound.Token);
            }
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_daemons.Select(d => d.DisposeAsync().AsTask()));
        Http.Dispose();
        Root.Dispose();
    }
}

/// <summary>The main job through the CLI against real daemon processes: add, get by CID through the DHT, bad providers.</summary>
public sealed class DaemonSwarmTests(DaemonSwarmFixture fixture) : IClassFixture<DaemonSwarmFixture>
{
    /// <summary>The exchange on sessions over either path: over UDP between the swarm's daemons, and from a daemon that
    /// runs sessions over TCP only (<c>Node:UdpSessions</c> false) to the same providers.</summary>
    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task AddOnOneDaemon_GetOnAnother_ThroughTheCli_WithACorruptProvider_DetectsIt_AndStoresNoBadBlock(string path)
    {
        var daemons = fixture.Daemons;
        await using var tcpOnly = path == "tcp"
            ? await DaemonProcess.StartAsync(Path.Combine(fixture.Root.Path, "tcp-only"), daemons[0].UdpEndPoint, new Dictionary<string, string>
            {
                ["OVERLAY__Storage__ChunkSize"] = DaemonSwarmFixture.ChunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["OVERLAY__Node__GetTimeout"] = "00:00:20",
                ["OVERLAY__Node__UdpSessions"] = "false",
                ["OVERLAY__Logging__LogLevel__Default"] = "Warning",
            })
            : null;
        var getter = tcpOnly ?? daemons[9];
        if (tcpOnly is not null)
        {
            using var joined = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await tcpOnly.RoutingTableSizeAsync(fixture.Http) == 0)
            {
                await Task.Delay(100, joined.Token);
            }
        }

        var file = fixture.Root.Write($"input-{path}.bin", string.Empty);
        var content = new byte[(4 * 1024 * 1024) + 12_345];
        new Random(path == "udp" ? 2024 : 2025).NextBytes(content);
        await File.WriteAllBytesAsync(file, content);

        var added = await daemons[2].CliAsync("add", file, "--json");
        Assert.True(added.ExitCode == 0, added.ToString());
        var cid = Cid.Parse(added.Json().GetProperty("cid").GetString()!);

        // A malicious provider joins the swarm, holds the same DAG, serves every block with one byte flipped and
        // announces itself as a provider of the CID.
        await using var evil = await CorruptProvider.StartAsync(content, daemons[0].UdpEndPoint);
        Assert.Equal(cid, evil.Root);
        var announced = await evil.Dht.ProvideAsync(ContentKeys.Of(cid));
        Assert.True(announced.StoredOn > 0, "the corrupt provider's record was stored nowhere");
        var seen = await getter.CliAsync("dht", "providers", cid.ToString(), "--json");
        Assert.True(seen.ExitCode == 0, seen.ToString());
        Assert.Equal(2, seen.Json().GetProperty("providers").GetArrayLength());

        var output = Path.Combine(fixture.Root.Path, $"output-{path}.bin");
        var got = await getter.CliAsync("get", cid.ToString(), "-o", output, "--json");

        Assert.True(got.ExitCode == 0, got.ToString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(output))));
        var fetch = got.Json().GetProperty("fetch");
        Assert.True(fetch.GetProperty("badBlocks").GetInt32() >= 1, $"the corrupt provider was never asked: {got.StdOut}");
        Assert.True(fetch.GetProperty("providersDropped").GetInt32() >= 1, got.StdOut);
        Assert.True(evil.BlocksServed >= 1);
        var connections = await getter.CliAsync("connections", "--json");
        Assert.True(connections.ExitCode == 0, connections.ToString());
        Assert.Equal(path, connections.Json().GetProperty("connections").EnumerateArray()
            .Single(c => c.GetProperty("peer").GetString() == daemons[2].Id).GetProperty("path").GetString());

        // Every block the fetching daemon stored hashes to its CID; none was quarantined.
        var store = new FileBlockStore(Path.Combine(getter.DataDir, "blocks"));
        var stored = 0;
        await foreach (var block in store.ListAsync())
        {
            Assert.NotNull(await store.GetAsync(block));
            stored++;
        }

        Assert.Equal(evil.BlockCount, stored);
        Assert.Equal(0, store.CorruptBlocksDetected);
        Assert.False(Directory.Exists(Path.Combine(getter.DataDir, "quarantine")) && Directory.EnumerateFiles(Path.Combine(getter.DataDir, "quarantine")).Any());
    }

    [Fact]
    public async Task Connect_ThroughTheCli_ByIdAndByAddress_ShowsOnBothSides_OnTheEventFeed_AndAWrongIdFails()
    {
        // Daemons 4 and 7 take part in no other test of this class, so no session between them exists yet.
        var (a, b) = (fixture.Daemons[4], fixture.Daemons[7]);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var feed = new System.Net.WebSockets.ClientWebSocket();
        feed.Options.SetRequestHeader("Authorization", $"Bearer {b.Token}");
        await feed.ConnectAsync(new Uri(b.ApiUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/api/v0/events"), bound.Token);

        var byId = await a.CliAsync("connect", b.Id, "--json");
        var byAddress = await a.CliAsync("connect", b.UdpEndPoint);
        var listed = await b.CliAsync("connections", "--json");
        var wrongId = await a.CliAsync("connect", $"{new string('0', 64)}@{b.UdpEndPoint}");

        Assert.True(byId.ExitCode == 0, byId.ToString());
        var connection = byId.Json().GetProperty("connection");
        Assert.Equal(b.Id, connection.GetProperty("peer").GetString());
        Assert.Equal("outbound", connection.GetProperty("direction").GetString());
        Assert.False(byId.Json().GetProperty("reused").GetBoolean());
        Assert.True(byAddress.ExitCode == 0, byAddress.ToString());
        Assert.StartsWith("already connected: " + b.Id, byAddress.StdOut, StringComparison.Ordinal);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var inbound = listed.Json().GetProperty("connections").EnumerateArray().Single(c => c.GetProperty("peer").GetString() == a.Id);
        Assert.Equal("inbound", inbound.GetProperty("direction").GetString());
        Assert.Equal(1, wrongId.ExitCode);
        Assert.Contains("is not the one dialled", wrongId.StdErr, StringComparison.Ordinal);

        var buffer = new byte[4096];
        var message = await feed.ReceiveAsync(buffer, bound.Token);
        using var first = System.Text.Json.JsonDocument.Parse(buffer.AsMemory(0, message.Count));
        Assert.Equal("connected", first.RootElement.GetProperty("kind").GetString());
        Assert.Equal(a.Id, first.RootElement.GetProperty("peer").GetString());
    }

    [Fact]
    public async Task Events_WithoutAWebSocketUpgrade_IsABadRequest_AndWithoutTheTokenUnauthorized()
    {
        var daemon = fixture.Daemons[1];
        using var plain = daemon.Request(HttpMethod.Get, "events");
        using var answer = await fixture.Http.SendAsync(plain);
        using var anonymous = new System.Net.WebSockets.ClientWebSocket();

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Contains("WebSocket", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var refused = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() =>
            anonymous.ConnectAsync(new Uri(daemon.ApiUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/api/v0/events"), CancellationToken.None));
        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_OfACidNobodyProvides_FailsWithNoProviders_AndExitCode3()
    {
        var nobody = Cid.Compute(Cid.RawCodec, "content that no node of this swarm holds"u8);

        var run = await fixture.Daemons[5].CliAsync("get", nobody.ToString(), "-o", Path.Combine(fixture.Root.Path, "never.bin"));

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Contains("no providers", run.StdErr, StringComparison.Ordinal);
        Assert.Single(run.StdErr.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(fixture.Root.Path, "never.bin")));
    }

    [Fact]
    public async Task DhtPutOnOneDaemon_GetOnAnother_AndFindNode_ThroughTheCli()
    {
        var daemons = fixture.Daemons;
        var put = await daemons[3].CliAsync("dht", "put", "a value stored through the CLI", "--json");
        Assert.True(put.ExitCode == 0, put.ToString());
        var key = put.Json().GetProperty("key").GetString()!;

        var get = await daemons[7].CliAsync("dht", "get", key, "--json");
        var find = await daemons[4].CliAsync("dht", "find-node", daemons[8].Id, "--json");

        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal("a value stored through the CLI", get.Json().GetProperty("value").GetString());
        Assert.True(find.ExitCode == 0, find.ToString());
        var closest = find.Json().GetProperty("closest").EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToList();
        Assert.Equal(daemons.Select(d => d.Id).OrderBy(id => NodeId.Parse(id).DistanceTo(NodeId.Parse(daemons[8].Id))).ToList(), closest);
    }

    [Fact]
    public async Task PipedPeers_IsOneContactPerLine_IdFirst_AndNeverSplit()
    {
        var run = await fixture.Daemons[1].CliAsync("peers");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.Matches("^[0-9a-f]{64}\t127\\.0\\.0\\.1:\\d+$", line));
        Assert.Contains(fixture.Daemons[0].Id, lines.Select(l => l.Split('\t')[0]));
    }

    /// <summary>An in-process node that provides a DAG but serves every block corrupted, on sessions proving its node ID
    /// over UDP and TCP, one port number for both, as a daemon does.</summary>
    private sealed class CorruptProvider : IAsyncDisposable
    {
        private readonly DatagramDemux _datagrams;
        private readonly UdpSessionHost _sessions;
        private readonly UdpLinkAcceptor _udpAcceptor;
        private readonly ConnectionManager _connections;
        private readonly TcpLinkAcceptor _acceptor;
        private readonly BlockExchangeServer _server;
        private readonly CorruptingStore _store;

        private CorruptProvider(DatagramDemux datagrams, UdpSessionHost sessions, UdpLinkAcceptor udpAcceptor, KademliaNode dht, ConnectionManager connections, TcpLinkAcceptor acceptor, BlockExchangeServer server, CorruptingStore store, ImportResult imported)
        {
            _datagrams = datagrams;
            _sessions = sessions;
            _udpAcceptor = udpAcceptor;
            Dht = dht;
            _connections = connections;
            _acceptor = acceptor;
            _server = server;
            _store = store;
            Root = imported.Root;
            BlockCount = imported.BlockCount;
        }

        public KademliaNode Dht { get; }

        public Cid Root { get; }

        public int BlockCount { get; }

        public int BlocksServed => _store.Served;

        public static async Task<CorruptProvider> StartAsync(byte[] content, string bootstrap)
        {
            var honest = new MemoryBlockStore();
            var imported = await UnixFsImporter.ImportAsync(new MemoryStream(content), honest, new ImportOptions { ChunkSize = DaemonSwarmFixture.ChunkSize });
            var store = new CorruptingStore(honest);
            var datagrams = new DatagramDemux(UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), 1024 * 1024));
            var identity = NodeIdentity.Generate();
            var dht = new KademliaNode(identity, datagrams.For(DatagramKind.Dht), UdpTestSwarm.LoopbackOptions(), TimeProvider.System, NullLoggerFactory.Instance);
            dht.Start();
            var sessions = new UdpSessionHost(identity, datagrams.For(DatagramKind.Session));
            sessions.Start();
            var connections = new ConnectionManager(identity.Id, new ConnectionManagerOptions(), [], TimeProvider.System);
            var acceptor = new TcpLinkAcceptor(TcpStreamListener.Start(datagrams.LocalEndPoint), identity, connections, TimeProvider.System);
            var udpAcceptor = new UdpLinkAcceptor(sessions, connections);
            connections.Start();
            acceptor.Start();
            udpAcceptor.Start();
            var server = new BlockExchangeServer(store, new ExchangeOptions(), TimeProvider.System, NullLogger<BlockExchangeServer>.Instance);
            server.Start(connections.Listen(BlockExchangeServer.ProtocolName));
            var joined = await dht.BootstrapAsync([IPEndPoint.Parse(bootstrap)]);
            Assert.True(joined.ContactsReached == 1, "the corrupt provider could not reach the bootstrap daemon");
            return new CorruptProvider(datagrams, sessions, udpAcceptor, dht, connections, acceptor, server, store, imported);
        }

        public async ValueTask DisposeAsync()
        {
            await _acceptor.DisposeAsync();
            await _udpAcceptor.DisposeAsync();
            await _server.DisposeAsync();
            await _connections.DisposeAsync();
            await _sessions.DisposeAsync();
            await Dht.DisposeAsync();
            await _datagrams.DisposeAsync();
        }
    }

    /// <summary>Holds honest blocks but returns each with its first byte flipped.</summary>
    private sealed class CorruptingStore(MemoryBlockStore inner) : IBlockStore
    {
        private int _served;

        public int Served => Volatile.Read(ref _served);

        public ValueTask<bool> HasAsync(Cid cid, CancellationToken cancellationToken = default) => inner.HasAsync(cid, cancellationToken);

        public async ValueTask<byte[]?> GetAsync(Cid cid, CancellationToken cancellationToken = default)
        {
            var block = await inner.GetAsync(cid, cancellationToken);
            if (block is { Length: > 0 })
            {
                block[0] ^= 0xFF;
                Interlocked.Increment(ref _served);
            }

            return block;
        }

        public ValueTask PutAsync(Cid cid, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default) => inner.PutAsync(cid, block, cancellationToken);

        public ValueTask<bool> DeleteAsync(Cid cid, CancellationToken cancellationToken = default) => inner.DeleteAsync(cid, cancellationToken);

        public IAsyncEnumerable<Cid> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
    }
}

/// <summary>Start-up and shutdown of a single daemon process.</summary>
public sealed class DaemonLifecycleTests
{
    [Fact]
    public async Task MalformedConfig_StopsStartUp_WithOneLineNamingTheField_AndExitCode2()
    {
        using var dir = new TempDir();
        var wrongType = dir.Write("wrong-type.json", """{ "Kademlia": { "BucketSize": "twenty" } }""");
        var badJson = dir.Write("bad.json", "{ \"Node\": { \"Port\": 4001, }\n  \"Kademlia\": ");

        var typeRun = await DaemonProcess.RunCliAsync("node", "run", "--config", wrongType, "--data-dir", Path.Combine(dir.Path, "d1"), "--port", "0", "--api", "127.0.0.1:0");
        var jsonRun = await DaemonProcess.RunCliAsync("node", "run", "--config", badJson, "--data-dir", Path.Combine(dir.Path, "d2"), "--port", "0", "--api", "127.0.0.1:0");

        Assert.Equal(ExitCodes.Usage, typeRun.ExitCode);
        Assert.Contains("Kademlia:BucketSize", typeRun.StdErr, StringComparison.Ordinal);
        Assert.Single(typeRun.StdErr.Trim().Split('\n'));
        Assert.Equal(ExitCodes.Usage, jsonRun.ExitCode);
        Assert.Contains("invalid JSON at line", jsonRun.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Sigterm_StopsTheDaemonCleanly_ExitCode0_AndRemovesTheApiFile_KeepingTheIdentity()
    {
        using var dir = new TempDir();
        var dataDir = Path.Combine(dir.Path, "node");
        await using var daemon = await DaemonProcess.StartAsync(dataDir, null);
        var apiFile = Path.Combine(dataDir, "api");
        Assert.True(File.Exists(apiFile));
        var mode = File.GetUnixFileMode(Path.Combine(dataDir, "identity.key"));

        var exit = await daemon.StopAsync();
        var apiFileLeft = File.Exists(apiFile);
        await using var again = await DaemonProcess.StartAsync(dataDir, null);

        Assert.Equal(0, exit);
        Assert.False(apiFileLeft, "the api file was left behind");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        Assert.Equal(daemon.Id, again.Id);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Sigterm_WithAnEventFeedOpen_StopsCleanly_AndClosesTheFeed()
    {
        using var dir = new TempDir();
        await using var daemon = await DaemonProcess.StartAsync(Path.Combine(dir.Path, "node"), null);
        using var feed = new System.Net.WebSockets.ClientWebSocket();
        feed.Options.SetRequestHeader("Authorization", $"Bearer {daemon.Token}");
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await feed.ConnectAsync(new Uri(daemon.ApiUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/api/v0/events"), bound.Token);

        // StopAsync kills the process (and answers null) if it has not exited 10 s after SIGTERM.
        var exit = await daemon.StopAsync();
        var last = await feed.ReceiveAsync(new byte[256], bound.Token);

        Assert.Equal(0, exit);
        Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Close, last.MessageType);
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, feed.CloseStatus);
    }
}
