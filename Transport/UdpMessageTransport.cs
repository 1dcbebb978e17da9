using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Transport.Internal;

namespace Overlay.Transport;

/// <summary>
/// The production <see cref="IMessageTransport"/>: one UDP socket and a dedicated receive thread. On 64-bit Linux the
/// thread takes every queued datagram with one <c>recvmmsg(2)</c> (blocking for the first only, MSG_WAITFORONE) and
/// sends the answers its handler produced for them with one <c>sendmmsg(2)</c> after the batch; elsewhere, or when
/// libc lacks those calls, it uses blocking <c>ReceiveFrom</c> and <c>SendTo</c>, one datagram per call. Sends from
/// other threads are immediate <c>SendTo</c> calls; <see cref="SendMany"/> hands runs of equal-length datagrams to the
/// kernel in one <c>sendmsg(2)</c> with UDP_SEGMENT where Linux offers it. Datagrams larger than <see cref="IMessageTransport.MaxDatagramBytes"/>
/// are dropped and counted; socket errors on send are counted, never thrown. Thread-safe. (ARCHITECTURE.md, "UDP
/// transport".)
/// </summary>
public sealed class UdpMessageTransport : IMessageTransport
{
    private const int ReceiveThreadStackBytes = 256 * 1024;

    /// <summary>
    /// Datagrams per <c>recvmmsg</c>/<c>sendmmsg</c> call at first: 4. A call that fills the batch doubles it, up to
    /// <see cref="MaxBatchCapacity"/>, so an idle node holds about 10 KB of slots and a busy one about 80 KB (a
    /// thousand nodes share one process in the swarm benchmark).
    /// </summary>
    private const int InitialBatchCapacity = 4;

    /// <summary>Largest batch: 32 datagrams (batch sizes under load are in Bench/RESULTS.md).</summary>
    private const int MaxBatchCapacity = 32;

    private readonly Socket _socket;
    private readonly ILogger _logger;
    private Thread? _thread;
    private DatagramHandler? _handler;
    private volatile bool _disposed;
    private long _oversized;
    private long _sendErrors;
    private long _receiveCalls;
    private long _sendCalls;
    private volatile bool _segmentation = LinuxSockets.IsSupported;

    /// <summary>Answers queued by the handler during a received batch; touched by the receive thread only.</summary>
    private DatagramBatch? _outgoing;

    /// <summary><see cref="OnRefused"/>, allocated once rather than per flush.</summary>
    private readonly Action<IPEndPoint, SocketError> _onRefused;

    /// <summary>Slots of a receive batch under receive offload: 8 of 64 KiB (512 KiB pinned), each holding up to 53
    /// coalesced datagrams of 1,232 bytes.</summary>
    private const int OffloadBatchCapacity = 8;

    /// <summary>Bytes of one receive-offload slot: 65,536, the largest coalesced message the kernel builds.</summary>
    private const int OffloadSlotBytes = 65_536;

