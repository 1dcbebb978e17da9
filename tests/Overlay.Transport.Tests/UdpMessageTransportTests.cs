using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Overlay.Transport.Internal;

namespace Overlay.Transport.Tests;

/// <summary>
/// <see cref="UdpMessageTransport"/> on real loopback sockets, talking to a plain <see cref="Socket"/>. Datagrams are
/// queued in the transport's socket before <see cref="UdpMessageTransport.Start"/>, so the batches the receive thread
/// sees are fixed by the test, not by timing (a loopback <c>sendto</c> has queued the datagram when it returns).
/// </summary>
public sealed class UdpMessageTransportTests
{
    private const int ReceiveBufferBytes = 4 * 1024 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public static TheoryData<bool> Loops => LinuxSockets.IsSupported ? new() { true, false } : new() { false };

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task QueuedDatagrams_AreDeliveredWithTheirSource_AndEveryAnswerArrives(bool batched)
    {
        await using var transport = Bind(IPAddress.Loopback, batched);
        using var client = NewClient(IPAddress.Loopback);
        const int count = 50;
        for (var i = 0; i < count; i++)
        {
            client.SendTo(Payload(i, 40 + i), transport.LocalEndPoint);
        }

        var sources = new ConcurrentBag<IPEndPoint>();
        transport.Start((remote, datagram) =>
        {
            sources.Add(remote);
            var answer = datagram.ToArray();
            Array.Reverse(answer);
            transport.Send(remote, answer);
        });

        var answers = ReceiveAll(client, count);
        // Each answer is its request reversed, so its last four bytes are the index, little-endian.
        Assert.Equal(Enumerable.Range(0, count), answers.Select(a => BinaryPrimitives.ReadInt32LittleEndian(a.AsSpan(a.Length - 4))).Order());
        Assert.All(answers, a => Assert.Equal(40 + BinaryPrimitives.ReadInt32LittleEndian(a.AsSpan(a.Length - 4)), a.Length));
        Assert.All(sources, s => Assert.Equal(client.LocalEndPoint, s));
        if (batched)
        {
            // 50 queued datagrams; each full batch doubles the next (4, 8, 16, then 22 of 32): four recvmmsg calls and
            // four sendmmsg calls for all of them.
            Assert.Equal(4, transport.ReceiveCalls);
            Assert.Equal(4, transport.SendCalls);
        }
        else
        {
            Assert.Equal(count, transport.ReceiveCalls);
            Assert.Equal(count, transport.SendCalls);
        }
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task DatagramOverTheLimit_IsDroppedAndCounted_OneAtTheLimitIsDelivered(bool batched)
    {
        await using var transport = Bind(IPAddress.Loopback, batched);
        using var client = NewClient(IPAddress.Loopback);
        client.SendTo(Payload(1, IMessageTransport.MaxDatagramBytes + 1), transport.LocalEndPoint);
        client.SendTo(Payload(2, 9000), transport.LocalEndPoint);
        client.SendTo(Payload(3, IMessageTransport.MaxDatagramBytes), transport.LocalEndPoint);
        var lengths = new ConcurrentQueue<int>();
        transport.Start((remote, datagram) =>
        {
            lengths.Enqueue(datagram.Length);
            transport.Send(remote, datagram);
        });

        var answer = Assert.Single(ReceiveAll(client, 1));
        Assert.Equal(IMessageTransport.MaxDatagramBytes, answer.Length);
        Assert.Equal([IMessageTransport.MaxDatagramBytes], lengths);
        Assert.Equal(2, transport.OversizedDropped);
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task AnswerToAnUnreachableFamily_IsCountedAsSendError_AndTheOtherAnswersOfTheBatchArrive(bool batched)
    {
        await using var transport = Bind(IPAddress.Loopback, batched);
        using var client = NewClient(IPAddress.Loopback);
        for (var i = 0; i < 3; i++)
        {
            client.SendTo(Payload(i, 8), transport.LocalEndPoint);
        }

        transport.Start((remote, datagram) =>
        {
            // An IPv6 destination cannot be reached from this IPv4 socket.
            transport.Send(new IPEndPoint(IPAddress.IPv6Loopback, 9), datagram);
            transport.Send(remote, datagram);
        });

        var answers = ReceiveAll(client, 3);
        Assert.Equal([0, 1, 2], answers.Select(a => BinaryPrimitives.ReadInt32BigEndian(a.AsSpan(4))).Order());
        Assert.Equal(3, transport.SendErrors);
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task Ipv6Loopback_RoundTrip_ReportsTheIpv6Source(bool batched)
    {
        await using var transport = Bind(IPAddress.IPv6Loopback, batched);
        using var client = NewClient(IPAddress.IPv6Loopback);
        client.SendTo(Payload(7, 100), transport.LocalEndPoint);
        var sources = new ConcurrentQueue<IPEndPoint>();
        transport.Start((remote, datagram) =>
        {
            sources.Enqueue(remote);
            transport.Send(remote, datagram);
        });

        var answer = Assert.Single(ReceiveAll(client, 1));
        Assert.Equal(Payload(7, 100), answer);
        Assert.Equal(client.LocalEndPoint, Assert.Single(sources));
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task Dispose_WhileTheReceiveThreadWaits_ClosesTheSocket_SoItsPortCanBeBoundAgain(bool batched)
    {
        var transport = Bind(IPAddress.Loopback, batched);
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivered = 0;
        transport.Start((_, _) =>
        {
            Interlocked.Increment(ref delivered);
            received.TrySetResult();
        });
        using (var client = NewClient(IPAddress.Loopback))
        {
            // One datagram through the loop proves the thread is in its receive call when Dispose comes.
            client.SendTo(Payload(1, 8), transport.LocalEndPoint);
            await received.Task.WaitAsync(Bound);
        }

        var port = transport.LocalEndPoint.Port;
        await transport.DisposeAsync().AsTask().WaitAsync(Bound);

        // A send after disposal is dropped before any system call, and is not a send error.
        var sendCalls = transport.SendCalls;
        transport.Send(new IPEndPoint(IPAddress.Loopback, 9), Payload(2, 8));
        Assert.Equal(sendCalls, transport.SendCalls);
        Assert.Equal(0, transport.SendErrors);

        // The port is free: a new transport binds it and receives what is sent there; the old one delivers nothing more.
        await using var again = UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, port), ReceiveBufferBytes);
        var arrived = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        again.Start((_, datagram) => arrived.TrySetResult(datagram.ToArray()));
        using (var client = NewClient(IPAddress.Loopback))
        {
            client.SendTo(Payload(3, 8), new IPEndPoint(IPAddress.Loopback, port));
            Assert.Equal(Payload(3, 8), await arrived.Task.WaitAsync(Bound));
        }

        Assert.Equal(1, Volatile.Read(ref delivered));
    }

    [Theory]
    [MemberData(nameof(Loops))]
    public async Task Dispose_FromItsOwnHandler_ClosesTheSocketWhenTheLoopReturns(bool batched)
    {
        var transport = Bind(IPAddress.Loopback, batched);
        var port = transport.LocalEndPoint.Port;
        var portHeldDuringHandler = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        transport.Start((_, _) =>
        {
            transport.DisposeAsync().AsTask().GetAwaiter().GetResult();

            // Still inside the handler, so the loop has not returned: the socket must still be open.
            portHeldDuringHandler.TrySetResult(IsPortInUse(port));
        });
        using (var client = NewClient(IPAddress.Loopback))
        {
            client.SendTo(Payload(1, 8), transport.LocalEndPoint);
            Assert.True(await portHeldDuringHandler.Task.WaitAsync(Bound), "the socket was closed while its own handler still ran");
        }

        // The socket closes just after the handler returns: the port is free within the bound.
        using var deadline = new CancellationTokenSource(Bound);
        while (IsPortInUse(port) && !deadline.IsCancellationRequested)
        {
            await Task.Delay(10);
        }

        Assert.False(IsPortInUse(port), $"port {port} still in use {Bound.TotalSeconds:0} s after the handler that disposed the transport returned");
    }

    [Fact]
    public void MessageHeaderLayout_MatchesLinuxLp64()
    {
        // struct mmsghdr on x86-64 and arm64 Linux: struct msghdr (56 bytes) + unsigned int, padded to 64.
        Assert.Equal(64, DatagramBatch.HeaderBytes);
    }

    public static TheoryData<bool> Segmentation => LinuxSockets.IsSupported ? new() { true, false } : new() { false };

    public static TheoryData<bool, bool> SegmentationAndFamily =>
        LinuxSockets.IsSupported ? new() { { true, false }, { false, false }, { true, true } } : new() { { false, false }, { false, true } };

    [Theory]
    [MemberData(nameof(SegmentationAndFamily))]
    public async Task SendMany_DeliversEveryDatagramIntactAndInOrder_InFewCallsWhenSegmented(bool segmented, bool ipv6)
    {
        var address = ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        await using var transport = Bind(address, batched: true);
        transport.UseSegmentation = segmented;
        transport.Start((_, _) => { });
        using var client = NewClient(address);
        client.ReceiveBufferSize = 1 << 20; // ~80 KB of datagrams must wait in it (the kernel may cap this at rmem_max)
        var (buffer, lengths) = MixedRun();

        transport.SendMany((IPEndPoint)client.LocalEndPoint!, buffer, lengths);

        var received = ReceiveAll(client, lengths.Length);
        for (var i = 0; i < lengths.Length; i++)
        {
            Assert.Equal(Payload(i, lengths[i]), received[i]);
        }

        // Segmented: runs of one length, at most 53 of 1,232 bytes (65,507 bytes) per call, a shorter datagram closing
        // a run: [53] [7 + 500] [100 100 100] [10 + 7]: four calls for 75 datagrams.
        Assert.Equal(segmented ? 4 : lengths.Length, transport.SendCalls);
        Assert.Equal(0, transport.SendErrors);
    }

    [Theory]
    [MemberData(nameof(Segmentation))]
    public async Task ReceiveOffload_CutsCoalescedDatagramsApart_SoTheHandlerSeesEachAsSent(bool offload)
    {
        await using var sender = Bind(IPAddress.Loopback, batched: true);
        sender.Start((_, _) => { });
        var receiver = UdpMessageTransport.Bind(new IPEndPoint(IPAddress.Loopback, 0), ReceiveBufferBytes, receiveOffload: offload);
        await using var _ = receiver;
        Assert.Equal(offload, receiver.ReceiveOffload);
        var (buffer, lengths) = MixedRun();

        // Queued before the receive thread starts, so the kernel holds the four segmented sends whole when offload is on.
        sender.SendMany(receiver.LocalEndPoint, buffer, lengths);
        var received = new List<(IPEndPoint Source, byte[] Datagram)>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.Start((remote, datagram) =>
        {
            lock (received)
            {
                received.Add((remote, datagram.ToArray()));
                if (received.Count == lengths.Length)
                {
                    all.TrySetResult();
                }
            }
        });

        await all.Task.WaitAsync(Bound);
        for (var i = 0; i < lengths.Length; i++)
        {
            Assert.Equal(sender.LocalEndPoint, received[i].Source);
            Assert.Equal(Payload(i, lengths[i]), received[i].Datagram);
        }

        Assert.Equal(0, receiver.OversizedDropped);
        if (offload && sender.UseSegmentation)
        {
            // Four coalesced messages, taken with one recvmmsg (8 slots); without offload 75 datagrams need several calls.
            Assert.Equal(1, receiver.ReceiveCalls);
        }
    }

    [Fact]
    public async Task SendMany_RefusesLengthsThatDoNotDescribeTheBuffer_AndSendsNothing()
    {
        await using var transport = Bind(IPAddress.Loopback, batched: true);
        transport.Start((_, _) => { });
        var remote = new IPEndPoint(IPAddress.Loopback, 9);
        Assert.Throws<ArgumentException>(() => transport.SendMany(remote, new byte[10], [5, 6]));
        Assert.Throws<ArgumentException>(() => transport.SendMany(remote, new byte[1233], [1233]));
        Assert.Throws<ArgumentException>(() => transport.SendMany(remote, new byte[10], [15, -5]));
        Assert.Equal(0, transport.SendCalls);
    }

    /// <summary>75 datagrams (<see cref="Payload"/> 0..74) back to back: 60 of 1,232 bytes, one of 500, three of 100, ten
    /// of 1,232 and one of 7, so runs of equal lengths, a shorter one closing a run, and a run longer than one segmented send.</summary>
    private static (byte[] Buffer, int[] Lengths) MixedRun()
    {
        int[] lengths = [.. Enumerable.Repeat(1232, 60), 500, 100, 100, 100, .. Enumerable.Repeat(1232, 10), 7];
        var buffer = new byte[lengths.Sum()];
        var offset = 0;
        for (var i = 0; i < lengths.Length; i++)
        {
            Payload(i, lengths[i]).CopyTo(buffer, offset);
            offset += lengths[i];
        }

        return (buffer, lengths);
    }

    /// <summary>A datagram of <paramref name="length"/> bytes: a 4-byte big-endian index, then its low byte repeated, then the index again.</summary>
    private static byte[] Payload(int index, int length)
    {
        var bytes = new byte[length];
        bytes.AsSpan().Fill((byte)index);
        BinaryPrimitives.WriteInt32BigEndian(bytes, index);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(length - 4), index);
        return bytes;
    }

    /// <summary>Binds a transport on <paramref name="address"/>, port 0, with the receive loop the test asks for.</summary>
    private static UdpMessageTransport Bind(IPAddress address, bool batched)
    {
        var transport = UdpMessageTransport.Bind(new IPEndPoint(address, 0), ReceiveBufferBytes);
        transport.UseBatchedCalls = batched;
        return transport;
    }

    /// <summary>Whether a UDP socket holds 127.0.0.1:<paramref name="port"/>, found by trying to bind it (and letting it go).</summary>
    private static bool IsPortInUse(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }

    private static Socket NewClient(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)Bound.TotalMilliseconds };
        socket.Bind(new IPEndPoint(address, 0));
        return socket;
    }

    /// <summary>Receives <paramref name="count"/> datagrams; each receive waits at most <see cref="Bound"/>.</summary>
    private static List<byte[]> ReceiveAll(Socket client, int count)
    {
        var buffer = new byte[64 * 1024];
        var result = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            var length = client.Receive(buffer);
            result.Add(buffer[..length]);
        }

        return result;
    }
}
