using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Overlay.Transport;

namespace Overlay.Testing.Streams;

/// <summary>
/// An in-memory network of stream listeners and connectors, for tests of code above the stream seam (the block
/// exchange) without sockets: <see cref="Listen"/> registers an <see cref="IStreamListener"/> at an endpoint, and a
/// connector from <see cref="ConnectorFrom"/> opens <see cref="InMemoryStreamPair"/>s to it. Connecting to an endpoint
/// nobody listens on fails with <see cref="SocketException"/> (connection refused), as TCP does. Thread-safe.
/// </summary>
public sealed class InMemoryStreamNetwork
{
    /// <summary>Most streams waiting to be accepted per listener: 128 (beyond, connects are refused, like a full backlog).</summary>
    public const int Backlog = 128;

    private readonly ConcurrentDictionary<IPEndPoint, Listener> _listeners = new();
    private readonly int _bufferBytes;
    private int _nextPort = 40000;

    /// <summary>Creates a network whose streams hold <paramref name="bufferBytes"/> unread bytes per direction.</summary>
    /// <param name="bufferBytes">See <see cref="InMemoryStreamPair.Create"/>.</param>
    public InMemoryStreamNetwork(int bufferBytes = InMemoryStreamPair.DefaultBufferBytes)
    {
        _bufferBytes = bufferBytes;
    }

    /// <summary>Listens at <paramref name="endPoint"/>.</summary>
    /// <param name="endPoint">Any endpoint, unique on this network.</param>
    /// <returns>The listener; disposing it frees the endpoint.</returns>
    /// <exception cref="SocketException">Something already listens there (address in use).</exception>
    public IStreamListener Listen(IPEndPoint endPoint)
    {
        var listener = new Listener(this, endPoint);
        if (!_listeners.TryAdd(endPoint, listener))
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse);
        }

        return listener;
    }

    /// <summary>Returns a connector whose streams arrive at listeners as coming from <paramref name="address"/> (each
    /// with its own port).</summary>
    /// <param name="address">The source address the listeners see.</param>
    /// <returns>The connector.</returns>
    public IStreamConnector ConnectorFrom(IPAddress address) => new Connector(this, address);

    private sealed class Connector(InMemoryStreamNetwork network, IPAddress address) : IStreamConnector
    {
        public ValueTask<Stream> ConnectAsync(PeerAddress peer, CancellationToken cancellationToken = default)
        {
            var endPoint = peer.EndPoint;
            cancellationToken.ThrowIfCancellationRequested();
            if (!network._listeners.TryGetValue(endPoint, out var listener))
            {
                throw new SocketException((int)SocketError.ConnectionRefused);
            }

            var (local, remote) = InMemoryStreamPair.Create(network._bufferBytes);
            var source = new IPEndPoint(address, Interlocked.Increment(ref network._nextPort));
            if (!listener.Incoming.Writer.TryWrite(new AcceptedStream(remote, source, null)))
            {
                local.Dispose();
                remote.Dispose();
                throw new SocketException((int)SocketError.ConnectionRefused);
            }

            return ValueTask.FromResult(local);
        }
    }

    private sealed class Listener(InMemoryStreamNetwork network, IPEndPoint endPoint) : IStreamListener
    {
        public Channel<AcceptedStream> Incoming { get; } = Channel.CreateBounded<AcceptedStream>(new BoundedChannelOptions(Backlog) { FullMode = BoundedChannelFullMode.Wait });

        public IPEndPoint LocalEndPoint => endPoint;

        public async ValueTask<AcceptedStream> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await Incoming.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                throw new ObjectDisposedException(nameof(InMemoryStreamNetwork), "the listener was disposed");
            }
        }

        public ValueTask DisposeAsync()
        {
            network._listeners.TryRemove(new KeyValuePair<IPEndPoint, Listener>(endPoint, this));
            Incoming.Writer.TryComplete();
            while (Incoming.Reader.TryRead(out var pending))
            {
                pending.Stream.Dispose();
            }

            return ValueTask.CompletedTask;
        }
    }
}
