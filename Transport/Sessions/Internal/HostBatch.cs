using System.Net;

namespace Overlay.Transport.Sessions.Internal;

/// <summary>
/// What a <see cref="UdpSessionHost"/>'s endpoint produced during one locked call: datagrams to send (copied back to
/// back into one buffer that grows as needed and is kept for the batch's next use) and completions to run, both after
/// the lock is released. Consecutive datagrams to one destination leave in one <see cref="IMessageTransport.SendMany"/>
/// call, so a socket can segment them in the kernel. Filled under the host's lock; drained by the one thread that took it.
/// </summary>
internal sealed class HostBatch
{
    private readonly List<(IPEndPoint Remote, int Length)> _datagrams = [];
    private int[] _lengths = new int[16];
    private byte[] _buffer = new byte[2048];
    private int _bytes;

    /// <summary>Gets the completions, in the order the endpoint reported them.</summary>
    public List<HostEffect> Effects { get; } = [];

    /// <summary>Gets whether there is nothing to do.</summary>
    public bool IsEmpty => _datagrams.Count == 0 && Effects.Count == 0;

    /// <summary>Queues a copy of <paramref name="datagram"/> for <paramref name="remote"/>.</summary>
    public void Add(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        if (_bytes + datagram.Length > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _bytes + datagram.Length));
        }

        datagram.CopyTo(_buffer.AsSpan(_bytes));
        _bytes += datagram.Length;
        _datagrams.Add((remote, datagram.Length));
    }

    /// <summary>Sends the queued datagrams in order, each run to one destination with one <see cref="IMessageTransport.SendMany"/>.</summary>
    public void SendAll(IMessageTransport socket)
    {
        try
        {
            if (_lengths.Length < _datagrams.Count)
            {
                _lengths = new int[Math.Max(_lengths.Length * 2, _datagrams.Count)];
            }

            var offset = 0;
            for (var i = 0; i < _datagrams.Count;)
            {
                var remote = _datagrams[i].Remote;
                var end = i;
                var bytes = 0;
                while (end < _datagrams.Count && _datagrams[end].Remote.Equals(remote))
                {
                    _lengths[end - i] = _datagrams[end].Length;
                    bytes += _datagrams[end].Length;
                    end++;
                }

                if (end - i == 1)
                {
                    socket.Send(remote, _buffer.AsSpan(offset, bytes));
                }
                else
                {
                    socket.SendMany(remote, _buffer.AsSpan(offset, bytes), _lengths.AsSpan(0, end - i));
                }

                offset += bytes;
                i = end;
            }
        }
        finally
        {
            _datagrams.Clear();
            _bytes = 0;
        }
    }

    /// <summary>Forgets the completions once they ran.</summary>
    public void Clear() => Effects.Clear();
}
