using System.Net;

namespace Overlay.Transport;

/// <summary>
/// Receives one datagram. Called by a transport on its delivery thread; the span is valid only during the call.
/// Implementations must not throw: untrusted bytes are decoded with TryDecode and dropped with a count.
/// </summary>
/// <param name="remote">The sender's endpoint.</param>
/// <param name="datagram">The datagram, at most <see cref="IMessageTransport.MaxDatagramBytes"/> bytes (larger ones are dropped by the transport).</param>
public delegate void DatagramHandler(IPEndPoint remote, ReadOnlySpan<byte> datagram);

/// <summary>
/// The message-transport seam under Kademlia: unreliable, unordered datagrams to and from endpoints. Implemented by
/// <see cref="UdpMessageTransport"/> (real UDP) and by the simulation's in-memory network, so that the same node code
/// runs on both (ARCHITECTURE.md, "Seams").
/// </summary>
public interface IMessageTransport : IAsyncDisposable
{
    /// <summary>Largest datagram sent or accepted, bytes: 1280 (IPv6 minimum MTU, RFC 8200 §5) − 40 − 8, so nothing fragments.</summary>
    public const int MaxDatagramBytes = 1232;

    /// <summary>Gets the local endpoint datagrams are sent from and received on.</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>
    /// Gets whether completions triggered by a delivered datagram must leave the delivery thread (true for a socket
    /// receive thread that must keep draining; false for a simulation that runs everything on one thread in virtual time).
    /// </summary>
    bool RequiresAsynchronousContinuations { get; }

    /// <summary>Starts delivering received datagrams to <paramref name="handler"/>. Call once.</summary>
    /// <param name="handler">The receiver.</param>
    /// <exception cref="InvalidOperationException">The transport was already started or is disposed.</exception>
    void Start(DatagramHandler handler);

    /// <summary>Sends one datagram, best effort: failures are counted by the transport, never thrown.</summary>
    /// <param name="remote">The destination.</param>
    /// <param name="datagram">At most <see cref="IMessageTransport.MaxDatagramBytes"/> bytes; the transport copies what it keeps.</param>
    void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram);

    /// <summary>
    /// Sends several datagrams to one destination, in order, best effort as <see cref="Send"/>. They lie back to back
    /// in <paramref name="datagrams"/>, datagram <c>i</c> being <c>lengths[i]</c> bytes. A socket may hand runs of
    /// equal-length datagrams to the kernel in one call (Linux UDP generic segmentation offload, UDP_SEGMENT, man 7
    /// udp); the receiver sees the same datagrams either way. The default sends them one by one.
    /// </summary>
    /// <param name="remote">The destination.</param>
    /// <param name="datagrams">The datagrams, concatenated.</param>
    /// <param name="lengths">Each datagram's length, bytes, each at most <see cref="MaxDatagramBytes"/>; they sum to <paramref name="datagrams"/>' length.</param>
    /// <exception cref="ArgumentException">The lengths do not sum to the buffer's length.</exception>
    void SendMany(IPEndPoint remote, ReadOnlySpan<byte> datagrams, ReadOnlySpan<int> lengths)
    {
        CheckLengths(datagrams.Length, lengths);
        var offset = 0;
        foreach (var length in lengths)
        {
            Send(remote, datagrams.Slice(offset, length));
            offset += length;
        }
    }

    /// <summary>Checks the arguments of <see cref="SendMany"/>: lengths in 0..<see cref="MaxDatagramBytes"/> summing to <paramref name="total"/>.</summary>
    /// <param name="total">The buffer's length, bytes.</param>
    /// <param name="lengths">The datagrams' lengths.</param>
    /// <exception cref="ArgumentException">They do not.</exception>
    internal static void CheckLengths(int total, ReadOnlySpan<int> lengths)
    {
        long sum = 0;
        foreach (var length in lengths)
        {
            if (length is < 0 or > MaxDatagramBytes)
            {
                throw new ArgumentException($"A datagram of {length} bytes; at most {MaxDatagramBytes}.", nameof(lengths));
            }

            sum += length;
        }

        if (sum != total)
        {
            throw new ArgumentException($"The lengths sum to {sum} bytes, the buffer holds {total}.", nameof(lengths));
        }
    }
}
