using System.Buffers.Binary;
using System.Net;

namespace Overlay.Transport.Datagrams;

/// <summary>
/// Shares the node's one UDP socket between the DHT, secure sessions and (later) STUN and hole-punch probes. Each
/// received datagram is classified by its first bytes (<see cref="Classify"/>) and delivered to the handler of its
/// <see cref="DatagramKind"/>; each kind sees the socket through its own <see cref="IMessageTransport"/> view, so
/// Kademlia runs on a view unchanged. The socket starts receiving when the first view is started; datagrams of a kind
/// whose view is not started yet are dropped and counted. Thread-safe. Disposing the demultiplexer disposes the socket;
/// disposing a view only stops its deliveries.
/// </summary>
public sealed class DatagramDemux : IAsyncDisposable
{
    /// <summary>First byte of the session packet range, 0xD0 (up to 0xDF).</summary>
    public const byte SessionTypeFirst = 0xD0;

    /// <summary>Last byte of the session packet range, 0xDF.</summary>
    public const byte SessionTypeLast = 0xDF;

    /// <summary>The STUN magic cookie, bytes 4..7 of every STUN message (RFC 8489 §5).</summary>
    public const uint StunMagicCookie = 0x2112A442;

    private const int StunHeaderBytes = 20;

    private readonly IMessageTransport _socket;
    private readonly View[] _views;
    private readonly long[] _unclaimed = new long[3];
    private int _started;

    /// <summary>Creates a demultiplexer over <paramref name="socket"/>, which it owns from now on.</summary>
    /// <param name="socket">The node's UDP transport, not yet started.</param>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is null.</exception>
    public DatagramDemux(IMessageTransport socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
        _views = [new View(this, DatagramKind.Dht), new View(this, DatagramKind.Session), new View(this, DatagramKind.Stun)];
    }

    /// <summary>Gets the socket's local endpoint.</summary>
    public IPEndPoint LocalEndPoint => _socket.LocalEndPoint;

    /// <summary>Returns the view that receives datagrams of <paramref name="kind"/> and sends through the shared socket.</summary>
    /// <param name="kind">A kind.</param>
    /// <returns>The view (one per kind; the same object on every call).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not defined.</exception>
    public IMessageTransport For(DatagramKind kind) =>
        (uint)kind < (uint)_views.Length ? _views[(int)kind] : throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a datagram kind");

    /// <summary>Returns how many datagrams of <paramref name="kind"/> were dropped because its view was not started.</summary>
    /// <param name="kind">A kind.</param>
    /// <returns>A count ≥ 0.</returns>
    public long GetUnclaimedCount(DatagramKind kind) => Interlocked.Read(ref _unclaimed[(int)kind]);

    /// <summary>Classifies a datagram by its first bytes.</summary>
    /// <param name="datagram">A received datagram (any bytes, any length).</param>
    /// <returns><see cref="DatagramKind.Session"/> for a first byte 0xD0..0xDF; <see cref="DatagramKind.Stun"/> for
    /// a STUN header (RFC 8489 §5: top two bits 0, ≥ 20 bytes, magic cookie at 4..7); else <see cref="DatagramKind.Dht"/>.</returns>
    public static DatagramKind Classify(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty)
        {
            return DatagramKind.Dht;
        }

        var first = datagram[0];
        if (first is >= SessionTypeFirst and <= SessionTypeLast)
        {
            return DatagramKind.Session;
        }

        return (first & 0xC0) == 0 && datagram.Length >= StunHeaderBytes && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == StunMagicCookie
            ? DatagramKind.Stun
            : DatagramKind.Dht;
    }

    /// <summary>Disposes the socket; views stop receiving.</summary>
    /// <returns>A task completing when the socket's receive loop has ended.</returns>
    public ValueTask DisposeAsync() => _socket.DisposeAsync();

    private void Deliver(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        var kind = Classify(datagram);
        var handler = Volatile.Read(ref _views[(int)kind].Handler);
        if (handler is null)
        {
            Interlocked.Increment(ref _unclaimed[(int)kind]);
            return;
        }

        handler(remote, datagram);
    }

    private void StartSocket()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _socket.Start(Deliver);
        }
    }

    /// <summary>One kind's window on the shared socket.</summary>
    private sealed class View(DatagramDemux owner, DatagramKind kind) : IMessageTransport
    {
        /// <summary>The started handler; null before <see cref="Start"/> and after dispose.</summary>
        public DatagramHandler? Handler;

        private int _state; // 0 new, 1 started, 2 disposed

        public IPEndPoint LocalEndPoint => owner._socket.LocalEndPoint;

        public bool RequiresAsynchronousContinuations => owner._socket.RequiresAsynchronousContinuations;

        public void Start(DatagramHandler handler)
        {
            ArgumentNullException.ThrowIfNull(handler);
            switch (Interlocked.CompareExchange(ref _state, 1, 0))
            {
                case 1:
                    throw new InvalidOperationException($"The {kind} view is already started.");
                case 2:
                    throw new InvalidOperationException($"The {kind} view is disposed.");
            }

            Volatile.Write(ref Handler, handler);
            owner.StartSocket();
        }

        public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram) => owner._socket.Send(remote, datagram);

        public void SendMany(IPEndPoint remote, ReadOnlySpan<byte> datagrams, ReadOnlySpan<int> lengths) => owner._socket.SendMany(remote, datagrams, lengths);

        public ValueTask DisposeAsync()
        {
            Interlocked.Exchange(ref _state, 2);
            Volatile.Write(ref Handler, null);
            return ValueTask.CompletedTask;
        }
    }
}
