using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Overlay.Transport.Internal;

/// <summary>
/// A fixed set of datagram slots laid out for Linux <c>recvmmsg(2)</c> and <c>sendmmsg(2)</c>: per slot one
/// <c>struct mmsghdr</c>, one <c>struct iovec</c>, a 128-byte <c>sockaddr_storage</c> and <see cref="SlotBytes"/> bytes
/// of payload, all in pinned (POH) arrays so the kernel can be handed their addresses. Used only by the receive thread
/// of <see cref="UdpMessageTransport"/>; not thread-safe.
/// </summary>
internal sealed class DatagramBatch
{
    private const int AddressBytes = 128;
    private const ushort FamilyInet = 2;
    private const ushort FamilyInet6 = 10;

    private readonly MultiMessageHeader[] _headers;
    private readonly IoVector[] _vectors;
    private readonly byte[] _addresses;
    private readonly byte[] _payloads;
    private readonly IPEndPoint?[] _destinations;
    private readonly nint _headersAddress;

    /// <summary>Bytes of control-message space per slot when receive offload is on: room for a UDP_GRO message (24 bytes) and more.</summary>
    public const int OffloadControlBytes = 64;

    private readonly byte[]? _controls;

    /// <summary>Allocates <paramref name="capacity"/> slots of <paramref name="slotBytes"/> bytes each.</summary>
    /// <param name="capacity">Slots.</param>
    /// <param name="slotBytes">Payload bytes per slot.</param>
    /// <param name="controlBytes">Control-message bytes per slot for received ancillary data (UDP_GRO); 0 for none.</param>
    public DatagramBatch(int capacity, int slotBytes, int controlBytes = 0)
    {
        Capacity = capacity;
        SlotBytes = slotBytes;
        ControlBytes = controlBytes;
        _controls = controlBytes > 0 ? GC.AllocateArray<byte>(capacity * controlBytes, pinned: true) : null;
        _headers = GC.AllocateArray<MultiMessageHeader>(capacity, pinned: true);
        _vectors = GC.AllocateArray<IoVector>(capacity, pinned: true);
        _addresses = GC.AllocateArray<byte>(capacity * AddressBytes, pinned: true);
        _payloads = GC.AllocateArray<byte>(capacity * slotBytes, pinned: true);
        _destinations = new IPEndPoint?[capacity];
        for (var i = 0; i < capacity; i++)
        {
            _vectors[i].Base = Marshal.UnsafeAddrOfPinnedArrayElement(_payloads, i * slotBytes);
            _headers[i].Header.Name = Marshal.UnsafeAddrOfPinnedArrayElement(_addresses, i * AddressBytes);
            _headers[i].Header.IoVectors = Marshal.UnsafeAddrOfPinnedArrayElement(_vectors, i);
            _headers[i].Header.IoVectorCount = 1;
        }

        _headersAddress = Marshal.UnsafeAddrOfPinnedArrayElement(_headers, 0);
    }

    /// <summary>Gets the number of slots.</summary>
    public int Capacity { get; }

    /// <summary>Gets the control-message bytes per slot (0: none).</summary>
    public int ControlBytes { get; }

    /// <summary>Gets the payload bytes of one slot.</summary>
    public int SlotBytes { get; }

