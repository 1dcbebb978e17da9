using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Exchange.Internal;
using Overlay.Exchange.Wire;
using Overlay.Storage;
using Overlay.Testing;

namespace Overlay.Exchange.Tests;

/// <summary>
/// The server's resource limits on real loopback sockets: connections per address and in total, and the
/// first-request, frame and idle deadlines driven in virtual time (<see cref="ManualTimeProvider"/>), so no deadline
/// passes unless a test moves the clock, however loaded the machine. Attackers connect from other addresses of
/// 127.0.0.0/8 (all on lo), honest peers from 127.0.0.1. Every wait is bounded and names what it waited for.
/// </summary>
public sealed class ServerLimitsTests : IAsyncLifetime
{
    /// <summary>Bound on any one wait for the server to reach a state; far above what it needs, so load cannot trip it.</summary>
    private static readonly TimeSpan WaitBound = TimeSpan.FromSeconds(30);

    private static readonly IPAddress Honest = IPAddress.Loopback;
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    private readonly ManualTimeProvider _clock = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(120));
    private readonly List<Socket> _sockets = [];
    private readonly List<BlockExchangeServer> _servers = [];
    private MemoryBlockStore _source = null!;
    private ImportResult _file = null!;
    private byte[] _content = null!;
    private Cid _leaf = null!;

    public async Task InitializeAsync()
    {
        // 64 KiB in 1 KiB chunks: 64 raw leaves under one dag-pb root.
        _content = new byte[64 * 1024];
        new Random(7).NextBytes(_content);
        _source = new MemoryBlockStore();
        _file = await UnixFsImporter.ImportAsync(new MemoryStream(_content), _source, new ImportOptions { ChunkSize = 1024 });
        Assert.Equal(65, _source.Count);
        _leaf = (await _source.ListAsync().FirstAsync(c => c.Codec == Cid.RawCodec))!;
    }

    public async Task DisposeAsync()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task FiveHundredIdleConnectionsFromOneAddress_ServerHoldsOnlyThePerIpLimit_AndAnotherPeersFetchSucceeds()
    {
        var options = new ExchangeOptions();
        var server = StartServer(options);
        const int flood = 500;
        for (int i = 0; i < flood; i++)
        {
            await ConnectFromAsync(Attacker, server.LocalEndPoint);
        }

        await WaitUntilAsync(
            () => server.GetRefusedCount(ConnectionRefusal.PerIp) + server.GetOpenConnectionsFrom(Attacker) == flood,
            $"the server to admit or refuse all {flood} attacker connections",
            () => $"per-ip refusals {server.GetRefusedCount(ConnectionRefusal.PerIp)}, open from attacker {server.GetOpenConnectionsFrom(Attacker)}");
        Assert.Equal(options.MaxConnectionsPerIp, server.GetOpenConnectionsFrom(Attacker));
        Assert.Equal(flood - options.MaxConnectionsPerIp, server.GetRefusedCount(ConnectionRefusal.PerIp));

        // The attacker's admitted connections stay open (virtual time stands still), and the honest fetch still gets in.
        var target = new MemoryBlockStore();
        var fetcher = new BlockFetcher(target, new TcpStreamConnector(), options, TimeProvider.System, NullLogger<BlockFetcher>.Instance);
        var result = await fetcher.FetchDagAsync(_file.Root, [server.LocalEndPoint], cancellationToken: _timeout.Token);

        Assert.Equal(_source.Count, result.BlocksFetched);
        Assert.Equal(_content, await ExportAsync(target));
        Assert.Equal(options.MaxConnectionsPerIp, server.GetOpenConnectionsFrom(Attacker));
        Assert.Equal(0, server.GetRefusedCount(ConnectionRefusal.Total));
    }

    [Fact]
    public async Task ConnectionOverThePerIpLimit_IsClosedAtOnce_WhileAnotherAddressIsServed()
    {
        var server = StartServer(new ExchangeOptions { MaxConnectionsPerIp = 2 });
        var first = await ConnectFromAsync(Attacker, server.LocalEndPoint);
        await ConnectFromAsync(Attacker, server.LocalEndPoint);
        await WaitUntilAsync(() => server.GetOpenConnectionsFrom(Attacker) == 2, "two attacker connections to be admitted");

        var third = await ConnectFromAsync(Attacker, server.LocalEndPoint);
        await AssertClosedByServerAsync(third, "the third attacker connection to be closed on accept");
        Assert.Equal(1, server.GetRefusedCount(ConnectionRefusal.PerIp));

        // An IPv4-mapped IPv6 address is the same address.
        Assert.Equal(2, server.GetOpenConnectionsFrom(Attacker.MapToIPv6()));

        var honest = await ConnectFromAsync(Honest, server.LocalEndPoint);
        await AssertServedAsync(honest, requestId: 1);
        await AssertServedAsync(first, requestId: 2);
        Assert.Equal(2, server.GetOpenConnectionsFrom(Attacker));
        Assert.Equal(3, server.OpenConnections);
    }

    [Fact]
    public async Task SilentConnection_IsClosedAtTheFirstRequestDeadline()
    {
        var options = new ExchangeOptions();
        var server = StartServer(options);
        var silent = await ConnectFromAsync(Attacker, server.LocalEndPoint);
        await WaitUntilAsync(() => server.CountConnectionsIn(ConnectionPhase.AwaitingFirstRequest) == 1, "the silent connection to be admitted");

        _clock.Advance(options.FirstRequestTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(1, server.CountConnectionsIn(ConnectionPhase.AwaitingFirstRequest));

        _clock.Advance(TimeSpan.FromSeconds(1));
        await AssertClosedByServerAsync(silent, "the silent connection to be closed at its first-request deadline");
        await WaitUntilAsync(() => server.GetRefusedCount(ConnectionRefusal.FirstRequestTimeout) == 1 && server.OpenConnections == 0, "the first-request timeout to be counted");
    }

    [Fact]
    public async Task FrameTricklingInAfterItsFirstByte_IsClosedAtTheFrameDeadline_NotExtendedByLaterBytes()
    {
        var options = new ExchangeOptions();
        var server = StartServer(options);
        var slow = await ConnectFromAsync(Attacker, server.LocalEndPoint);
        await slow.SendAsync(new byte[] { 0 }, SocketFlags.None, _timeout.Token);
        await WaitUntilAsync(() => server.CountConnectionsIn(ConnectionPhase.ReadingFrame) == 1, "the server to read the first header byte");

        // Past the first-request deadline: the frame deadline replaced it. A second byte does not extend it.
        _clock.Advance(TimeSpan.FromSeconds(20));
        await slow.SendAsync(new byte[] { 0 }, SocketFlags.None, _timeout.Token);
        _clock.Advance(options.FrameTimeout - TimeSpan.FromSeconds(21));
        Assert.Equal(1, server.CountConnectionsIn(ConnectionPhase.ReadingFrame));
        Assert.Equal(0, server.GetRefusedCount(ConnectionRefusal.FirstRequestTimeout));

        _clock.Advance(TimeSpan.FromSeconds(1));
        await AssertClosedByServerAsync(slow, "the trickling connection to be closed at its frame deadline");
        await WaitUntilAsync(() => server.GetRefusedCount(ConnectionRefusal.FrameTimeout) == 1 && server.OpenConnections == 0, "the frame timeout to be counted");
    }

    [Fact]
    public async Task ConnectionIdleAfterARequest_IsClosedAtTheIdleDeadline()
    {
        var options = new ExchangeOptions();
        var server = StartServer(options);
        var client = await ConnectFromAsync(Honest, server.LocalEndPoint);
        await AssertServedAsync(client, requestId: 5);
        await WaitUntilAsync(() => server.CountConnectionsIn(ConnectionPhase.Idle) == 1, "the connection to go idle after its response");

        _clock.Advance(options.IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(1, server.CountConnectionsIn(ConnectionPhase.Idle));

        _clock.Advance(TimeSpan.FromSeconds(1));
        await AssertClosedByServerAsync(client, "the idle connection to be closed at its idle deadline");
        await WaitUntilAsync(() => server.GetRefusedCount(ConnectionRefusal.Idle) == 1 && server.OpenConnections == 0, "the idle timeout to be counted");
    }

    [Fact]
    public async Task RequestFrameAboveTheRequestLimit_IsClosedAtOnce()
    {
        var server = StartServer(new ExchangeOptions());
        var client = await ConnectFromAsync(Attacker, server.LocalEndPoint);

        // 2 MiB: under MaxFrameBytes (which bounds responses) but far above any request.
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, 2 * 1024 * 1024);
        await client.SendAsync(header, SocketFlags.None, _timeout.Token);
        await AssertClosedByServerAsync(client, "the connection announcing a 2 MiB request to be closed");
        await WaitUntilAsync(() => server.GetRefusedCount(ConnectionRefusal.BadFrame) == 1, "the bad frame to be counted");
    }

    [Fact]
    public async Task FullServer_EvictsTheOldestNeverUsedConnection_AndRefusesOnlyWhenEveryConnectionIsMidRequest()
    {
        var server = StartServer(new ExchangeOptions { MaxConnections = 3, MaxConnectionsPerIp = 3 });
        var used = await ConnectFromAsync(IPAddress.Parse("127.0.0.3"), server.LocalEndPoint);
        await AssertServedAsync(used, requestId: 1);
        await WaitUntilAsync(() => server.CountConnectionsIn(ConnectionPhase.Idle) == 1, "the used connection to go idle");
        var silentOld = await ConnectFromAsync(IPAddress.Parse("127.0.0.4"), server.LocalEndPoint);
        await WaitUntilAsync(() => server.OpenConnections == 2, "the older silent connection to be admitted");
        var silentNew = await ConnectFromAsync(IPAddress.Parse("127.0.0.5"), server.LocalEndPoint);
        await WaitUntilAsync(() => server.OpenConnections == 3, "the newer silent connection to be admitted");

        // Full: the newcomer evicts the older never-used connection, not the used one (older still) nor the newer.
        var newcomer = await ConnectFromAsync(IPAddress.Parse("127.0.0.6"), server.LocalEndPoint);
        await AssertClosedByServerAsync(silentOld, "the older silent connection to be evicted");
        await WaitUntilAsync(() => server.GetRefusedCount(ConnectionRefusal.Evicted) == 1, "the eviction to be counted");
        Assert.Equal(0, server.GetOpenConnectionsFrom(IPAddress.Parse("127.0.0.4")));
        await AssertServedAsync(newcomer, requestId: 2);
        await AssertServedAsync(used, requestId: 3);

        // Every connection in the middle of a frame: nobody to evict, so a newcomer is refused.
        foreach (var socket in new[] { used, silentNew, newcomer })
        {
            await socket.SendAsync(new byte[] { 0 }, SocketFlags.None, _timeout.Token);
        }

        await WaitUntilAsync(() => server.CountConnectionsIn(ConnectionPhase.ReadingFrame) == 3, "all three connections to be mid-frame");
        var refused = await ConnectFromAsync(IPAddress.Parse("127.0.0.7"), server.LocalEndPoint);
        await AssertClosedByServerAsync(refused, "the newcomer to a server busy on every connection to be refused");
        Assert.Equal(1, server.GetRefusedCount(ConnectionRefusal.Total));
        Assert.Equal(3, server.OpenConnections);
    }

    [Fact]
    public void AddressGroup_UnmapsIPv4_AndGroupsIPv6By64BitPrefix()
    {
        Assert.Equal(AddressGroup.Of(IPAddress.Parse("127.0.0.2")), AddressGroup.Of(IPAddress.Parse("::ffff:127.0.0.2")));
        Assert.NotEqual(AddressGroup.Of(IPAddress.Parse("127.0.0.2")), AddressGroup.Of(IPAddress.Parse("127.0.0.3")));
        Assert.Equal(AddressGroup.Of(IPAddress.Parse("2001:db8:1:2::1")), AddressGroup.Of(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.NotEqual(AddressGroup.Of(IPAddress.Parse("2001:db8:1:2::1")), AddressGroup.Of(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Equal("2001:db8:1:2::/64", AddressGroup.Of(IPAddress.Parse("2001:db8:1:2::1")).ToString());
        Assert.Equal("127.0.0.2", AddressGroup.Of(IPAddress.Parse("::ffff:127.0.0.2")).ToString());
    }

    private BlockExchangeServer StartServer(ExchangeOptions options)
    {
        var server = new BlockExchangeServer(_source, options, _clock, NullLogger<BlockExchangeServer>.Instance);
        _servers.Add(server);
        server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return server;
    }

    private async Task<Socket> ConnectFromAsync(IPAddress source, IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _sockets.Add(socket);
        socket.Bind(new IPEndPoint(source, 0));
        await socket.ConnectAsync(server, _timeout.Token);
        return socket;
    }

    /// <summary>Requests the test leaf on <paramref name="socket"/> and asserts the block comes back.</summary>
    private async Task AssertServedAsync(Socket socket, ulong requestId)
    {
        var request = new BlockRequest { Version = ExchangeOptions.ProtocolVersion, RequestId = requestId, Cid = ByteString.CopyFrom(_leaf.ToBytes()) };
        await socket.SendAsync(Framing.Encode(request, ExchangeOptions.MaxRequestFrameBytes), SocketFlags.None, _timeout.Token);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token);
        bound.CancelAfter(WaitBound);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var frame = await Framing.ReadFrameAsync(stream, ExchangeOptions.DefaultMaxFrameBytes, bound.Token);
        Assert.NotNull(frame);
        var response = BlockResponse.Parser.ParseFrom(frame);
        Assert.Equal(requestId, response.RequestId);
        Assert.True(_leaf.Matches(response.Data.Span), $"response {requestId} does not carry the requested block");
    }

    /// <summary>Reads until the server closes <paramref name="socket"/> (end of stream or reset), at most <see cref="WaitBound"/>.</summary>
    private async Task AssertClosedByServerAsync(Socket socket, string what)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(_timeout.Token);
        bound.CancelAfter(WaitBound);
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, bound.Token) > 0)
            {
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
        catch (OperationCanceledException) when (!_timeout.IsCancellationRequested)
        {
            Assert.Fail($"waited {WaitBound.TotalSeconds:0} s for {what}");
        }
    }

    /// <summary>Waits for <paramref name="condition"/>, checking every 5 ms, at most <see cref="WaitBound"/>; fails naming <paramref name="what"/>.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string what, Func<string>? state = null)
    {
        var start = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            if (TimeProvider.System.GetElapsedTime(start) > WaitBound)
            {
                Assert.Fail($"waited {WaitBound.TotalSeconds:0} s for {what}{(state is null ? string.Empty : $" ({state()})")}");
            }

            await Task.Delay(5);
        }
    }

    private async Task<byte[]> ExportAsync(IBlockStore store)
    {
        var output = new MemoryStream();
        await UnixFsExporter.ExportAsync(_file.Root, async (cid, ct) => await store.GetAsync(cid, ct) ?? throw new InvalidDataException($"missing {cid}"), output);
        return output.ToArray();
    }
}
