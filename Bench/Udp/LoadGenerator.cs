using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Overlay.Kademlia;
using Overlay.Kademlia.Internal;
using Overlay.Transport.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Bench.Udp;

/// <summary>The request a load run sends.</summary>
internal enum RequestKind
{
    /// <summary>PING (43-byte datagram).</summary>
    Ping,

    /// <summary>FIND_NODE of a random target (77-byte datagram; a node answers with up to 20 contacts).</summary>
    FindNode,
}

/// <summary>The outcome of one load run.</summary>
/// <param name="Answers">Matched answers received in the measured interval.</param>
/// <param name="Seconds">Length of the measured interval.</param>
/// <param name="Lost">Requests unanswered after <see cref="LoadGenerator.LossTimeout"/> (re-sent on a fresh id).</param>
/// <param name="Late">Answers that arrived after their request was declared lost, or matched no request.</param>
/// <param name="PingsAnswered">Verification PINGs from the node that the generator answered.</param>
/// <param name="RequestBytes">Size of one request datagram.</param>
/// <param name="AnswerBytes">Size of the last answer datagram.</param>
internal sealed record LoadResult(long Answers, double Seconds, long Lost, long Late, long PingsAnswered, int RequestBytes, int AnswerBytes)
{
    /// <summary>Gets or sets the share of the run's wall time the server (node receive thread or echo process) was on a CPU.</summary>
    public double ServerCpu { get; init; }

    /// <summary>Gets or sets the share of the run's wall time the generator's thread was on a CPU.</summary>
    public double GeneratorCpu { get; init; }

    /// <summary>Gets or sets the node's datagrams per receive system call during the run (warm-up included); 0 for echo runs.</summary>
    public double ReceiveBatch { get; init; }

    /// <summary>Gets answers per second in the measured interval.</summary>
    public double Rate => Answers / Seconds;
}

/// <summary>
/// A closed-loop UDP load generator on one raw socket and one thread: keeps exactly <c>window</c> requests in
/// flight (each answer frees its slot and the slot's next request goes out at once), matches answers by transaction
/// id, re-sends a request on a fresh id when its answer is later than <see cref="LossTimeout"/>. It takes answers with
/// <c>recvmmsg</c> and sends the batch's next requests with one <c>sendmmsg</c> (the node's own Linux batching,
/// <see cref="DatagramBatch"/>), so that one generator thread can outrun the servers it measures. The same code and the
/// same datagrams drive the node and the C echo baseline. Every run is bounded by its warm-up plus duration.
/// </summary>
/// <remarks>
/// A node answers a request from an unknown endpoint and then verifies the requester with a PING of its own; the
/// generator answers those PINGs with a PONG (as a real peer would), so after the first one the generator is a
/// known contact and the node sends no more. Transaction ids: bit 31 set (so the fixed32 is never zero and its
/// offset in the datagram never moves), a send counter in bits 9..30, the slot in bits 0..8.
/// </remarks>
internal sealed class LoadGenerator : IDisposable
{
    /// <summary>The most requests in flight.</summary>
    public const int MaxWindow = 512;

    /// <summary>After this long without an answer a request is counted lost and re-sent.</summary>
    public static readonly TimeSpan LossTimeout = TimeSpan.FromMilliseconds(250);

    private const int Templates = 256;
    private const int ReceiveBatch = 64;
    private const int TransactionOffset = 3;

    private readonly Socket _socket;
    private readonly byte[] _senderId;
    private readonly byte[][] _ping = new byte[1][];
    private readonly byte[][] _findNode = new byte[Templates][];
    private readonly byte[][] _targets = new byte[Templates][];

