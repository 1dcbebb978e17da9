using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Exchange.Wire;
using Overlay.Storage;
using Overlay.Testing.Streams;

namespace Overlay.Exchange.Tests;

public sealed class ExchangeTests : IAsyncLifetime
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);
    private readonly List<BlockExchangeServer> _servers = [];
    private readonly CancellationTokenSource _timeout = new(TestTimeout);
    private MemoryBlockStore _source = null!;
    private ImportResult _file = null!;
    private byte[] _content = null!;

    public async Task InitializeAsync()
    {
        // 300 KiB in 512-byte chunks: 600 leaves + 5 internal nodes (two levels of 174-link nodes).
        _content = new byte[300 * 1024];
        new Random(42).NextBytes(_content);
        _source = new MemoryBlockStore();
        _file = await UnixFsImporter.ImportAsync(new MemoryStream(_content), _source, new ImportOptions { ChunkSize = 512 });
        Assert.True(_source.Count > 600);
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _timeout.Dispose();
    }

    private IPEndPoint StartServer(IBlockStore store, ExchangeOptions? options = null)
    {
        var server = new BlockExchangeServer(store, options ?? new ExchangeOptions(), TimeProvider.System, NullLogger<BlockExchangeServer>.Instance);
        server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _servers.Add(server);
        return server.LocalEndPoint;
    }

    private static BlockFetcher CreateFetcher(IBlockStore store, ExchangeOptions? options = null) =>
        new(store, new TcpStreamConnector(), options ?? new ExchangeOptions(), TimeProvider.System, NullLogger<BlockFetcher>.Instance);

    private static async Task<byte[]> ExportAsync(Cid root, IBlockStore store)
    {
        var output = new MemoryStream();
        await UnixFsExporter.ExportAsync(root, async (cid, ct) => await store.GetAsync(cid, ct) ?? throw new InvalidDataException($"missing {cid}"), output);
        return output.ToArray();
    }

    private static async Task AssertEveryBlockMatches(MemoryBlockStore store)
    {
        await foreach (var cid in store.ListAsync())
        {
            Assert.NotNull(await store.GetAsync(cid));
        }

        Assert.Equal(0, store.CorruptBlocksDetected);
    }

    [Fact]
    public async Task Fetch_OverTheStreamSeam_InMemory_ReassemblesFile_AndThePerIpLimitSeesTheConnectorsAddress()
    {
        var network = new InMemoryStreamNetwork();
        var server = new BlockExchangeServer(_source, new ExchangeOptions { MaxConnectionsPerIp = 1 }, TimeProvider.System, NullLogger<BlockExchangeServer>.Instance);
        _servers.Add(server);
        var at = new IPEndPoint(IPAddress.Parse("10.1.0.1"), 4001);
        server.Start(network.Listen(at));
        Assert.Equal(at, server.LocalEndPoint);
        var requester = IPAddress.Parse("10.1.0.2");
        var target = new MemoryBlockStore();
        var fetcher = new BlockFetcher(target, network.ConnectorFrom(requester), new ExchangeOptions(), TimeProvider.System, NullLogger<BlockFetcher>.Instance);

        var result = await fetcher.FetchDagAsync(_file.Root, [at], cancellationToken: _timeout.Token);
        Assert.Equal(_source.Count, result.BlocksFetched);
        Assert.Equal(_content, await ExportAsync(_file.Root, target));

        // A second stream from the requester's address is over its limit of 1 and is closed at once.
        await using var first = await network.ConnectorFrom(requester).ConnectAsync(at, _timeout.Token);
        while (server.GetOpenConnectionsFrom(requester) != 1)
        {
            await Task.Delay(5, _timeout.Token);
        }

        await using var second = await network.ConnectorFrom(requester).ConnectAsync(at, _timeout.Token);
        Assert.Equal(0, await second.ReadAsync(new byte[1], _timeout.Token));
        Assert.Equal(1, server.GetRefusedCount(ConnectionRefusal.PerIp));
    }

    [Fact]
    public async Task Fetch_FromTwoHonestProviders_ReassemblesFile_AndUsesBoth()
    {
        var a = new CountingBlockStore(_source);
        var b = new CountingBlockStore(_source);
        PeerAddress[] providers = [StartServer(a), StartServer(b)];
        var target = new MemoryBlockStore();
        long lastProgress = 0;
        var result = await CreateFetcher(target).FetchDagAsync(_file.Root, providers, new SyncProgress(v => lastProgress = v), _timeout.Token);

        Assert.Equal(_source.Count, result.BlocksFetched);
        Assert.Equal(_source.TotalBytes, result.BytesFetched);
        Assert.Equal(result.BytesFetched, lastProgress);
        Assert.Equal(0, result.BadBlocks);
        Assert.Equal(0, result.ProvidersDropped);
        Assert.True(a.Gets > 0, "provider A was never asked");
        Assert.True(b.Gets > 0, "provider B was never asked");
        Assert.Equal(_content, await ExportAsync(_file.Root, target));

        // A second fetch finds everything local and fetches nothing.
        var again = await CreateFetcher(target).FetchDagAsync(_file.Root, providers, cancellationToken: _timeout.Token);
        Assert.Equal(0, again.BlocksFetched);
    }

    [Fact]
    public async Task Fetch_CorruptAndHonestProvider_DropsCorruptOne_StoresOnlyGoodBlocks()
    {
        PeerAddress[] providers = [StartServer(new CorruptingBlockStore(_source)), StartServer(_source)];
        var target = new MemoryBlockStore();
        var result = await CreateFetcher(target).FetchDagAsync(_file.Root, providers, cancellationToken: _timeout.Token);

        Assert.True(result.BadBlocks >= 1);
        Assert.Equal(1, result.ProvidersDropped);
        Assert.Equal(_source.Count, target.Count);
        await AssertEveryBlockMatches(target);
        Assert.Equal(_content, await ExportAsync(_file.Root, target));
    }

    [Fact]
    public async Task Fetch_OnlyCorruptProvider_ThrowsClearError_StoresNothingCorrupt()
    {
        var corrupt = StartServer(new CorruptingBlockStore(_source));
        var target = new MemoryBlockStore();
        var ex = await Assert.ThrowsAsync<ExchangeException>(() =>
            CreateFetcher(target).FetchDagAsync(_file.Root, [corrupt], cancellationToken: _timeout.Token));

        Assert.Equal($"block {_file.Root} could not be fetched: 1 provider tried ({corrupt}: bad block)", ex.Message);
        Assert.Equal(_file.Root, ex.Block);
        Assert.Equal(0, target.Count);
    }

    [Fact]
    public async Task Fetch_RefusedProviders_ThrowsExchangeException()
    {
        PeerAddress[] dead = [UnusedEndPoint(), UnusedEndPoint()];
        var ex = await Assert.ThrowsAsync<ExchangeException>(() =>
            CreateFetcher(new MemoryBlockStore()).FetchDagAsync(_file.Root, dead, cancellationToken: _timeout.Token));

        Assert.Contains("could not be fetched: 2 providers tried", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{dead[0]}: connect failed: ConnectionRefused", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{dead[1]}: connect failed: ConnectionRefused", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_NotFoundProvider_IsKept_BlockAskedElsewhere()
    {
        PeerAddress[] providers = [StartServer(new MemoryBlockStore()), StartServer(_source)];
        var target = new MemoryBlockStore();
        var result = await CreateFetcher(target).FetchDagAsync(_file.Root, providers, cancellationToken: _timeout.Token);
        Assert.Equal(0, result.ProvidersDropped);
        Assert.Equal(_source.Count, result.BlocksFetched);
    }

    [Fact]
    public async Task Fetch_SilentProvider_TimesOutInVirtualTime_AndIsDropped_AndTheOtherServesEverything()
    {
        var time = new Overlay.Testing.ManualTimeProvider();
        var network = new InMemoryStreamNetwork();
        var silentAt = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4001);
        var honestAt = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4001);
        await using var silent = network.Listen(silentAt);
        var requestArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var silentPeer = Task.Run(async () =>
        {
            var accepted = await silent.AcceptAsync(_timeout.Token);
            await using var stream = accepted.Stream;
            await stream.ReadExactlyAsync(new byte[1], _timeout.Token);
            requestArrived.SetResult();

            // Holds the connection open and answers nothing until the fetcher drops it.
            await stream.CopyToAsync(Stream.Null, _timeout.Token);
        });
        await using var honest = new BlockExchangeServer(_source, new ExchangeOptions(), time, NullLogger<BlockExchangeServer>.Instance);
        honest.Start(network.Listen(honestAt));
        var options = new ExchangeOptions();
        var target = new MemoryBlockStore();
        var fetcher = new BlockFetcher(target, network.ConnectorFrom(IPAddress.Parse("10.0.0.3")), options, time, NullLogger<BlockFetcher>.Instance);

        // Round robin starts with the first provider, and nothing else can be asked before the root arrives: the silent
        // provider's root request is the only request in flight, and its timeout the only armed timer.
        var fetch = fetcher.FetchDagAsync(_file.Root, [silentAt, honestAt], cancellationToken: _timeout.Token);
        await requestArrived.Task.WaitAsync(_timeout.Token);
        while (time.ArmedTimerCount == 0)
        {
            await Task.Delay(5, _timeout.Token);
        }

        time.Advance(options.RequestTimeout);
        var result = await fetch.WaitAsync(_timeout.Token);

        Assert.Equal(1, result.ProvidersDropped);
        Assert.Equal(0, result.BadBlocks);
        Assert.Equal(_content, await ExportAsync(_file.Root, target));
        await silentPeer.WaitAsync(_timeout.Token);
    }

    [Fact]
    public async Task Server_SurvivesGarbageAndOversizedFrames()
    {
        var endPoint = StartServer(_source);
        var rng = new Random(99);

        // 1: a length prefix far above MaxFrameBytes. 2: a valid length with an unparsable payload (wire type 7).
        // 3: seeded random bytes.
        var oversized = new byte[] { 0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3 };
        var unparsable = new byte[4 + 100];
        BinaryPrimitives.WriteUInt32BigEndian(unparsable, 100);
        Array.Fill(unparsable, (byte)0xFF, 4, 100);
        var random = new byte[4096];
        rng.NextBytes(random);

        foreach (var garbage in new[] { oversized, unparsable, random })
        {
            using var client = new TcpClient();
            await client.ConnectAsync(endPoint, _timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(garbage, _timeout.Token);
            client.Client.Shutdown(SocketShutdown.Send);
            await AssertClosedByServerAsync(stream);
        }

        // The server still answers a valid request on a new connection, pipelined with a second one.
        using var good = new TcpClient();
        await good.ConnectAsync(endPoint, _timeout.Token);
        var s2 = good.GetStream();
        var leafCid = (await _source.ListAsync().FirstAsync(c => c.Codec == Cid.RawCodec))!;
        var missing = Cid.Compute(Cid.RawCodec, [1, 2, 3, 4]);
        await WriteFrameAsync(s2, new BlockRequest { Version = 1, RequestId = 7, Cid = ByteString.CopyFrom(leafCid.ToBytes()) });
        await WriteFrameAsync(s2, new BlockRequest { Version = 1, RequestId = 8, Cid = ByteString.CopyFrom(missing.ToBytes()) });
        await WriteFrameAsync(s2, new BlockRequest { Version = 1, RequestId = 9, Cid = ByteString.CopyFrom([1, 2, 3]) });

        var r1 = await ReadResponseAsync(s2);
        Assert.Equal(7UL, r1.RequestId);
        Assert.True(leafCid.Matches(r1.Data.Span));
        var r2 = await ReadResponseAsync(s2);
        Assert.Equal(8UL, r2.RequestId);
        Assert.Equal(Status.NotFound, r2.Status);
        var r3 = await ReadResponseAsync(s2);
        Assert.Equal(9UL, r3.RequestId);
        Assert.Equal(Status.Refused, r3.Status);
    }

    [Fact]
    public void Server_Start_OnTakenPort_ThrowsSocketException()
    {
        var endPoint = StartServer(_source);
        var second = new BlockExchangeServer(_source, new ExchangeOptions(), TimeProvider.System, NullLogger<BlockExchangeServer>.Instance);
        _servers.Add(second);
        Assert.Throws<SocketException>(() => second.Start(endPoint));
    }

    [Fact]
    public void Options_Validate_NamesSectionKeyValueAndRange()
    {
        Assert.Empty(new ExchangeOptions().Validate());
        var errors = new ExchangeOptions { RequestWindow = 0, MaxConnections = 0, RequestTimeout = TimeSpan.Zero }.Validate();
        Assert.Contains("Exchange:RequestWindow = 0 is out of range 1..256", errors);
        Assert.Contains("Exchange:MaxConnections = 0 is out of range 1..65536", errors);
        Assert.Contains(errors, e => e.StartsWith("Exchange:RequestTimeout = 00:00:00 is out of range", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => CreateFetcher(new MemoryBlockStore(), new ExchangeOptions { RequestWindow = 0 }));

        var limits = new ExchangeOptions { MaxConnectionsPerIp = 0, FirstRequestTimeout = TimeSpan.FromMilliseconds(50), FrameTimeout = TimeSpan.FromMinutes(11) }.Validate();
        Assert.Contains("Exchange:MaxConnectionsPerIp = 0 is out of range 1..256", limits);
        Assert.Contains("Exchange:FirstRequestTimeout = 00:00:00.0500000 is out of range 00:00:00.1000000..00:10:00", limits);
        Assert.Contains("Exchange:FrameTimeout = 00:11:00 is out of range 00:00:00.1000000..00:10:00", limits);

        // The per-address limit cannot exceed the total.
        Assert.Contains("Exchange:MaxConnectionsPerIp = 17 is out of range 1..16", new ExchangeOptions { MaxConnections = 16, MaxConnectionsPerIp = 17 }.Validate());
        Assert.Throws<ArgumentException>(() => new BlockExchangeServer(_source, new ExchangeOptions { FrameTimeout = TimeSpan.Zero }, TimeProvider.System, NullLogger<BlockExchangeServer>.Instance));
    }

    private async Task AssertClosedByServerAsync(NetworkStream stream)
    {
        var buffer = new byte[1024];
        while (true)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, _timeout.Token);
            }
            catch (IOException)
            {
                return;
            }

            if (n == 0)
            {
                return;
            }
        }
    }

    private async Task WriteFrameAsync(Stream stream, IMessage message)
    {
        var payload = message.ToByteArray();
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame, 4);
        await stream.WriteAsync(frame, _timeout.Token);
    }

    private async Task<BlockResponse> ReadResponseAsync(Stream stream)
    {
        var header = new byte[4];
        await stream.ReadExactlyAsync(header, _timeout.Token);
        var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
        await stream.ReadExactlyAsync(payload, _timeout.Token);
        return BlockResponse.Parser.ParseFrom(payload);
    }

    private static IPEndPoint UnusedEndPoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();
        return endPoint;
    }
}

internal sealed class SyncProgress(Action<long> report) : IProgress<long>
{
    public void Report(long value) => report(value);
}
