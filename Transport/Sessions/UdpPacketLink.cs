using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Sessions;

/// <summary>
/// The <see cref="IPacketLink"/> of one established UDP session of a <see cref="UdpSessionHost"/>: the datagram path of
/// a <see cref="StreamMuxConnection"/> (<see cref="UdpSessionHost.StartStreams"/>). Made by the host when the session is.
/// </summary>
/// <remarks>
/// <para><b>Packet numbers.</b> The multiplexer's numbers are the session's: <see cref="SendAsync"/> sends each payload
/// under the number the multiplexer gave it (<see cref="UdpSessionEndpoint.Send(UdpSession, ReadOnlySpan{byte}, ulong, TimeSpan)"/>),
/// so it is the AEAD nonce on the wire, and the peer's endpoint hands it up with the payload after its replay window let
/// it through (each number at most once). ACK frames therefore name numbers both sides know, with no mapping table. The
/// endpoint never reuses a number: one already taken by a session keepalive (sent after
/// <see cref="SessionOptions.KeepaliveInterval"/> of silence, racing the multiplexer's next packet) is refused, counted in
/// <see cref="SendsRefused"/>, and recovered by the multiplexer like a lost datagram.</para>
/// <para><b>Receiving.</b> Payloads wait in a queue of at most <see cref="UdpSessionHostOptions.LinkQueueCapacity"/>;
/// past it they are dropped and counted (<see cref="QueueOverflows"/>): UDP drops rather than waits, and the stream layer
/// resends. When the session ends the queue is drained, then <see cref="ReceiveAsync"/> returns
/// <see cref="LinkPacket.End"/> after a local close, or throws <see cref="UdpSessionException"/> naming the reason
/// (lost, shut down, exhausted), which becomes the stream connection's close reason.</para>
/// <para>Thread-safe. <see cref="Session"/>'s counters are updated under the host's lock; read from another thread they
/// may be a moment old.</para>
/// </remarks>
public sealed class UdpPacketLink : IPacketLink
{
    private readonly object _gate = new();
    private readonly Queue<(byte[] Buffer, int Length, long PacketNumber)> _arrived = new();

    /// <summary>Payload buffers of <see cref="SessionPacket.MaxDataPayloadBytes"/> bytes taken back from the reader, at most
    /// <see cref="MaxSpareBuffers"/>: the receive thread fills them and the reader's thread empties them, a pattern in
    /// which the shared array pool's per-thread caches miss and allocate (3.6 % of a bulk stream's CPU, measured).</summary>
    private readonly Stack<byte[]> _spare = new();
    private readonly int _capacity;

    /// <summary>Most spare payload buffers kept: 256 (about 300 KB), a few windows of a bulk stream.</summary>
    private const int MaxSpareBuffers = 256;
    private TaskCompletionSource<bool>? _waiter;
    private Action? _notify;
    private SessionCloseReason? _endReason;
    private long _overflows;
    private long _refused;
    private int _disposed;

    internal UdpPacketLink(UdpSessionHost host, UdpSession session, int capacity, bool asynchronous)
    {
        Host = host;
        Session = session;
        _capacity = capacity;
        RequiresAsynchronousContinuations = asynchronous;
    }

    /// <summary>Gets the session.</summary>
    public UdpSession Session { get; }

    /// <summary>Gets the peer's node ID, proven in the handshake.</summary>
    public NodeId RemoteId => Session.RemoteId;

    /// <summary>Gets <see cref="SessionPacket.MaxDataPayloadBytes"/>: 1,203 bytes, so a packet is at most 1,232 bytes.</summary>
    public int MaxPayloadBytes => SessionPacket.MaxDataPayloadBytes;

    /// <inheritdoc/>
    public bool RequiresAsynchronousContinuations { get; }

    /// <summary>Gets true: sends encrypt and go to the socket at once, never waiting.</summary>
    public bool SendsWithoutWaiting => true;

    /// <summary>Gets how many received payloads were dropped because the queue was full.</summary>
    public long QueueOverflows => Interlocked.Read(ref _overflows);

    /// <summary>Gets how many payloads the endpoint refused to send because their packet number was already used.</summary>
    public long SendsRefused => Interlocked.Read(ref _refused);

    /// <summary>Gets why the session ended, or null while it is open.</summary>
    public SessionCloseReason? EndReason
    {
        get
        {
            lock (_gate)
            {
                return _endReason;
            }
        }
    }

    internal UdpSessionHost Host { get; }

