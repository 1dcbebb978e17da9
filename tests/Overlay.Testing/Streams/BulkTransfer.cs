using System.Diagnostics;
using System.Security.Cryptography;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Testing.Streams;

/// <summary>The outcome of <see cref="BulkTransfer"/>.Run.</summary>
/// <param name="Completed">Whether every byte and the FIN arrived within the virtual-time limit.</param>
/// <param name="BytesReceived">Bytes the reader read.</param>
/// <param name="SentSha256">SHA-256 of the bytes written (empty when not verified).</param>
/// <param name="ReceivedSha256">SHA-256 of the bytes read (empty when not verified).</param>
/// <param name="VirtualTime">Virtual time from the first write to the FIN read.</param>
/// <param name="WallTime">Wall-clock time the run took on this machine (for reports, never for assertions).</param>
/// <param name="Sender">The sending core's statistics at the end.</param>
/// <param name="Receiver">The receiving core's statistics at the end.</param>
/// <param name="ForwardLost">Packets the forward path lost (random and queue drops).</param>
public sealed record BulkTransferResult(bool Completed, long BytesReceived, byte[] SentSha256, byte[] ReceivedSha256, TimeSpan VirtualTime, TimeSpan WallTime, StreamMuxStatistics Sender, StreamMuxStatistics Receiver, long ForwardLost)
{
    /// <summary>Gets the goodput in virtual time, bytes per second.</summary>
    public double VirtualBytesPerSecond => BytesReceived / Math.Max(VirtualTime.TotalSeconds, 1e-9);
}

/// <summary>
/// One stream, client to server, carrying <c>bytes</c> of seeded pseudo-random data through two cores on a
/// <see cref="MuxPair"/>: the writer writes whenever the core takes bytes, the reader reads whenever readable, both hash
/// what they saw. Synchronous, in virtual time; CPU cost is the two cores, the path model, and (when verifying) data
/// generation and hashing.
/// </summary>
public static class BulkTransfer
{
    private const int ChunkBytes = 64 * 1024;

    /// <summary>Runs a transfer.</summary>
    /// <param name="bytes">Bytes to send.</param>
    /// <param name="forward">Client-to-server path.</param>
    /// <param name="backward">Server-to-client path (ACKs); null for <paramref name="forward"/>'s settings with another seed.</param>
    /// <param name="options">Core options for both sides; null for defaults.</param>
    /// <param name="dataSeed">Seed of the data.</param>
    /// <param name="limit">Most virtual time; default 1 h.</param>
    /// <param name="verify">True to send fresh random data and hash both ends; false to send one random 64 KiB block over and over without hashing (benchmarks: only the cores and the path cost CPU).</param>
    /// <returns>What happened.</returns>
    public static BulkTransferResult Run(long bytes, LossyLinkOptions forward, LossyLinkOptions? backward = null, StreamMuxOptions? options = null, int dataSeed = 1, TimeSpan? limit = null, bool verify = true) =>
        Run(new MuxPair(options, options, forward, backward ?? forward with { Seed = forward.Seed + 1 }), bytes, dataSeed, limit, verify);

    /// <summary>Runs a transfer on a new stream of an existing pair (its <see cref="MuxPair.EventHandler"/> is replaced).</summary>
    /// <param name="pair">The pair; its client opens the stream.</param>
    /// <param name="bytes">Bytes to send.</param>
    /// <param name="dataSeed">Seed of the data.</param>
    /// <param name="limit">Most virtual time; default 1 h.</param>
    /// <param name="verify">As in the other overload.</param>
    /// <returns>What happened; <see cref="BulkTransferResult.VirtualTime"/> counts from this call.</returns>
    public static BulkTransferResult Run(MuxPair pair, long bytes, int dataSeed = 1, TimeSpan? limit = null, bool verify = true)
    {
        var started = pair.Now;
        var wall = Stopwatch.StartNew();
        using var sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var receivedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var data = new Random(dataSeed);
        var chunk = new byte[ChunkBytes];
        if (!verify)
        {
            data.NextBytes(chunk);
        }

        var chunkStart = 0;
        var chunkEnd = 0;
        long produced = 0;
        var finished = false;
        var readBuffer = new byte[ChunkBytes];
        long received = 0;
        var done = false;
        if (!pair.Client.TryOpenStream(out var id))
        {
            throw new InvalidOperationException("a new connection refused its first stream");
        }

        void Write()
        {
            while (!finished)
            {
                if (chunkStart == chunkEnd)
                {
                    if (produced == bytes)
                    {
                        finished = pair.Client.Finish(id);
                        return;
                    }

                    chunkEnd = (int)Math.Min(ChunkBytes, bytes - produced);
                    if (verify)
                    {
                        data.NextBytes(chunk.AsSpan(0, chunkEnd));
                        sentHash.AppendData(chunk, 0, chunkEnd);
                    }

                    produced += chunkEnd;
                    chunkStart = 0;
                }

                var result = pair.Client.Write(id, chunk.AsSpan(chunkStart, chunkEnd - chunkStart));
                chunkStart += result.Bytes;
                if (result.Status != StreamWriteStatus.Accepted)
                {
                    return;
                }
            }
        }

        void Read(long streamId)
        {
            while (true)
            {
                var result = pair.Server.Read(streamId, readBuffer);
                if (result.Status == StreamReadStatus.Data)
                {
                    if (verify)
                    {
                        receivedHash.AppendData(readBuffer, 0, result.Bytes);
                    }

                    received += result.Bytes;
                    continue;
                }

                done |= result.Status is StreamReadStatus.Finished or StreamReadStatus.Reset;
                return;
            }
        }

        pair.EventHandler = (mux, e) =>
        {
            if (mux == pair.Client && e.Kind == StreamMuxEventKind.StreamWritable)
            {
                Write();
            }
            else if (mux == pair.Server && e.Kind == StreamMuxEventKind.StreamReadable && e.StreamId == id)
            {
                Read(e.StreamId);
            }
        };
        Write();
        var completed = pair.RunUntil(() => done, limit ?? TimeSpan.FromHours(1));
        return new BulkTransferResult(
            completed && received == bytes,
            received,
            verify ? sentHash.GetHashAndReset() : [],
            verify ? receivedHash.GetHashAndReset() : [],
            pair.Now - started,
            wall.Elapsed,
            pair.Client.GetStatistics(),
            pair.Server.GetStatistics(),
            pair.ToServer.Lost + pair.ToServer.QueueDrops);
    }
}
