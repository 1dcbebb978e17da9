using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Overlay.Testing.Sessions;
using Overlay.Testing.Simulation;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Streams;
using Xunit.Abstractions;

namespace Overlay.Transport.Tests.Sessions;

/// <summary>
/// Streams over UDP sessions end to end in virtual time: <see cref="UdpSessionHost"/>, the real session endpoint with
/// its Noise keys, ChaCha20-Poly1305 and replay window, <see cref="UdpPacketLink"/> and <see cref="StreamMuxConnection"/>,
/// on a seeded lossy, reordering, duplicating datagram network; 256 MiB over one stream arrives intact (SHA-256 of what
/// was written equals that of what was read), also across a NAT rebinding.
/// </summary>
public sealed class UdpStreamTransferTests(ITestOutputHelper output)
{
    private const long QuarterGibibyte = 256L << 20;
    private static readonly NodeIdentity AliceId = Identity(21);
    private static readonly NodeIdentity BobId = Identity(22);

    [Theory]
    [InlineData(0.00, 0.00)]
    [InlineData(0.01, 0.00)]
    [InlineData(0.05, 0.00)]
    [InlineData(0.01, 0.05)]
    public void QuarterGibibyte_OverOneUdpStream_ArrivesIntact(double loss, double reorder)
    {
        var path = new LossyLinkOptions { Delay = TimeSpan.FromMilliseconds(5), LossRate = loss, ReorderRate = reorder, DuplicateRate = reorder > 0 ? 0.01 : 0, Seed = 41 };
        var outcome = Run(path, QuarterGibibyte, (_, _) => { });
        Assert.True(outcome.BytesReceived == QuarterGibibyte, $"{outcome.BytesReceived} of {QuarterGibibyte} bytes arrived");
        Assert.Equal(outcome.SentSha256, outcome.ReceivedSha256);
        if (loss > 0)
        {
            Assert.True(outcome.Client.PacketsLost > 0 && outcome.Client.StreamBytesRetransmitted > 0, "loss was recovered by retransmission");
        }

        if (reorder > 0)
        {
            Assert.True(outcome.BobReplaysDropped > 0, "duplicated datagrams reached the replay window and were dropped there");
        }
    }

    [Fact]
    public void QuarterGibibyte_SurvivesANatRebindingOfTheSender_AndTheReceiverFollowsIt()
    {
        var path = new LossyLinkOptions { Delay = TimeSpan.FromMilliseconds(5), LossRate = 0.01, Seed = 43 };
        var rebound = new IPEndPoint(IPAddress.Parse("10.0.99.1"), 61000);
        var rebinds = 0;
        var outcome = Run(path, QuarterGibibyte, (pair, received) =>
        {
            if (received >= QuarterGibibyte / 2 && rebinds++ == 0)
            {
                pair.Network.Rebind(pair.AliceSocket, rebound);
            }
        });
        Assert.True(outcome.BytesReceived == QuarterGibibyte, $"{outcome.BytesReceived} of {QuarterGibibyte} bytes arrived");
        Assert.Equal(outcome.SentSha256, outcome.ReceivedSha256);
        Assert.Equal(rebound, outcome.BobSessionRemote);
        Assert.Equal(1, outcome.BobPathChanges);
    }

