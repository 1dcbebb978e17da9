using System.Net;

namespace Overlay.Testing.Sessions;

/// <summary>One transport on a <see cref="LossyDatagramNetwork"/>: synchronous (<see cref="RequiresAsynchronousContinuations"/>
/// is false), so what a delivery completes runs inline on the simulation thread, in virtual time.</summary>
public sealed class LossyDatagramTransport : IMessageTransport
{
    private readonly LossyDatagramNetwork _network;
    private DatagramHandler? _handler;
    private bool _disposed;

    internal LossyDatagramTransport(LossyDatagramNetwork network, IPEndPoint endPoint)
    {
        _network = network;
        LocalEndPoint = endPoint;
        PublicEndPoint = endPoint;
    }

    /// <summary>Gets the endpoint the transport was attached at (a NAT's inside address: <see cref="LossyDatagramNetwork.Rebind"/> does not change it).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Gets the endpoint peers see this transport's datagrams come from and must send to.</summary>
    public IPEndPoint PublicEndPoint { get; internal set; }

    /// <inheritdoc/>
    public bool RequiresAsynchronousContinuations => false;

    /// <summary>Gets the datagrams received.</summary>
    public long Received { get; private set; }

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

    internal void Deliver(IPEndPoint source, byte[] datagram)
    {
        if (_handler is { } handler && !_disposed)
        {
            Received++;
            handler(source, datagram);
        }
    }
}