    private UdpMessageTransport(Socket socket, ILogger logger, bool receiveOffload)
    {
        ReceiveOffload = receiveOffload;
        _socket = socket;
        _logger = logger;
        _onRefused = OnRefused;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint { get; }

    /// <inheritdoc />
    public bool RequiresAsynchronousContinuations => true;

    /// <summary>
    /// Gets the number of received datagrams dropped for exceeding 1232 bytes; each is counted before any datagram
    /// received after it is delivered, so a handler that has seen a later datagram sees the drop counted.
    /// </summary>
    public long OversizedDropped => Interlocked.Read(ref _oversized);

    /// <summary>
    /// Gets the number of sends that failed with a socket error; each is counted before any later send is made, so
    /// whoever received a datagram sent after a failed one sees the failure counted.
    /// </summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>
    /// Gets the number of receive system calls made (<c>recvmmsg</c> or <c>ReceiveFrom</c>, each returning one or more
    /// datagrams); datagrams received ÷ this = mean batch. Counted when the call returns and before any of its
    /// datagrams is delivered (not before it starts: the loop is always blocked in one call that must not count yet).
    /// </summary>
    public long ReceiveCalls => Interlocked.Read(ref _receiveCalls);

    /// <summary>
    /// Gets the number of send system calls made or being made (<c>sendmmsg</c> or <c>SendTo</c>): each is counted just
    /// before it starts, so whoever received a datagram sent by a call sees that call counted.
    /// </summary>
    public long SendCalls => Interlocked.Read(ref _sendCalls);

    /// <summary>
    /// Gets or sets whether <see cref="Start"/> runs the batched Linux loop (default: on 64-bit Linux); false selects the
    /// portable one-datagram-per-call loop, so that tests on Linux cover it too. Set before <see cref="Start"/>.
    /// </summary>
    internal bool UseBatchedCalls { get; set; } = LinuxSockets.IsSupported;

    /// <summary>
    /// Gets or sets whether <see cref="SendMany"/> tries UDP generic segmentation offload (default: on 64-bit Linux).
    /// Cleared for good by the first call the kernel refuses as unsupported; false in tests covers the one-by-one path.
    /// </summary>
    internal bool UseSegmentation
    {
        get => _segmentation;
        set => _segmentation = value;
    }

    /// <summary>
    /// Gets whether the socket takes coalesced datagrams from the kernel (UDP_GRO, man 7 udp; Linux 5.0+): a run of
    /// equal datagrams from one source, such as a peer's segmented send, arrives as one message that the receive thread
    /// cuts back into the datagrams the handler sees, one by one as ever. It saves the kernel's per-datagram receive work
    /// (on loopback a segmented send then stays whole end to end) at the price of 512 KiB of pinned receive slots.
    /// </summary>
    public bool ReceiveOffload { get; }

    /// <summary>Binds a UDP socket to <paramref name="endPoint"/> (port 0 picks a free port).</summary>
    /// <param name="endPoint">Local address and port.</param>
    /// <param name="receiveBufferBytes">SO_RCVBUF, bytes (the kernel may cap it at net.core.rmem_max).</param>
    /// <param name="logger">Logger; none when null.</param>
    /// <param name="receiveOffload">Ask for coalesced receives (<see cref="ReceiveOffload"/>): worth it for a node's one
    /// socket that carries sessions; off for the thousands of sockets of a simulated swarm. Where the kernel or the
    /// batched loop lacks it, the socket works without.</param>
    /// <returns>The bound transport; call <see cref="Start"/> to receive.</returns>
    /// <exception cref="SocketException">The address is not local or the port is in use.</exception>
    public static UdpMessageTransport Bind(IPEndPoint endPoint, int receiveBufferBytes, ILogger<UdpMessageTransport>? logger = null, bool receiveOffload = false)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = receiveBufferBytes;
            socket.SendBufferSize = Math.Max(socket.SendBufferSize, 1024 * 1024);
            socket.Bind(endPoint);
        }
        catch (SocketException)
        {
            socket.Dispose();
            throw;
        }