    [Fact]
    public void SessionLost_EndsTheLinkAndBothStreamConnections_WithTheReason()
    {
        var hostOptions = new UdpSessionHostOptions { Session = new SessionOptions { DeadAfter = TimeSpan.FromSeconds(10) } };
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            await using var pair = await UdpSessionPair.ConnectAsync(simulator, new LossyLinkOptions { Delay = TimeSpan.FromMilliseconds(5), Seed = 45 }, AliceId, BobId, hostOptions);
            var stream = await pair.Client.OpenStreamAsync();
            await stream.WriteAsync(new byte[100_000]);
            var accepted = await pair.Server.AcceptStreamAsync();
            await accepted.ReadExactlyAsync(new byte[100_000]);

            pair.Network.Options = pair.Network.Options with { LossRate = 1 };
            var silentAt = simulator.Elapsed;
            var client = await pair.Client.Completion;
            var server = await pair.Server.Completion;
            output.WriteLine($"client: {client}; server: {server}; after {simulator.Elapsed - silentAt} of silence");
            Assert.Equal(SessionCloseReason.Lost, pair.AliceLink.EndReason);
            Assert.Equal(SessionCloseReason.Lost, pair.BobLink.EndReason);
            Assert.Contains("UDP session lost", client.Reason, StringComparison.Ordinal);
            Assert.Contains("UDP session lost", server.Reason, StringComparison.Ordinal);
            var read = await Assert.ThrowsAsync<StreamMuxException>(async () => Assert.Equal(-1, await accepted.ReadAsync(new byte[10])));
            Assert.Contains("UDP session lost", read.Message, StringComparison.Ordinal);
            Assert.Equal(0, pair.Alice.SessionCount);
        });
        Assert.Equal(0, simulator.OffThreadCalls);
    }

    [Fact]
    public void DiallingTheWrongNodeId_FailsWithTheReason_AndNoSessionRemains()
    {
        var simulator = new Simulator();
        simulator.Run(async () =>
        {
            var network = new LossyDatagramNetwork(simulator, new LossyLinkOptions { Seed = 47 });
            var a = network.Attach();
            var b = network.Attach();
            await using var alice = new UdpSessionHost(AliceId, a, null, simulator);
            await using var bob = new UdpSessionHost(BobId, b, null, simulator);
            alice.Start();
            bob.Start();
            var error = await Assert.ThrowsAsync<UdpSessionException>(() => alice.ConnectAsync(b.PublicEndPoint, AliceId.Id));
            Assert.Equal(SessionCloseReason.HandshakeFailed, error.Reason);
            Assert.Contains("could not prove the expected node ID", error.Message, StringComparison.Ordinal);
            Assert.Equal(0, alice.SessionCount);

            var timeout = await Assert.ThrowsAsync<UdpSessionException>(() => alice.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.9.9.9"), 4000), BobId.Id));
            Assert.Equal(SessionCloseReason.HandshakeTimeout, timeout.Reason);
        });
    }

    private Outcome Run(LossyLinkOptions path, long bytes, Action<UdpSessionPair, long> progress)
    {
        var simulator = new Simulator();
        var wall = Stopwatch.StartNew();
        var outcome = simulator.Run(
            async () =>
            {
                await using var pair = await UdpSessionPair.ConnectAsync(simulator, path, AliceId, BobId);
                var started = simulator.Elapsed;
                var (sent, received, count) = await TransferAsync(pair, bytes, progress);
                return new Outcome(
                    count,
                    sent,
                    received,
                    pair.Client.Statistics,
                    pair.BobLink.Session.RemoteEndPoint,
                    pair.BobLink.Session.PathChanges,
                    pair.BobLink.Session.ReplaysDropped,
                    $"{count} bytes in {simulator.Elapsed - started} virtual; network sent {pair.Network.Sent} lost {pair.Network.Lost} reordered {pair.Network.Reordered} duplicated {pair.Network.Duplicated} unreachable {pair.Network.Unreachable}; "
                    + $"client sent {pair.Client.Statistics.PacketsSent} lost {pair.Client.Statistics.PacketsLost} cwnd {pair.Client.Statistics.CongestionWindow}; rekeys {pair.AliceLink.Session.Rekeys}; refused {pair.AliceLink.SendsRefused}; overflows {pair.BobLink.QueueOverflows}; replays dropped {pair.BobLink.Session.ReplaysDropped}");
            },
            TimeSpan.FromHours(6));
        output.WriteLine($"{outcome.Report}; {wall.ElapsedMilliseconds} ms wall");
        Assert.Equal(0, simulator.OffThreadCalls);
        return outcome;
    }

    private static async Task<(byte[] Sent, byte[] Received, long Count)> TransferAsync(UdpSessionPair pair, long bytes, Action<UdpSessionPair, long> progress)
    {
        using var sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var receivedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var stream = await pair.Client.OpenStreamAsync();
        async Task WriteAsync()
        {
            var random = new Random(7);
            var chunk = new byte[64 * 1024];
            for (long sent = 0; sent < bytes;)
            {
                var n = (int)Math.Min(chunk.Length, bytes - sent);
                random.NextBytes(chunk.AsSpan(0, n));
                sentHash.AppendData(chunk, 0, n);
                await stream.WriteAsync(chunk.AsMemory(0, n));
                sent += n;
            }

            await stream.CompleteWritesAsync();
        }

        var writing = WriteAsync();
        var accepted = await pair.Server.AcceptStreamAsync();
        var buffer = new byte[64 * 1024];
        long received = 0;
        int read;
        while ((read = await accepted.ReadAsync(buffer)) > 0)
        {
            receivedHash.AppendData(buffer, 0, read);
            received += read;
            progress(pair, received);
        }

        await writing;
        return (sentHash.GetHashAndReset(), receivedHash.GetHashAndReset(), received);
    }

    private static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }

    private sealed record Outcome(long BytesReceived, byte[] SentSha256, byte[] ReceivedSha256, StreamMuxStatistics Client, IPEndPoint BobSessionRemote, int BobPathChanges, long BobReplaysDropped, string Report);
}