    /// <summary>Binds the generator's socket on 127.0.0.1 and builds its request templates from <paramref name="seed"/>.</summary>
    public LoadGenerator(int seed)
    {
        var random = new Random(seed);
        _senderId = new byte[NodeId.Length];
        random.NextBytes(_senderId);
        for (var i = 0; i < Templates; i++)
        {
            _targets[i] = new byte[NodeId.Length];
            random.NextBytes(_targets[i]);
        }

        BuildTemplates(ByteString.Empty);

        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
        {
            ReceiveBufferSize = 4 * 1024 * 1024,
            SendBufferSize = 1024 * 1024,
            ReceiveTimeout = 50,
        };
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    /// <summary>Gets the kernel thread id that ran the last <see cref="Run"/>.</summary>
    public int ThreadId { get; private set; }

    /// <summary>Runs one load: <paramref name="warmup"/> unmeasured, then <paramref name="duration"/> counted.</summary>
    /// <param name="target">The node or echo server (127.0.0.1 only).</param>
    /// <param name="kind">Request type.</param>
    /// <param name="window">Requests in flight, 1..<see cref="MaxWindow"/>.</param>
    /// <param name="echo">True when <paramref name="target"/> echoes: an answer is the request's own bytes.</param>
    /// <param name="warmup">Unmeasured lead-in.</param>
    /// <param name="duration">Measured interval.</param>
    public LoadResult Run(IPEndPoint target, RequestKind kind, int window, bool echo, TimeSpan warmup, TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, MaxWindow);
        if (!LinuxSockets.IsSupported)
        {
            throw new PlatformNotSupportedException("The load generator batches with recvmmsg/sendmmsg: 64-bit Linux only.");
        }

        if (!IPAddress.IsLoopback(target.Address))
        {
            throw new ArgumentException($"Load goes to 127.0.0.1 only; got {target}.", nameof(target));
        }

        ThreadId = ThreadCpu.CurrentThreadId();
        Drain();
        var templates = kind == RequestKind.Ping ? _ping : _findNode;
        var expected = echo ? (kind == RequestKind.Ping ? WireScanner.Ping : WireScanner.FindNode)
            : (kind == RequestKind.Ping ? WireScanner.Pong : WireScanner.Nodes);
        var slotIds = new uint[MaxWindow];
        var slotSent = new long[MaxWindow];
        var incoming = new DatagramBatch(ReceiveBatch, 2048);
        var outgoing = new DatagramBatch(MaxWindow, 2048);
        var descriptor = _socket.SafeHandle.DangerousGetHandle();
        var lossTicks = (long)(LossTimeout.TotalSeconds * Stopwatch.Frequency);
        uint counter = 0;
        long answers = 0, lost = 0, late = 0, pings = 0;
        var answerBytes = 0;
        var next = 0;

        void SendOn(int slot)
        {
            var id = 0x8000_0000u | ((++counter & 0x3f_ffffu) << 9) | (uint)slot;
            var datagram = templates[next++ % templates.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(TransactionOffset), id);
            slotIds[slot] = id;
            slotSent[slot] = Stopwatch.GetTimestamp();
            Queue(outgoing, target, datagram, descriptor);
        }

        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var end = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (var slot = 0; slot < window; slot++)
        {
            SendOn(slot);
        }

        Flush(outgoing, descriptor);
        var sinceScan = 0;
        long now;
        while ((now = Stopwatch.GetTimestamp()) < end)
        {
            // Blocks for the first answer at most 50 ms (SO_RCVTIMEO), then takes what else is queued.
            var received = incoming.Receive(descriptor);
            for (var i = 0; i < received; i++)
            {
                var length = incoming.ReceivedLength(i);
                var datagram = incoming.Payload(i, Math.Min(length, incoming.SlotBytes));
                if (!WireScanner.TryScan(datagram, out var id, out var body))
                {
                    late++;
                }
                else if (!echo && body == WireScanner.Ping)
                {
                    Queue(outgoing, target, Pong(id, target), descriptor);
                    pings++;
                }
                else if (body == expected && slotIds[id & (MaxWindow - 1)] == id && (id & 0x8000_0000u) != 0)
                {
                    var slot = (int)(id & (MaxWindow - 1));
                    answerBytes = length;
                    if (now >= measureFrom)
                    {
                        answers++;
                    }

                    SendOn(slot);
                }
                else
                {
                    late++;
                }
            }

            sinceScan += Math.Max(received, 0);
            if (received <= 0 || sinceScan >= 4096)
            {
                sinceScan = 0;
                now = Stopwatch.GetTimestamp();
                for (var slot = 0; slot < window; slot++)
                {
                    if (now - slotSent[slot] > lossTicks)
                    {
                        lost++;
                        SendOn(slot);
                    }
                }
            }

            Flush(outgoing, descriptor);
        }

        var seconds = (double)(Stopwatch.GetTimestamp() - measureFrom) / Stopwatch.Frequency;
        Drain();
        return new LoadResult(answers, seconds, lost, late, pings, templates[0].Length, answerBytes);
    }