        var offload = receiveOffload && LinuxSockets.IsSupported && TryEnableReceiveOffload(socket);
        return new UdpMessageTransport(socket, (ILogger?)logger ?? NullLogger.Instance, offload);
    }

    /// <inheritdoc />
    public void Start(DatagramHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException("The transport is already started.");
        }

        _thread = new Thread(ReceiveLoop, ReceiveThreadStackBytes)
        {
            IsBackground = true,
            Name = $"udp-recv {LocalEndPoint}",
        };
        _thread.Start();
    }

    /// <inheritdoc />
    public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        if (_disposed)
        {
            return;
        }

        if (_outgoing is { } outgoing && Thread.CurrentThread == _thread)
        {
            if (outgoing.TryAdd(remote, datagram, _socket.AddressFamily))
            {
                return;
            }

            // Full batch, or a destination the batch cannot encode: send what is queued, then this one on its own.
            Flush(outgoing);
        }

        try
        {
            Interlocked.Increment(ref _sendCalls);
            _socket.SendTo(datagram, SocketFlags.None, remote);
        }
        catch (SocketException ex)
        {
            Interlocked.Increment(ref _sendErrors);
            TransportLog.SendFailed(_logger, remote, ex.SocketErrorCode);
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently: sends after shutdown are dropped by design.
        }
    }

    /// <summary>
    /// Sends several datagrams to one destination, in order (see <see cref="IMessageTransport.SendMany"/>). Runs of up
    /// to <see cref="SegmentedSend.MaxSegments"/> datagrams of one length (the run's last may be shorter) go with one
    /// <c>sendmsg</c> carrying UDP_SEGMENT, each such call counted in <see cref="SendCalls"/>; a lone datagram, or
    /// every datagram once the kernel refused segmentation (logged once), goes through <see cref="Send"/>. Errors are
    /// counted in <see cref="SendErrors"/>, never thrown.
    /// </summary>
    /// <param name="remote">The destination.</param>
    /// <param name="datagrams">The datagrams, concatenated.</param>
    /// <param name="lengths">Each datagram's length, bytes, at most <see cref="IMessageTransport.MaxDatagramBytes"/>.</param>
    /// <exception cref="ArgumentException">The lengths do not sum to the buffer's length, or one is out of range.</exception>
    public void SendMany(IPEndPoint remote, ReadOnlySpan<byte> datagrams, ReadOnlySpan<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(remote);
        IMessageTransport.CheckLengths(datagrams.Length, lengths);
        var offset = 0;
        for (var i = 0; i < lengths.Length && !_disposed;)
        {
            var segment = lengths[i];
            var end = i + 1;
            var bytes = segment;
            while (end < lengths.Length && end - i < SegmentedSend.MaxSegments && bytes + lengths[end] <= SegmentedSend.MaxBytes && lengths[end] == segment)
            {
                bytes += lengths[end++];
            }

            if (end < lengths.Length && end - i < SegmentedSend.MaxSegments && lengths[end] is > 0 and var last && last < segment)
            {
                bytes += last;
                end++;
            }

            if (end - i == 1 || segment == 0 || !_segmentation || !TrySendSegmented(remote, datagrams.Slice(offset, bytes), segment))
            {
                for (var k = i; k < end; k++)
                {
                    Send(remote, datagrams.Slice(offset, lengths[k]));
                    offset += lengths[k];
                }
            }
            else
            {
                offset += bytes;
            }

            i = end;
        }
    }

    /// <summary>One segmented <c>sendmsg</c>; false (nothing sent) when the kernel refused segmentation, which then stays off.</summary>
    private bool TrySendSegmented(IPEndPoint remote, ReadOnlySpan<byte> run, int segment)
    {
        if (_outgoing is { Count: > 0 } outgoing && Thread.CurrentThread == _thread)
        {
            Flush(outgoing); // answers queued earlier on the receive thread go first, in order
        }

        var handle = _socket.SafeHandle;
        var referenced = false;
        try
        {
            handle.DangerousAddRef(ref referenced);
            Interlocked.Increment(ref _sendCalls);
            var error = SegmentedSend.Send(handle.DangerousGetHandle(), remote, _socket.AddressFamily, run, segment);
            if (error == SocketError.Success)
            {
                return true;
            }

            if (SegmentedSend.MeansUnsupported(error))
            {
                _segmentation = false;
                TransportLog.SegmentationUnavailable(_logger, error.ToString());
                return false;
            }

            Interlocked.Increment(ref _sendErrors);
            TransportLog.SendFailed(_logger, remote, error);
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true; // disposed concurrently: sends after shutdown are dropped by design
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _segmentation = false;
            TransportLog.SegmentationUnavailable(_logger, ex.Message);
            return false;
        }
        finally
        {
            if (referenced)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }

        _disposed = true;
        if (_thread is not null && _thread == Thread.CurrentThread)
        {
            // Disposed by its own handler: the receive loop closes the socket when it returns.
            return ValueTask.CompletedTask;
        }

        _socket.Dispose();
        _thread?.Join(TimeSpan.FromSeconds(5));
        return ValueTask.CompletedTask;
    }

    /// <summary>Sets UDP_GRO on <paramref name="socket"/>; false where the kernel refuses it.</summary>
    private static bool TryEnableReceiveOffload(Socket socket)
    {
        try
        {
            socket.SetRawSocketOption(LinuxSockets.SolUdp, LinuxSockets.UdpGro, BitConverter.GetBytes(1));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void ReceiveLoop()
    {
        try
        {
            if (!UseBatchedCalls || !ReceiveBatches())
            {
                if (ReceiveOffload)
                {
                    // One datagram per call cannot learn where coalesced datagrams split: take them apart again.
                    _socket.SetRawSocketOption(LinuxSockets.SolUdp, LinuxSockets.UdpGro, BitConverter.GetBytes(0));
                }

                ReceiveOneByOne();
            }
        }
        finally
        {
            if (_disposed)
            {
                _socket.Dispose();
            }
        }
    }

    /// <summary>
    /// The Linux loop: one <c>recvmmsg</c> per batch of queued datagrams, one <c>sendmmsg</c> for the answers. The
    /// socket handle is referenced for the loop's life, so its descriptor cannot be closed (and reused) under the
    /// system call; <see cref="Socket.Dispose()"/> wakes the call by shutting the socket down.
    /// </summary>
    /// <returns>False when libc lacks the calls (nothing was received then); true when the loop ended by disposal.</returns>
    private bool ReceiveBatches()
    {
        var incoming = ReceiveOffload
            ? new DatagramBatch(OffloadBatchCapacity, OffloadSlotBytes, DatagramBatch.OffloadControlBytes)
            : new DatagramBatch(InitialBatchCapacity, IMessageTransport.MaxDatagramBytes + 1);
        var outgoing = new DatagramBatch(ReceiveOffload ? MaxBatchCapacity : InitialBatchCapacity, IMessageTransport.MaxDatagramBytes);
        var handle = _socket.SafeHandle;
        var referenced = false;
        try
        {
            handle.DangerousAddRef(ref referenced);
            var descriptor = handle.DangerousGetHandle();
            while (!_disposed)
            {
                int received;
                try
                {
                    received = incoming.Receive(descriptor);
                }
                catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
                {
                    TransportLog.BatchingUnavailable(_logger, ex.Message);
                    return false;
                }

                Interlocked.Increment(ref _receiveCalls);
                if (received <= 0)
                {
                    if (received < 0 && !_disposed)
                    {
                        // ICMP-induced errors (connection refused) on an unconnected socket, or EINTR: go on.
                        TransportLog.ReceiveFailed(_logger, LinuxSockets.LastError());
                    }

                    continue;
                }

                _outgoing = outgoing;
                for (var i = 0; i < received; i++)
                {
                    var length = incoming.ReceivedLength(i);
                    var segment = incoming.SegmentSize(i);
                    if (incoming.Truncated(i) || (segment <= 0 ? length : segment) > IMessageTransport.MaxDatagramBytes)
                    {
                        Interlocked.Increment(ref _oversized);
                        continue;
                    }

                    if (incoming.Source(i) is { } remote)
                    {
                        var payload = incoming.Payload(i, length);
                        if (segment <= 0)
                        {
                            Deliver(remote, payload);
                            continue;
                        }

                        // Coalesced by the kernel: the datagrams lie back to back, each `segment` bytes but the last.
                        for (var offset = 0; offset < length; offset += segment)
                        {
                            Deliver(remote, payload.Slice(offset, Math.Min(segment, length - offset)));
                        }
                    }
                }

                _outgoing = null;
                if (outgoing.Count > 0)
                {
                    Flush(outgoing);
                }

                if (received == incoming.Capacity && incoming.Capacity < MaxBatchCapacity && !ReceiveOffload)
                {
                    incoming = new DatagramBatch(incoming.Capacity * 2, incoming.SlotBytes);
                    outgoing = new DatagramBatch(incoming.Capacity, outgoing.SlotBytes);
                }
            }

            return true;
        }
        finally
        {
            _outgoing = null;
            if (referenced)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Sends the queued answers with <c>sendmmsg</c>; a datagram the kernel refuses is counted and skipped. Each call is
    /// counted in <see cref="SendCalls"/> before it is made (see <see cref="DatagramBatch.SendAll"/>).
    /// </summary>
    private void Flush(DatagramBatch outgoing)
    {
        outgoing.SendAll(_socket.SafeHandle.DangerousGetHandle(), ref _sendCalls, _onRefused);
    }

    private void OnRefused(IPEndPoint remote, SocketError error)
    {
        if (_disposed)
        {
            // Answers flushed after shutdown fail by design; they are not send errors.
            return;
        }

        Interlocked.Increment(ref _sendErrors);
        TransportLog.SendFailed(_logger, remote, error);
    }

    /// <summary>The portable loop: blocking <c>ReceiveFrom</c>, one datagram per call (measured faster here than an async loop).</summary>
    private void ReceiveOneByOne()
    {
        var buffer = new byte[64 * 1024];
        var address = new SocketAddress(_socket.AddressFamily);
        var template = LocalEndPoint;
        while (!_disposed)
        {
            int received;
            try
            {
                received = _socket.ReceiveFrom(buffer, SocketFlags.None, address);
            }
            catch (SocketException ex) when (!_disposed)
            {
                // ICMP-induced errors (connection reset/refused) on an unconnected socket: nothing to do but go on.
                TransportLog.ReceiveFailed(_logger, ex.SocketErrorCode);
                continue;
            }
            catch (SocketException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            Interlocked.Increment(ref _receiveCalls);
            if (received > IMessageTransport.MaxDatagramBytes)
            {
                Interlocked.Increment(ref _oversized);
                continue;
            }

            Deliver((IPEndPoint)template.Create(address), buffer.AsSpan(0, received));
        }
    }

    private void Deliver(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        try
        {
            _handler!(remote, datagram);
        }
#pragma warning disable CA1031 // A bug in a handler must not stop the node from receiving; it is logged with its stack.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            TransportLog.HandlerFailed(_logger, remote, ex);
        }
    }
}
