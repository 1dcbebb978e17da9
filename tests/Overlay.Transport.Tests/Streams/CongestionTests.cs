using Overlay.Testing.Streams;

namespace Overlay.Transport.Tests.Streams;

/// <summary>NewReno between two cores on a bottleneck path: slow start, the halving on loss, and persistent congestion after a blackout.</summary>
public sealed class CongestionTests
{
    private const long Datagram = 1232;

    [Fact]
    public void Window_GrowsInSlowStart_ThenHalvesAtTheFirstLoss()
    {
        // 10 MB/s with a 64 KiB drop-tail queue and a 40 ms RTT: slow start overshoots the queue and loses packets.
        var path = new LossyLinkOptions { Delay = TimeSpan.FromMilliseconds(20), BandwidthBytesPerSecond = 10_000_000, QueueBytes = 64 * 1024, Seed = 2 };
        var pair = new MuxPair(toServer: path, toClient: path with { BandwidthBytesPerSecond = 0 });
        var windows = new List<(long Window, long Events)>();
        pair.PacketFilter = (toServer, _, _) =>
        {
            if (toServer)
            {
                var s = pair.Client.GetStatistics();
                windows.Add((s.CongestionWindow, s.CongestionEvents));
            }

            return true;
        };
        Assert.True(BulkTransfer.Run(pair, 16 << 20, verify: false).Completed);
        var beforeLoss = windows.TakeWhile(w => w.Events == 0).Select(w => w.Window).ToList();
        Assert.Equal(10 * Datagram, beforeLoss[0]);
        Assert.Equal(beforeLoss.Order(), beforeLoss); // never shrinks in slow start
        var peak = beforeLoss[^1];
        Assert.True(peak > 40 * Datagram, $"slow start reached only {peak} bytes");
        var afterFirstLoss = windows.First(w => w.Events == 1).Window;
        Assert.InRange(afterFirstLoss, (peak / 2) - (2 * Datagram), (peak / 2) + (2 * Datagram));
        Assert.True(pair.ToServer.QueueDrops > 0);
        Assert.Equal(0, pair.Client.GetStatistics().PersistentCongestionEvents);
    }

    [Fact]
    public void Blackout_IsPersistentCongestion_CollapsingTheWindow_AndTheTransferStillCompletes()
    {
        var pair = new MuxPair();
        var minimum = long.MaxValue;
        pair.PacketFilter = (toServer, _, _) =>
        {
            minimum = Math.Min(minimum, pair.Client.GetStatistics().CongestionWindow);

            // Everything from the client is lost between 0.5 s and 3.5 s.
            return !(toServer && pair.Now > TimeSpan.FromSeconds(0.5) && pair.Now < TimeSpan.FromSeconds(3.5));
        };
        Assert.True(BulkTransfer.Run(pair, 64 << 20, verify: false).Completed);
        var stats = pair.Client.GetStatistics();
        Assert.True(stats.PersistentCongestionEvents >= 1);
        Assert.True(stats.ProbeTimeouts >= 2);
        Assert.Equal(2 * Datagram, minimum);
    }
}
