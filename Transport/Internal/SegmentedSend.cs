using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Overlay.Transport.Internal;

/// <summary>
/// Linux UDP generic segmentation offload (UDP_SEGMENT, man 7 udp, kernel 4.18+): one <c>sendmsg(2)</c> carries a
/// buffer of back-to-back datagrams of one length (the last may be shorter), and the kernel cuts it into datagrams
/// after the route lookup and headers were done once. The receiver sees ordinary datagrams. The message header, address and control message live on the stack; the payload is
/// pinned for the call. Thread-safe (no shared state).
/// </summary>
internal static unsafe class SegmentedSend
{
    /// <summary>Most datagrams per call: 64 (UDP_MAX_SEGMENTS in older kernels; newer ones take 128).</summary>
    public const int MaxSegments = 64;

    /// <summary>Most bytes per call: 65,507, the largest UDP payload over IPv4 (65,535 less the IP and UDP headers);
    /// 53 datagrams of 1,232 bytes.</summary>
    public const int MaxBytes = 65_507;

    private const int ControlHeaderBytes = 16; // struct cmsghdr on LP64: size_t len, int level, int type
    private const int ControlSpaceBytes = 24; // CMSG_SPACE(sizeof(uint16_t))

    /// <summary>Sends <paramref name="datagrams"/> (each <paramref name="segmentBytes"/> long, the last at most that) to
    /// <paramref name="remote"/> with one <c>sendmsg</c> carrying a UDP_SEGMENT control message.</summary>
    /// <param name="socket">The socket's file descriptor (blocking).</param>
    /// <param name="remote">The destination.</param>
    /// <param name="socketFamily">The socket's address family.</param>
    /// <param name="datagrams">At most <see cref="MaxBytes"/> bytes and <see cref="MaxSegments"/> segments.</param>
    /// <param name="segmentBytes">The length of every datagram but the last, bytes.</param>
    /// <returns><see cref="SocketError.Success"/>, or the error of the call (EINTR is retried).</returns>
    public static SocketError Send(nint socket, IPEndPoint remote, AddressFamily socketFamily, ReadOnlySpan<byte> datagrams, int segmentBytes)
    {
        Span<byte> address = stackalloc byte[28];
        if (!DatagramBatch.TryWriteAddress(address, remote, socketFamily, out var addressLength))
        {
            return SocketError.AddressFamilyNotSupported;
        }

        Span<byte> control = stackalloc byte[ControlSpaceBytes];
        control.Clear();
        MemoryMarshal.Write(control, (nuint)(ControlHeaderBytes + sizeof(ushort)));
        MemoryMarshal.Write(control[8..], LinuxSockets.SolUdp);
        MemoryMarshal.Write(control[12..], LinuxSockets.UdpSegment);
        MemoryMarshal.Write(control[16..], (ushort)segmentBytes);
        fixed (byte* payload = datagrams)
        fixed (byte* name = address)
        fixed (byte* controlBytes = control)
        {
            var vector = new DatagramBatch.IoVector { Base = (nint)payload, Length = (nuint)datagrams.Length };
            var header = new DatagramBatch.MessageHeader
            {
                Name = (nint)name,
                NameLength = (uint)addressLength,
                IoVectors = (nint)(&vector),
                IoVectorCount = 1,
                Control = (nint)controlBytes,
                ControlLength = ControlSpaceBytes,
            };
            while (true)
            {
                if (SendMessage(socket, (nint)(&header), 0) >= 0)
                {
                    return SocketError.Success;
                }

                var error = LinuxSockets.LastError();
                if (error != SocketError.Interrupted)
                {
                    return error;
                }
            }
        }
    }

    /// <summary>Returns whether <paramref name="error"/> says the kernel or device cannot segment (EINVAL, EIO,
    /// EOPNOTSUPP, ENOPROTOOPT): the caller stops trying and sends one by one.</summary>
    /// <param name="error">The error of <see cref="Send"/>.</param>
    /// <returns>True when segmentation is unavailable.</returns>
    public static bool MeansUnsupported(SocketError error) =>
        error is SocketError.InvalidArgument or SocketError.OperationNotSupported or SocketError.ProtocolOption or SocketError.SocketError;

    /// <summary>sendmsg(2). Returns the bytes sent, or −1 with errno set.</summary>
    [DllImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static extern nint SendMessage(nint socket, nint message, int flags);
}