    /// <summary>Gets the number of slots filled by <see cref="TryAdd"/> since the last <see cref="SendAll"/>.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Receives into the slots with one <c>recvmmsg</c>, blocking for the first datagram only (MSG_WAITFORONE; a
    /// receive timeout set on the socket bounds that wait).
    /// </summary>
    /// <param name="socket">The socket's file descriptor.</param>
    /// <returns>The number of datagrams received (read with <see cref="ReceivedLength"/>, <see cref="Truncated"/>,
    /// <see cref="Source"/> and <see cref="Payload"/>), or −1 with the error in <see cref="LinuxSockets.LastError"/>.</returns>
    /// <exception cref="DllNotFoundException">libc cannot be loaded.</exception>
    /// <exception cref="EntryPointNotFoundException">libc has no <c>recvmmsg</c>.</exception>
    public int Receive(nint socket)
    {
        // The kernel overwrites each used slot's address length and flags; ready every slot again.
        for (var i = 0; i < Capacity; i++)
        {
            _vectors[i].Length = (nuint)SlotBytes;
            _headers[i].Header.NameLength = AddressBytes;
            _headers[i].Header.Flags = 0;
            if (_controls is not null)
            {
                _headers[i].Header.Control = Marshal.UnsafeAddrOfPinnedArrayElement(_controls, i * ControlBytes);
                _headers[i].Header.ControlLength = (nuint)ControlBytes;
            }
        }

        return LinuxSockets.ReceiveMessages(socket, _headersAddress, (uint)Capacity, LinuxSockets.WaitForOne, 0);
    }

    /// <summary>
    /// Sends the filled slots with <c>sendmmsg</c>, as many per call as the kernel takes, then empties the batch. A
    /// datagram the kernel refuses is reported to <paramref name="refused"/> and skipped; EINTR is retried.
    /// </summary>
    /// <param name="socket">The socket's file descriptor.</param>
    /// <param name="calls">Incremented (atomically) just <em>before</em> each <c>sendmmsg</c> call, so that a thread
    /// that has received a datagram of a call (on loopback the kernel delivers it inside the call) always sees that
    /// call counted; counting after the call returned let a receiver read a count one short.</param>
    /// <param name="refused">Called with the destination and error of each refused datagram.</param>
    public void SendAll(nint socket, ref long calls, Action<IPEndPoint, SocketError> refused)
    {
        for (var sent = 0; sent < Count;)
        {
            Interlocked.Increment(ref calls);
            var result = LinuxSockets.SendMessages(socket, _headersAddress + (sent * HeaderBytes), (uint)(Count - sent), 0);
            if (result > 0)
            {
                sent += result;
            }
            else if (LinuxSockets.LastError() is var error && error != SocketError.Interrupted)
            {
                refused(_destinations[sent]!, error);
                sent++;
            }
        }

        Array.Clear(_destinations, 0, Count);
        Count = 0;
    }

    /// <summary>Gets the length the kernel reported for received slot <paramref name="index"/>, bytes.</summary>
    public int ReceivedLength(int index) => (int)_headers[index].Length;

    /// <summary>
    /// Gets the segment size the kernel reported for received slot <paramref name="index"/> (a UDP_GRO control message,
    /// man 7 udp): the slot then holds several datagrams of that many bytes from one source, back to back, the last
    /// possibly shorter. 0 when the slot holds one datagram.
    /// </summary>
    public int SegmentSize(int index)
    {
        if (_controls is null)
        {
            return 0;
        }

        var length = (int)Math.Min(_headers[index].Header.ControlLength, (nuint)ControlBytes);
        var control = _controls.AsSpan(index * ControlBytes, length);
        while (control.Length >= 16)
        {
            // struct cmsghdr (LP64): size_t cmsg_len, int cmsg_level, int cmsg_type, then the data, 8-byte aligned.
            var messageLength = (int)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(control), (ulong)control.Length);
            if (messageLength < 16)
            {
                return 0;
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(control[8..]) == LinuxSockets.SolUdp && BinaryPrimitives.ReadInt32LittleEndian(control[12..]) == LinuxSockets.UdpGro && messageLength >= 20)
            {
                return BinaryPrimitives.ReadInt32LittleEndian(control[16..]);
            }

            control = control[Math.Min(control.Length, (messageLength + 7) & ~7)..];
        }

