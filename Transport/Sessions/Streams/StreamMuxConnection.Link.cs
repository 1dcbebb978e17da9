using System.Buffers;
using System.Threading.Channels;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The link side of <see cref="StreamMuxConnection"/>: the receiver and sender tasks around the loop, and the output queue the loop fills.</summary>
public sealed partial class StreamMuxConnection
{
    /// <summary>Builds payloads into the output queue while it has room; returns how many.</summary>
    private int Transmit(TimeSpan now)
    {
        var count = 0;
        while (true)
        {
            if (_output.Reader.Count >= _outputCapacity)
            {
                // Tell the sender to wake us when it takes one, then look again (it may have taken one meanwhile).
                Volatile.Write(ref _outputBlocked, 1);
                if (_output.Reader.Count >= _outputCapacity)
                {
                    return count;
                }
            }

            var buffer = ArrayPool<byte>.Shared.Rent(_mux.MaxPayloadBytes);
            var n = _mux.PollTransmit(buffer, now, out var packetNumber);
            if (n == 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return count;
            }

            _output.Writer.TryWrite(new MuxOutput(buffer, n, packetNumber));
            count++;
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(_link.MaxPayloadBytes);
                var handedOver = false;
                try
                {
                    var packet = await _link.ReceiveAsync(buffer, _stop.Token).ConfigureAwait(false);
                    if (packet.IsEnd)
                    {
                        PostLinkClosed(null);
                        return;
                    }

                    await _input.Writer.WriteAsync(new MuxInput(MuxInputKind.Packet, buffer, packet.Length, packet.PacketNumber), _stop.Token).ConfigureAwait(false);
                    handedOver = true;
                }
                finally
                {
                    if (!handedOver)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
        catch (IOException ex)
        {
            PostLinkClosed(ex);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    try
                    {
                        await _link.SendAsync(item.Buffer.AsMemory(0, item.Length), item.PacketNumber, _stop.Token).ConfigureAwait(false);
                    }
                    catch (IOException ex)
                    {
                        PostLinkClosed(ex);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(item.Buffer);
                    }

                    if (Interlocked.Exchange(ref _outputBlocked, 0) != 0)
                    {
                        Wake();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            while (reader.TryRead(out var item))
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }
        }
    }

    private void PostLinkClosed(Exception? error)
    {
        if (Interlocked.Exchange(ref _linkClosedPosted, 1) != 0)
        {
            return;
        }

        if (error is not null)
        {
            StreamsLog.LinkFailed(_logger, error);
        }

        // Through the side queue: a closed link must not wait for room in the input queue. The link's words (a UDP
        // session lost, a record that failed to authenticate) become the close reason the application sees.
        Post(new MuxOperation(MuxOperationKind.LinkLost, null, _asynchronous) { Reason = error?.Message ?? string.Empty });
    }
}
