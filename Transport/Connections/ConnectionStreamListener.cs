using System.Threading.Channels;

namespace Overlay.Transport.Connections;

/// <summary>The <see cref="IStreamListener"/> of one protocol on a <see cref="ConnectionManager"/>: streams peers opened
/// for that protocol, on any connection, with the peer's proven node ID. Bounded: past
/// <see cref="ConnectionManagerOptions.ListenerBacklog"/> waiting streams, new ones are reset.</summary>
internal sealed class ConnectionStreamListener : IStreamListener
{
    private readonly ConnectionManager _owner;
    private readonly Channel<AcceptedStream> _queue;

    /// <summary>Creates the listener.</summary>
    /// <param name="owner">The manager.</param>
    /// <param name="protocol">The protocol's name.</param>
    /// <param name="backlog">Most waiting streams.</param>
    public ConnectionStreamListener(ConnectionManager owner, string protocol, int backlog)
    {
        _owner = owner;
        Protocol = protocol;
        _queue = Channel.CreateBounded<AcceptedStream>(new BoundedChannelOptions(backlog) { FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Gets the protocol's name.</summary>
    public string Protocol { get; }

    /// <inheritdoc/>
    public System.Net.IPEndPoint LocalEndPoint => _owner.LocalEndPoint;

    /// <summary>Queues a stream unless the backlog is full or the listener is closed.</summary>
    /// <param name="stream">The stream.</param>
    /// <returns>False when it was not queued (the caller resets it).</returns>
    public bool TryEnqueue(AcceptedStream stream) => _queue.Writer.TryWrite(stream);

    /// <summary>Ends <see cref="AcceptAsync"/> with <see cref="ObjectDisposedException"/> once the queue is drained.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <inheritdoc/>
    public async ValueTask<AcceptedStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _queue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(ConnectionStreamListener), $"the listener of {Protocol} was closed");
        }
    }

    /// <summary>Unregisters the protocol and resets the streams still waiting.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        _owner.Unlisten(this);
        Complete();
        while (_queue.Reader.TryRead(out var waiting))
        {
            await waiting.Stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