        return 0;
    }

    /// <summary>Gets whether received slot <paramref name="index"/> was cut to fit its slot (MSG_TRUNC).</summary>
    public bool Truncated(int index) => (_headers[index].Header.Flags & LinuxSockets.MessageTruncated) != 0;

    /// <summary>Gets the first <paramref name="length"/> payload bytes of slot <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Payload(int index, int length) => _payloads.AsSpan(index * SlotBytes, length);

    /// <summary>
    /// Decodes the source address of received slot <paramref name="index"/> (<c>sockaddr_in</c> or <c>sockaddr_in6</c>;
    /// a v4-mapped IPv6 source stays IPv6, as <see cref="Socket.ReceiveFrom(Span{byte}, ref EndPoint)"/> gives it).
    /// </summary>
    /// <returns>The source, or null for another address family.</returns>
    public IPEndPoint? Source(int index)
    {
        var address = _addresses.AsSpan(index * AddressBytes, (int)Math.Min(_headers[index].Header.NameLength, AddressBytes));
        if (address.Length < 16)
        {
            return null;
        }

        var family = BinaryPrimitives.ReadUInt16LittleEndian(address);
        var port = BinaryPrimitives.ReadUInt16BigEndian(address[2..]);
        return family switch
        {
            FamilyInet => new IPEndPoint(new IPAddress(address.Slice(4, 4)), port),
            FamilyInet6 when address.Length >= 28 => new IPEndPoint(new IPAddress(address.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(address[24..])), port),
            _ => null,
        };
    }

    /// <summary>
    /// Copies <paramref name="datagram"/> into the next free slot, addressed to <paramref name="remote"/>, for
    /// <c>sendmmsg</c>. An IPv4 destination on an IPv6 socket is written v4-mapped.
    /// </summary>
    /// <param name="remote">The destination.</param>
    /// <param name="datagram">At most <see cref="SlotBytes"/> bytes.</param>
    /// <param name="socketFamily">The socket's address family.</param>
    /// <returns>False when the batch is full, the datagram exceeds a slot, or the destination cannot be reached from
    /// a socket of <paramref name="socketFamily"/> (IPv6 on an IPv4 socket); nothing is added then.</returns>
    public bool TryAdd(IPEndPoint remote, ReadOnlySpan<byte> datagram, AddressFamily socketFamily)
    {
        if (Count == Capacity || datagram.Length > SlotBytes)
        {
            return false;
        }

        if (!TryWriteAddress(_addresses.AsSpan(Count * AddressBytes, AddressBytes), remote, socketFamily, out var addressLength))
        {
            return false;
        }

        datagram.CopyTo(_payloads.AsSpan(Count * SlotBytes, SlotBytes));
        _vectors[Count].Length = (nuint)datagram.Length;
        _headers[Count].Header.NameLength = (uint)addressLength;
        _headers[Count].Header.Flags = 0;
        _destinations[Count] = remote;
        Count++;
        return true;
    }

    /// <summary>
    /// Writes <paramref name="remote"/> as the <c>sockaddr_in</c> (16 bytes) or <c>sockaddr_in6</c> (28 bytes) a socket
    /// of <paramref name="socketFamily"/> sends to; an IPv4 destination on an IPv6 socket is written v4-mapped.
    /// </summary>
    /// <param name="address">At least 28 bytes.</param>
    /// <param name="remote">The destination.</param>
    /// <param name="socketFamily">The socket's address family.</param>
    /// <param name="length">The address's length, bytes.</param>
    /// <returns>False when the destination cannot be reached from such a socket (IPv6 on an IPv4 socket).</returns>
    internal static bool TryWriteAddress(Span<byte> address, IPEndPoint remote, AddressFamily socketFamily, out int length)
    {
        if (socketFamily == AddressFamily.InterNetwork)
        {
            length = 16;
            if (remote.AddressFamily != AddressFamily.InterNetwork)
            {
                return false;
            }

            address[..16].Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(address, FamilyInet);
            BinaryPrimitives.WriteUInt16BigEndian(address[2..], (ushort)remote.Port);
            remote.Address.TryWriteBytes(address.Slice(4, 4), out _);
            return true;
        }

        var ip = remote.Address.AddressFamily == AddressFamily.InterNetwork ? remote.Address.MapToIPv6() : remote.Address;
        address[..28].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(address, FamilyInet6);
        BinaryPrimitives.WriteUInt16BigEndian(address[2..], (ushort)remote.Port);
        ip.TryWriteBytes(address.Slice(8, 16), out _);
        BinaryPrimitives.WriteUInt32LittleEndian(address[24..], (uint)ip.ScopeId);
        length = 28;
        return true;
    }

    /// <summary><c>struct iovec</c> (LP64): base address, length in bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVector
    {
        public nint Base;
        public nuint Length;
    }

    /// <summary><c>struct msghdr</c> (LP64, 56 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MessageHeader
    {
        public nint Name;
        public uint NameLength;
        public nint IoVectors;
        public nuint IoVectorCount;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary><c>struct mmsghdr</c> (LP64, 64 bytes): a message header and the byte count the kernel set.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MultiMessageHeader
    {
        public MessageHeader Header;
        public uint Length;
    }

    /// <summary>The size of one <c>struct mmsghdr</c> as laid out here: 64 bytes on LP64 Linux.</summary>
    internal static readonly int HeaderBytes = Marshal.SizeOf<MultiMessageHeader>();
}

