using System.Net;
using Overlay.Kademlia;

namespace Overlay.Testing.Simulation;

/// <summary>One node's attachment to an <see cref="InMemoryNetwork"/>: the <see cref="IMessageTransport"/> the node runs on.</summary>
public sealed class InMemoryTransport : IMessageTransport
{
    private readonly InMemoryNetwork _network;
    private DatagramHandler? _handler;
    private bool _disposed;

    internal InMemoryTransport(InMemoryNetwork network, IPEndPoint endPoint, TimeSpan accessDelay)
    {
        _network = network;
        LocalEndPoint = endPoint;
        AccessDelay = accessDelay;
    }

    /// <inheritdoc/>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Gets this node's one-way access delay.</summary>
    public TimeSpan AccessDelay { get; }

    /// <inheritdoc/>
    public bool RequiresAsynchronousContinuations => false;

    /// <inheritdoc/>
    public void Start(DatagramHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_handler is not null)
        {
            throw new InvalidOperationException("The transport is already started.");
        }

        _handler = handler;
    }

    /// <inheritdoc/>
    public void Send(IPEndPoint remote, ReadOnlySpan<byte> datagram)
    {
        if (!_disposed)
        {
            _network.Send(this, remote, datagram);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _network.Detach(this);
        }

        return ValueTask.CompletedTask;
    }

    internal void Deliver(IPEndPoint source, ReadOnlySpan<byte> datagram) => _handler?.Invoke(source, datagram);
}
