using Overlay.Testing.Streams;
using Xunit.Abstractions;

namespace Overlay.Transport.Tests.Streams;

/// <summary>
/// Bulk transfers through two cores on the simulated path in virtual time: every byte arrives intact (SHA-256 of what
/// was written equals that of what was read) with loss, reordering and duplication, and the 256 MiB cases.
/// </summary>
public sealed class TransferTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(0.00, 0.0)]
    [InlineData(0.01, 0.0)]
    [InlineData(0.05, 0.0)]
    [InlineData(0.00, 0.2)]
    [InlineData(0.05, 0.2)]
    public void FourMebibytes_ArriveIntact(double loss, double reorder)
    {
        var path = new LossyLinkOptions { LossRate = loss, ReorderRate = reorder, DuplicateRate = 0.01, Seed = 11 };
        var result = BulkTransfer.Run(4 << 20, path, path with { Seed = 12 });
        Report(result);
        Assert.True(result.Completed, $"transfer stopped at {result.BytesReceived} bytes");
        Assert.Equal(result.SentSha256, result.ReceivedSha256);
        if (loss > 0)
        {
            Assert.True(result.Sender.PacketsLost > 0);
            Assert.True(result.Sender.StreamBytesRetransmitted > 0);
        }
    }

    [Fact]
    public void SameSeeds_GiveTheSameRun()
    {
        var path = new LossyLinkOptions { LossRate = 0.02, ReorderRate = 0.1, Seed = 31 };
        var a = BulkTransfer.Run(2 << 20, path);
        var b = BulkTransfer.Run(2 << 20, path);
        Assert.Equal((a.VirtualTime, a.Sender, a.Receiver), (b.VirtualTime, b.Sender, b.Receiver));
    }

    [Theory]
    [InlineData(0.00)]
    [InlineData(0.01)]
    [InlineData(0.05)]
    public void QuarterGibibyte_OverOneStream_ArrivesIntact(double loss)
    {
        var path = new LossyLinkOptions { LossRate = loss, Seed = 21 };
        var result = BulkTransfer.Run(256L << 20, path, path with { LossRate = 0, Seed = 22 }, limit: TimeSpan.FromHours(6));
        Report(result);
        Assert.True(result.Completed, $"transfer stopped at {result.BytesReceived} bytes");
        Assert.Equal(result.SentSha256, result.ReceivedSha256);
    }

    private void Report(BulkTransferResult r) =>
        output.WriteLine($"{r.BytesReceived} bytes in {r.VirtualTime} virtual, {r.WallTime.TotalMilliseconds:F0} ms wall; sent {r.Sender.PacketsSent} lost {r.Sender.PacketsLost} retx {r.Sender.PacketsRetransmitted} cwnd {r.Sender.CongestionWindow} srtt {r.Sender.SmoothedRtt.TotalMilliseconds} ms pto {r.Sender.ProbeTimeouts} refused {r.Receiver.PacketsRefused}");
}
