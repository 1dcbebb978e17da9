using System.Net;
using Overlay.Transport.Datagrams;

namespace Overlay.Transport.Tests;

/// <summary><see cref="DatagramDemux"/>: one socket, three kinds of datagram, each to its own view.</summary>
public sealed class DatagramDemuxTests
{
    private static readonly IPEndPoint Peer = new(IPAddress.Loopback, 4000);

    [Theory]
    [InlineData(new byte[] { 0x08, 0x01, 0x15 }, DatagramKind.Dht)]
    [InlineData(new byte[] { }, DatagramKind.Dht)]
    [InlineData(new byte[] { 0xCF, 0, 0 }, DatagramKind.Dht)]
    [InlineData(new byte[] { 0xD0 }, DatagramKind.Session)]
    [InlineData(new byte[] { 0xD5, 1, 2, 3 }, DatagramKind.Session)]
    [InlineData(new byte[] { 0xDF }, DatagramKind.Session)]
    [InlineData(new byte[] { 0xE0, 0 }, DatagramKind.Dht)]
    public void Classify_ByFirstByte(byte[] datagram, DatagramKind expected) => Assert.Equal(expected, DatagramDemux.Classify(datagram));

    [Fact]
    public void Classify_Stun_NeedsTheMagicCookie_TheTopBitsClear_AndAFullHeader()
    {
        var request = StunRequest();
        Assert.Equal(DatagramKind.Stun, DatagramDemux.Classify(request));

        Assert.Equal(DatagramKind.Dht, DatagramDemux.Classify(request.AsSpan(0, 19)));
        var wrongCookie = (byte[])request.Clone();
        wrongCookie[7] = 0x43;
        Assert.Equal(DatagramKind.Dht, DatagramDemux.Classify(wrongCookie));
        var topBit = (byte[])request.Clone();
        topBit[0] = 0x40;
        Assert.Equal(DatagramKind.Dht, DatagramDemux.Classify(topBit));
    }

    [Fact]
    public async Task EachKind_GoesToItsView_AndUnstartedKindsAreCountedAsUnclaimed()
    {
        var socket = new FakeSocket();
        await using var demux = new DatagramDemux(socket);
        var dht = new List<byte[]>();
        var sessions = new List<byte[]>();
        Assert.Null(socket.Handler);

        demux.For(DatagramKind.Dht).Start((_, d) => dht.Add(d.ToArray()));
        Assert.NotNull(socket.Handler);
        demux.For(DatagramKind.Session).Start((_, d) => sessions.Add(d.ToArray()));

        socket.Handler!(Peer, [0x08, 0x01]);
        socket.Handler(Peer, [0xD5, 9]);
        socket.Handler(Peer, StunRequest());
        socket.Handler(Peer, [0x42]);

        Assert.Equal([[0x08, 0x01], [0x42]], dht);
        Assert.Equal([[0xD5, 9]], sessions);
        Assert.Equal(1, demux.GetUnclaimedCount(DatagramKind.Stun));
        Assert.Equal(0, demux.GetUnclaimedCount(DatagramKind.Dht));
        Assert.Equal(1, socket.Starts);
    }

    [Fact]
    public async Task Views_SendThroughTheSharedSocket_AndADisposedViewStopsReceivingButTheOthersGoOn()
    {
        var socket = new FakeSocket();
        await using var demux = new DatagramDemux(socket);
        var dht = 0;
        var sessions = 0;
        var dhtView = demux.For(DatagramKind.Dht);
        dhtView.Start((_, _) => dht++);
        demux.For(DatagramKind.Session).Start((_, _) => sessions++);

        dhtView.Send(Peer, [1, 2, 3]);
        demux.For(DatagramKind.Session).Send(Peer, [0xD1]);
        Assert.Equal([[1, 2, 3], [0xD1]], socket.Sent);
        Assert.Same(socket.LocalEndPoint, dhtView.LocalEndPoint);

        await dhtView.DisposeAsync();
        socket.Handler!(Peer, [0x08]);
        socket.Handler(Peer, [0xD2]);
        Assert.Equal(0, dht);
        Assert.Equal(1, sessions);
        Assert.Equal(1, demux.GetUnclaimedCount(DatagramKind.Dht));
        Assert.False(socket.Disposed);
        Assert.Throws<InvalidOperationException>(() => dhtView.Start((_, _) => { }));
    }

    [Fact]
    public async Task AViewStartsOnce_AndDisposingTheDemuxDisposesTheSocket()
    {
        var socket = new FakeSocket();
        var demux = new DatagramDemux(socket);
        demux.For(DatagramKind.Stun).Start((_, _) => { });
        Assert.Throws<InvalidOperationException>(() => demux.For(DatagramKind.Stun).Start((_, _) => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => demux.For((DatagramKind)7));

        await demux.DisposeAsync();
        Assert.True(socket.Disposed);
    }

    /// <summary>A binding request (RFC 8489 §5): type 0x0001, length 0, the magic cookie, a zero transaction ID.</summary>
    private static byte[] StunRequest()
    {
        var request = new byte[20];
        request[1] = 0x01;
        request[4] = 0x21;
        request[5] = 0x12;
        request[6] = 0xA4;
        request[7] = 0x42;
        return request;
    }

    /// <summary>A socket that records what is sent and lets the test deliver datagrams through its handler.</summary>
    private sealed class FakeSocket : IMessageTransport
    {
        public DatagramHandler? Handler { get; private set; }

        public int Starts { get; private set; }

        public bool Disposed { get; private set; }

        public List<byte[]> Sent { get; } = [];

        public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 5000);

        public bool RequiresAsynchronousContinuations => false;

        public void Start(DatagramHandler handler)
        {
            Starts++;
            Handler = handler;
        }

        public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram) => Sent.Add(datagram.ToArray());

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
