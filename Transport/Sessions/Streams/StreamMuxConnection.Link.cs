using System.Buffers;
using System.Threading.Channels;
using Overlay.Transport.Sessions.Streams.Internal;

namespace Overlay.Transport.Sessions.Streams;

/// <summary>The link side of <see cref="StreamMuxConnection"/>: how payloads move between link and loop. A UDP session's
/// link is drained and fed by the loop itself; a link that may wait (TCP) gets a receiver task and a sender task, with
/// the output queue the loop fills between.</summary>
public sealed partial class StreamMuxConnection
{
    /// <summary>Builds payloads and hands them to the link: straight from this loop in batches of
    /// <see cref="SendBatchSize"/> when the link never waits, else into the output queue while it has room; returns how many.</summary>
    private int Transmit(TimeSpan now)
    {
        if (_sendsDirectly)
        {
            return TransmitDirectly(now);
        }

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

    /// <summary>Builds up to <see cref="SendBatchSize"/> payloads into one pooled slab and sends them with one
    /// <see cref="IPacketLink.SendManyAsync"/>, until the core has nothing more to send now.</summary>
    private int TransmitDirectly(TimeSpan now)
    {
        var size = _mux.MaxPayloadBytes;
        var slab = ArrayPool<byte>.Shared.Rent(SendBatchSize * size);
        var payloads = ArrayPool<LinkPayload>.Shared.Rent(SendBatchSize);
        var total = 0;
        try
        {
            while (true)
            {
                var count = 0;
                while (count < SendBatchSize)
                {
                    var slot = slab.AsMemory(count * size, size);
                    var n = _mux.PollTransmit(slot.Span, now, out var packetNumber);
                    if (n == 0)
                    {
                        break;
                    }

                    payloads[count++] = new LinkPayload(slot[..n], packetNumber);
                }

                if (count == 0)
                {
                    return total;
                }

                total += count;
                try
                {
                    var sent = _link.SendManyAsync(payloads.AsMemory(0, count), _stop.Token);
                    if (!sent.IsCompleted)
                    {
                        throw new InvalidOperationException("A link that sends without waiting returned a pending send.");
                    }

                    sent.GetAwaiter().GetResult();
                }
                catch (IOException ex)
                {
                    PostLinkClosed(ex);
                    return total;
                }

                if (count < SendBatchSize)
                {
                    return total;
                }
            }
        }
        finally
        {
            ArrayPool<LinkPayload>.Shared.Return(payloads, clearArray: true);
            ArrayPool<byte>.Shared.Return(slab);
        }
    }

    /// <summary>Payloads the loop takes from a link that notifies (<see cref="IPacketLink.CanNotify"/>) per step before it
    /// transmits: 256; past that it wakes itself for another step.</summary>
    private const int PullsPerStep = 256;

    /// <summary>Takes what a notifying link holds, straight into the core.</summary>
    private void PullFromLink(TimeSpan now)
    {
        if (Volatile.Read(ref _linkClosedPosted) != 0)
        {
            return;
        }

        var buffer = _pullBuffer ??= new byte[_link.MaxPayloadBytes];
        try
        {
            for (var i = 0; i < PullsPerStep; i++)
            {
                if (!_link.TryReceive(buffer, out var packet))
                {
                    return;
                }

                if (packet.IsEnd)
                {
                    PostLinkClosed(null);
                    return;
                }

                if (!_mux.TryReceive(buffer.AsSpan(0, packet.Length), packet.PacketNumber, now, out var error))
                {
                    StreamsLog.ProtocolError(_logger, error);
                }
            }

            Wake(); // more may wait: another step takes them after this one transmits
        }
        catch (IOException ex)
        {
            PostLinkClosed(ex);
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

    /// <summary>Payloads handed to the link per call: 64, a little more than one segmented UDP send carries (53 datagrams of 1,232 bytes).</summary>
    private const int SendBatchSize = 64;

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        var taken = new MuxOutput[SendBatchSize];
        var payloads = new LinkPayload[SendBatchSize];
        var count = 0;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (true)
                {
                    count = 0;
                    while (count < SendBatchSize && reader.TryRead(out var item))
                    {
                        taken[count] = item;
                        payloads[count] = new LinkPayload(item.Buffer.AsMemory(0, item.Length), item.PacketNumber);
                        count++;
                    }

                    if (count == 0)
                    {
                        break;
                    }

                    // The loop may be parked on a full queue: wake it now, so it builds the next payloads while these go out.
                    if (Interlocked.Exchange(ref _outputBlocked, 0) != 0)
                    {
                        Wake();
                    }

                    try
                    {
                        await _link.SendManyAsync(payloads.AsMemory(0, count), _stop.Token).ConfigureAwait(false);
                    }
                    catch (IOException ex)
                    {
                        PostLinkClosed(ex);
                    }
                    finally
                    {
                        Release(taken, payloads, count);
                        count = 0;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            Release(taken, payloads, count);
            while (reader.TryRead(out var item))
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }
        }
    }

    private static void Release(MuxOutput[] taken, LinkPayload[] payloads, int count)
    {
        for (var i = 0; i < count; i++)
        {
            ArrayPool<byte>.Shared.Return(taken[i].Buffer);
            taken[i] = default;
            payloads[i] = default;
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