    /// <summary>Encrypts and sends one payload under <paramref name="packetNumber"/>; never waits (UDP drops rather than waits).</summary>
    /// <param name="payload">At most <see cref="MaxPayloadBytes"/> bytes.</param>
    /// <param name="packetNumber">The multiplexer's number: greater than every number sent before on this link.</param>
    /// <param name="cancellationToken">Unused: nothing waits.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="UdpSessionException">The session has ended (an <see cref="IOException"/>).</exception>
    /// <exception cref="ArgumentException"><paramref name="payload"/> is longer than <see cref="MaxPayloadBytes"/>.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, long packetNumber, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(packetNumber);
        var item = new LinkPayload(payload, packetNumber);
        Host.SendMany(this, new ReadOnlySpan<LinkPayload>(in item));
        return ValueTask.CompletedTask;
    }

    /// <summary>Encrypts and sends several payloads under one lock of the host, then gives the socket the datagrams
    /// together (<see cref="IMessageTransport.SendMany"/>: one segmented send on Linux); never waits.</summary>
    /// <param name="payloads">Each at most <see cref="MaxPayloadBytes"/> bytes, numbers increasing.</param>
    /// <param name="cancellationToken">Unused: nothing waits.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="UdpSessionException">The session has ended (an <see cref="IOException"/>).</exception>
    /// <exception cref="ArgumentException">A payload is longer than <see cref="MaxPayloadBytes"/>.</exception>
    public ValueTask SendManyAsync(ReadOnlyMemory<LinkPayload> payloads, CancellationToken cancellationToken = default)
    {
        foreach (var item in payloads.Span)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(item.PacketNumber);
        }

        Host.SendMany(this, payloads.Span);
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits for the next received payload and copies it into <paramref name="buffer"/>.</summary>
    /// <param name="buffer">At least <see cref="MaxPayloadBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The payload's length and packet number; <see cref="LinkPacket.End"/> once the session was closed by this side.</returns>
    /// <exception cref="UdpSessionException">The session ended otherwise (lost, host shut down, numbers exhausted).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<LinkPacket> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (TryTakeLocked(buffer, out var packet))
                {
                    return packet;
                }

                _waiter ??= new TaskCompletionSource<bool>(RequiresAsynchronousContinuations ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gets true: the connection's loop may drain this link itself (<see cref="TryReceive"/>).</summary>
    public bool CanNotify => true;

    /// <summary>Calls <paramref name="onArrival"/> (on the socket's receive thread, after the host's lock is released)
    /// when a payload arrives to an empty queue and when the session ends. Call once.</summary>
    /// <param name="onArrival">Must not block.</param>
    /// <exception cref="InvalidOperationException">Already called.</exception>
    public void StartNotifying(Action onArrival)
    {
        ArgumentNullException.ThrowIfNull(onArrival);
        lock (_gate)
        {
            if (_notify is not null)
            {
                throw new InvalidOperationException("The link already notifies someone.");
            }

            _notify = onArrival;
        }
    }

    /// <summary>Takes the next queued payload without waiting.</summary>
    /// <param name="buffer">At least <see cref="MaxPayloadBytes"/> bytes.</param>
    /// <param name="packet">The payload's length and number; <see cref="LinkPacket.End"/> once the session was closed by this side.</param>
    /// <returns>False when nothing is queued and the session is open.</returns>
    /// <exception cref="UdpSessionException">The session ended otherwise (lost, host shut down, numbers exhausted).</exception>
    public bool TryReceive(Memory<byte> buffer, out LinkPacket packet)
    {
        lock (_gate)
        {
            return TryTakeLocked(buffer, out packet);
        }
    }

    /// <summary>Takes the next queued payload, or the end once the queue is drained (under <see cref="_gate"/>).</summary>
    /// <exception cref="UdpSessionException">The session ended otherwise than by a local close.</exception>
    private bool TryTakeLocked(Memory<byte> buffer, out LinkPacket packet)
    {
        if (_arrived.TryDequeue(out var item))
        {
            item.Buffer.AsSpan(0, item.Length).CopyTo(buffer.Span);
            Recycle(item.Buffer);
            packet = new LinkPacket(item.Length, item.PacketNumber);
            return true;
        }

        if (_endReason is { } reason)
        {
            packet = reason == SessionCloseReason.Closed ? LinkPacket.End : throw new UdpSessionException(reason, Session.RemoteEndPoint, Session.RemoteId);
            return true;
        }

        packet = default;
        return false;
    }

    /// <summary>Closes the session on this side (the peer finds it lost after its dead interval, or its stream
    /// connection closes first) and frees what waits in the queue.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Host.CloseSession(this);
            lock (_gate)
            {
                _arrived.Clear();
                _spare.Clear();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Queues a received payload (under the host's lock); returns the reader's waiter (a task source, or the
    /// callback of <see cref="StartNotifying"/> when the queue was empty) to wake once the lock is released.</summary>
    internal object? Arrive(long packetNumber, ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (_endReason is not null || _disposed != 0)
            {
                return null;
            }

            if (_arrived.Count >= _capacity)
            {
                _overflows++;
                return null;
            }

            var buffer = _spare.TryPop(out var spare) && spare.Length >= payload.Length ? spare : new byte[Math.Max(payload.Length, SessionPacket.MaxDataPayloadBytes)];
            payload.CopyTo(buffer);
            _arrived.Enqueue((buffer, payload.Length, packetNumber));
            return _notify is { } notify ? (_arrived.Count == 1 ? notify : null) : TakeWaiter();
        }
    }

    /// <summary>Marks the session ended (under the host's lock); returns the reader's waiter or callback to wake once the lock is released.</summary>
    internal object? End(SessionCloseReason reason)
    {
        lock (_gate)
        {
            _endReason ??= reason;
            return (object?)_notify ?? TakeWaiter();
        }
    }

    /// <summary>Counts a send the endpoint refused; throws when that was because the session has ended.</summary>
    /// <exception cref="UdpSessionException">The session has ended.</exception>
    internal void OnSendRefused()
    {
        lock (_gate)
        {
            if (_endReason is { } reason)
            {
                throw new UdpSessionException(reason, Session.RemoteEndPoint, Session.RemoteId, "while sending");
            }

            _refused++;
        }
    }

    /// <summary>Keeps a drained payload buffer for the next arrival (under <see cref="_gate"/>).</summary>
    private void Recycle(byte[] buffer)
    {
        if (_spare.Count < MaxSpareBuffers && _endReason is null && _disposed == 0)
        {
            _spare.Push(buffer);
        }
    }

    private TaskCompletionSource<bool>? TakeWaiter()
    {
        var waiter = _waiter;
        _waiter = null;
        return waiter;
    }
}