/// <summary>
/// The two Linux system calls that move many datagrams per call (man 2 recvmmsg, man 2 sendmmsg). On this machine a
/// system call costs about 1 µs (Bench/RESULTS.md), as much as the rest of answering a PING, so a busy receive thread
/// answers a batch with two calls instead of two per datagram.
/// </summary>
internal static class LinuxSockets
{
    /// <summary>SOL_UDP: the level of UDP's socket options and control messages.</summary>
    public const int SolUdp = 17;

    /// <summary>UDP_SEGMENT (man 7 udp): segment size of a send, as a socket option or a control message.</summary>
    public const int UdpSegment = 103;

    /// <summary>UDP_GRO (man 7 udp): deliver coalesced datagrams, with their segment size in a control message.</summary>
    public const int UdpGro = 104;

    /// <summary>MSG_TRUNC: the datagram was longer than its buffer.</summary>
    public const int MessageTruncated = 0x20;

    /// <summary>MSG_WAITFORONE: block for the first datagram only, then take what is queued.</summary>
    public const int WaitForOne = 0x10000;

    /// <summary>Gets whether batched calls can be tried: Linux, 64-bit process (the struct layouts here are LP64).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>recvmmsg(2). Returns the number of messages received, or −1 with errno set.</summary>
    [DllImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static extern int ReceiveMessages(nint socket, nint messages, uint count, int flags, nint timeout);

    /// <summary>sendmmsg(2). Returns the number of messages sent, or −1 with errno set.</summary>
    [DllImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static extern int SendMessages(nint socket, nint messages, uint count, int flags);

    /// <summary>Gets the errno of the last call above, as a <see cref="SocketError"/> where one matches.</summary>
    public static SocketError LastError() => Marshal.GetLastPInvokeError() switch
    {
        1 => SocketError.AccessDenied,
        4 => SocketError.Interrupted,
        9 => SocketError.OperationAborted,
        11 => SocketError.WouldBlock,
        13 => SocketError.AccessDenied,
        22 => SocketError.InvalidArgument,
        90 => SocketError.MessageSize,
        92 => SocketError.ProtocolOption,
        95 => SocketError.OperationNotSupported,
        97 => SocketError.AddressFamilyNotSupported,
        101 => SocketError.NetworkUnreachable,
        104 => SocketError.ConnectionReset,
        105 => SocketError.NoBufferSpaceAvailable,
        111 => SocketError.ConnectionRefused,
        113 => SocketError.HostUnreachable,
        _ => SocketError.SocketError,
    };
}
