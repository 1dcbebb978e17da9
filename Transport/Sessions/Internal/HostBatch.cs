using System.Buffers;
using System.Net;

namespace Overlay.Transport.Sessions.Internal;

/// <summary>
/// What a <see cref="UdpSessionHost"/>'s endpoint produced during one locked call: datagrams to send (copied into pooled
/// buffers) and completions to run, both after the lock is released. Filled under the host's lock; drained by the one
/// thread that took it.
/// </summary>
internal sealed class HostBatch
{
    private readonly List<(IPEndPoint Remote, byte[] Buffer, int Length)> _datagrams = [];

    /// <summary>Gets the completions, in the order the endpoint reported them.</summary>
    public List<HostEffect> Effects { get; } = [];

    /// <summary>Gets whether there is nothing to do.</summary>
    public bool IsEmpty => _datagrams.Count == 0 && Effects.Count == 0;

    /// <summary>Queues a copy of <paramref name="datagram"/> for <paramref name="remote"/>.</summary>
    public void Add(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(buffer);
        _datagrams.Add((remote, buffer, datagram.Length));
    }

    /// <summary>Sends the queued datagrams in order and returns their buffers.</summary>
    public void SendAll(IMessageTransport socket)
    {
        try
        {
            foreach (var (remote, buffer, length) in _datagrams)
            {
                socket.Send(remote, buffer.AsSpan(0, length));
            }
        }
        finally
        {
            foreach (var (_, buffer, _) in _datagrams)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            _datagrams.Clear();
        }
    }

    /// <summary>Empties the batch for reuse (datagrams are already gone after <see cref="SendAll"/>).</summary>
    public void Clear() => Effects.Clear();
}