    /// <summary>
    /// Makes every request echo <paramref name="addressToken"/>, the address token a node handed this generator (the
    /// 3x rule: without it a FIND_NODE answer is held to 3x the request, about 3 contacts). A token stays valid at
    /// least 5 minutes after it was issued, longer than a benchmark's runs.
    /// </summary>
    /// <param name="addressToken">The token from a <see cref="Probe"/> answer.</param>
    public void EchoAddressToken(ByteString addressToken) => BuildTemplates(addressToken);

    /// <summary>Sends one FIND_NODE and returns the decoded answer, to check what the node puts in it.</summary>
    public Envelope? Probe(IPEndPoint target)
    {
        Drain();
        var request = (byte[])_findNode[0].Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(TransactionOffset), 0x8000_0001u);
        _socket.SendTo(request, target);
        var buffer = new byte[2048];
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                var n = _socket.ReceiveFrom(buffer, ref from);
                var envelope = Envelope.Parser.ParseFrom(buffer, 0, n);
                if (envelope.BodyCase == Envelope.BodyOneofCase.Ping)
                {
                    AnswerPing(envelope.TransactionId, target);
                }
                else if (envelope.TransactionId == 0x8000_0001u)
                {
                    return envelope;
                }
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut)
            {
                // Keep waiting until the deadline.
            }
        }

        return null;
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();

    /// <summary>Builds the PING template and the FIND_NODE templates (one per target), echoing <paramref name="addressToken"/> when not empty.</summary>
    private void BuildTemplates(ByteString addressToken)
    {
        _ping[0] = Template(new Envelope { AddressToken = addressToken, Ping = new PingRequest() });
        for (var i = 0; i < Templates; i++)
        {
            _findNode[i] = Template(new Envelope { AddressToken = addressToken, FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(_targets[i]) } });
        }
    }

    private byte[] Template(Envelope envelope)
    {
        envelope.Version = 1;
        envelope.TransactionId = 0x8000_0000u;
        envelope.SenderId = ByteString.CopyFrom(_senderId);
        var bytes = envelope.ToByteArray();

        // version (tag 0x08, value 1), then transaction_id (tag 0x15, fixed32): the id sits at bytes 3..6.
        if (bytes[0] != 0x08 || bytes[1] != 0x01 || bytes[2] != 0x15)
        {
            throw new InvalidOperationException("Unexpected envelope layout: the transaction id is not at offset 3.");
        }

        return bytes;
    }

    private void AnswerPing(uint transactionId, IPEndPoint node) => _socket.SendTo(Pong(transactionId, node), node);

    private byte[] Pong(uint transactionId, IPEndPoint node) => new Envelope
    {
        Version = 1,
        TransactionId = transactionId,
        SenderId = ByteString.CopyFrom(_senderId),
        Pong = new PingResponse { ObservedIp = ByteString.CopyFrom(node.Address.GetAddressBytes()), ObservedPort = (uint)node.Port },
    }.ToByteArray();

    /// <summary>Adds a datagram to the send batch, sending the batch first when it is full.</summary>
    private static void Queue(DatagramBatch outgoing, IPEndPoint target, byte[] datagram, nint descriptor)
    {
        if (!outgoing.TryAdd(target, datagram, AddressFamily.InterNetwork))
        {
            Flush(outgoing, descriptor);
            if (!outgoing.TryAdd(target, datagram, AddressFamily.InterNetwork))
            {
                throw new InvalidOperationException($"A {datagram.Length}-byte datagram to {target} does not fit a send slot.");
            }
        }
    }

    /// <summary>
    /// Sends the batch with <c>sendmmsg</c>; the loopback target never refuses, so a refusal ends the run. The load
    /// generator does not report its own send calls, so their count is dropped.
    /// </summary>
    private static void Flush(DatagramBatch outgoing, nint descriptor)
    {
        long calls = 0;
        outgoing.SendAll(descriptor, ref calls, static (to, error) => throw new SocketException((int)error));
    }

    /// <summary>
    /// Discards answers left from an earlier run (they would count as late in the next): reads until the socket has
    /// been quiet for 50 ms, at most 100,000 datagrams.
    /// </summary>
    private void Drain()
    {
        var buffer = new byte[2048];
        for (var i = 0; i < 100_000 && _socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead); i++)
        {
            _socket.Receive(buffer);
        }
    }
}
