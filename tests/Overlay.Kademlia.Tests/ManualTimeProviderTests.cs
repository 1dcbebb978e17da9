using Overlay.Testing;

namespace Overlay.Kademlia.Tests;

/// <summary>The virtual clock the other tests rely on: timers fire only when time is moved, in due-time order.</summary>
public sealed class ManualTimeProviderTests
{
    private static readonly DateTimeOffset Start = new(2030, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Clock_StandsStill_UntilMoved()
    {
        var clock = new ManualTimeProvider(Start);
        var t0 = clock.GetTimestamp();
        Assert.Equal(Start, clock.GetUtcNow());
        Assert.Equal(TimeSpan.Zero, clock.GetUtcNow().Offset);
        Assert.Equal(TimeSpan.TicksPerSecond, clock.TimestampFrequency);

        clock.Advance(TimeSpan.FromMilliseconds(1500));

        Assert.Equal(Start.AddMilliseconds(1500), clock.GetUtcNow());
        Assert.Equal(TimeSpan.FromMilliseconds(1500), clock.GetElapsedTime(t0));
        Assert.Equal(t0 + (15 * TimeSpan.TicksPerMillisecond * 100), clock.GetTimestamp());
    }

    [Fact]
    public void Constructor_ConvertsStartToUtc_AndDefaultsToDefaultStart()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2030, 6, 1, 14, 0, 0, TimeSpan.FromHours(2)));
        Assert.Equal(Start, clock.GetUtcNow());
        Assert.Equal(TimeSpan.Zero, clock.GetUtcNow().Offset);
        Assert.Equal(ManualTimeProvider.DefaultStart, new ManualTimeProvider().GetUtcNow());
    }

    [Fact]
    public void SetUtcNow_MovesForward_AndRefusesToGoBack()
    {
        var clock = new ManualTimeProvider(Start);
        clock.SetUtcNow(Start.AddHours(1));
        Assert.Equal(Start.AddHours(1), clock.GetUtcNow());
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.SetUtcNow(Start));
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Advance(TimeSpan.FromTicks(-1)));
        Assert.Equal(Start.AddHours(1), clock.GetUtcNow());
    }

    [Fact]
    public async Task TaskDelay_CompletesOnlyAfterAdvancePastItsDueTime()
    {
        var clock = new ManualTimeProvider(Start);
        var delay = Task.Delay(TimeSpan.FromSeconds(10), clock);
        Assert.False(delay.IsCompleted);
        Assert.Equal(1, clock.ArmedTimerCount);

        clock.Advance(TimeSpan.FromSeconds(9.999));
        Assert.False(delay.IsCompleted);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(delay.IsCompletedSuccessfully);
        Assert.Equal(0, clock.ArmedTimerCount);
        await delay;
    }

    [Fact]
    public async Task TaskDelay_Cancelled_DisposesItsTimer()
    {
        var clock = new ManualTimeProvider(Start);
        using var cts = new CancellationTokenSource();
        var delay = Task.Delay(TimeSpan.FromMinutes(1), clock, cts.Token);
        Assert.Equal(1, clock.ArmedTimerCount);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delay);
        Assert.Equal(0, clock.ArmedTimerCount);
    }

    [Fact]
    public void CancellationTokenSource_WithClock_CancelsAtDueTime()
    {
        var clock = new ManualTimeProvider(Start);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3), clock);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(cts.IsCancellationRequested);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(cts.IsCancellationRequested);
    }

    [Fact]
    public void PeriodicTimer_FiresOncePerElapsedPeriod_AtItsDueTimes()
    {
        var clock = new ManualTimeProvider(Start);
        var firedAt = new List<DateTimeOffset>();
        using var timer = clock.CreateTimer(_ => firedAt.Add(clock.GetUtcNow()), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2));

        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(firedAt);

        // Due at 5, 7, 9, 11, 13: five firings in one jump to 14 s, each seeing its own due time.
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([5, 7, 9, 11, 13], firedAt.Select(t => (t - Start).TotalSeconds));
        Assert.Equal(Start.AddSeconds(14), clock.GetUtcNow());

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(6, firedAt.Count);
    }

    [Fact]
    public async Task PeriodicTimerClass_TicksWithTheClock()
    {
        var clock = new ManualTimeProvider(Start);
        using var periodic = new PeriodicTimer(TimeSpan.FromMinutes(1), clock);
        for (var i = 0; i < 3; i++)
        {
            var tick = periodic.WaitForNextTickAsync().AsTask();
            Assert.False(tick.IsCompleted);
            clock.Advance(TimeSpan.FromMinutes(1));
            Assert.True(await tick.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }

    [Fact]
    public void Timers_FireInDueTimeOrder_TiesInArmingOrder()
    {
        var clock = new ManualTimeProvider(Start);
        var order = new List<string>();
        using var c = clock.CreateTimer(_ => order.Add("c"), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        using var a = clock.CreateTimer(_ => order.Add("a"), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        using var b1 = clock.CreateTimer(_ => order.Add("b1"), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        using var b2 = clock.CreateTimer(_ => order.Add("b2"), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(["a", "b1", "b2", "c"], order);
    }

    [Fact]
    public void Change_RearmsFromNow_AndInfiniteDisarms()
    {
        var clock = new ManualTimeProvider(Start);
        var fired = 0;
        using var timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.True(timer.Change(TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan));
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, fired);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, fired);

        Assert.True(timer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan));
        Assert.True(timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        Assert.Equal(0, clock.ArmedTimerCount);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, fired);
    }

    [Fact]
    public void Change_ZeroDueTime_FiresAtOnce()
    {
        var clock = new ManualTimeProvider(Start);
        var fired = 0;
        using var timer = clock.CreateTimer(_ => fired++, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Assert.Equal(0, fired);
        timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        Assert.Equal(1, fired);
        Assert.Equal(Start, clock.GetUtcNow());
    }

    [Fact]
    public void Dispose_StopsTimer_AndChangeAfterDisposeReturnsFalse()
    {
        var clock = new ManualTimeProvider(Start);
        var fired = 0;
        var timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, fired);

        timer.Dispose();
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, fired);
        Assert.False(timer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, fired);
        Assert.Equal(0, clock.ArmedTimerCount);
    }

    [Fact]
    public void Callback_MayDisposeItsOwnTimer_AndArmAnother_WithoutDeadlock()
    {
        var clock = new ManualTimeProvider(Start);
        var log = new List<double>();
        ITimer? self = null;
        ITimer? child = null;
        self = clock.CreateTimer(
            _ =>
            {
                log.Add((clock.GetUtcNow() - Start).TotalSeconds);
                self!.Dispose();
                child = clock.CreateTimer(_ => log.Add((clock.GetUtcNow() - Start).TotalSeconds), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
            },
            null,
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(1));

        // The child is due at 2 s, inside the same Advance, so it fires in that Advance too.
        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal([1.0, 2.0], log);
        child!.Dispose();
    }

    [Fact]
    public void CreateTimer_RejectsNegativeTimes()
    {
        var clock = new ManualTimeProvider(Start);
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(-1), Timeout.InfiniteTimeSpan));
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.CreateTimer(_ => { }, null, TimeSpan.Zero, TimeSpan.FromSeconds(-2)));
        Assert.Throws<ArgumentNullException>(() => clock.CreateTimer(null!, null, TimeSpan.Zero, TimeSpan.Zero));
    }

    [Fact]
    public void CallbacksRunOutsideTheLock_SoAnotherThreadCanReadTheClockMeanwhile()
    {
        var clock = new ManualTimeProvider(Start);
        DateTimeOffset seenByOtherThread = default;
        using var timer = clock.CreateTimer(
            _ =>
            {
                // Would deadlock if the callback held the clock's lock while another thread needs it.
                using var read = new ManualResetEventSlim();
                var reader = new Thread(() =>
                {
                    seenByOtherThread = clock.GetUtcNow();
                    read.Set();
                });
                reader.Start();
                Assert.True(read.Wait(TimeSpan.FromSeconds(10)), "the other thread could not read the clock within 10 s");
                reader.Join();
            },
            null,
            TimeSpan.FromSeconds(1),
            Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(Start.AddSeconds(1), seenByOtherThread);
    }
}
