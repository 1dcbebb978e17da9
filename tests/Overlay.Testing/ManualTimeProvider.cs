namespace Overlay.Testing;

/// <summary>
/// A virtual clock for tests and simulations: time stands still until <see cref="Advance"/> or
/// <see cref="SetUtcNow"/> moves it, and timers created through <see cref="CreateTimer"/> fire only then, in due-time
/// order (ties in the order they were armed), each seeing <see cref="GetUtcNow"/> equal to its own due time.
/// </summary>
/// <remarks>
/// Drop-in for <c>Microsoft.Extensions.Time.Testing.FakeTimeProvider</c>, which is not available here. It drives
/// <c>Task.Delay(d, clock)</c>, <c>PeriodicTimer(p, clock)</c>, <c>CancellationTokenSource(d, clock)</c> and any
/// code that takes a <see cref="TimeProvider"/>.
/// <para>
/// Timestamps (<see cref="GetTimestamp"/>) are the UTC clock's <see cref="DateTimeOffset.UtcTicks"/>, so
/// <see cref="TimestampFrequency"/> is <see cref="TimeSpan.TicksPerSecond"/> (10,000,000 per second) and elapsed
/// timestamps equal elapsed virtual time exactly. Time never goes backwards.
/// </para>
/// <para>
/// Thread-safe: state is guarded by one lock, and timer callbacks run on the thread that moved the clock (or that
/// armed a timer already due), always outside the lock, so a callback may itself create, change or dispose timers
/// or read the clock. Advancing from several threads at once is allowed but interleaves their callbacks.
/// </para>
/// </remarks>
public sealed class ManualTimeProvider : TimeProvider
{
    /// <summary>The start time used when none is given: 2025-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly object _gate = new();
    private readonly List<ManualTimer> _armed = [];
    private DateTimeOffset _now;
    private long _armSequence;

    /// <summary>Creates a clock that reads <paramref name="start"/> until moved.</summary>
    /// <param name="start">The initial time, converted to UTC; default <see cref="DefaultStart"/>.</param>
    public ManualTimeProvider(DateTimeOffset? start = null)
    {
        _now = (start ?? DefaultStart).ToUniversalTime();
    }

    /// <summary>Gets the number of timers currently armed (created or changed with a finite due time, not yet fired or disposed).</summary>
    public int ArmedTimerCount
    {
        get
        {
            lock (_gate)
            {
                return _armed.Count;
            }
        }
    }

    /// <summary>Gets <see cref="TimeSpan.TicksPerSecond"/>: timestamps are 100 ns ticks.</summary>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Gets UTC: virtual local time is UTC so that results never depend on the machine's zone.</summary>
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Returns the current virtual time, with offset zero.</summary>
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    /// <summary>Returns the current virtual time as a monotonic timestamp: its UTC ticks (see <see cref="TimestampFrequency"/>).</summary>
    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _now.UtcTicks;
        }
    }

    /// <summary>
    /// Moves the clock forward by <paramref name="delta"/>, firing every timer that falls due on the way, earliest
    /// first; a periodic timer fires once per elapsed period. Returns after all those callbacks have returned.
    /// </summary>
    /// <param name="delta">How far to move; zero fires only timers already due.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is negative.</exception>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + delta;
        }

        RunUntil(target);
    }

    /// <summary>Moves the clock forward to <paramref name="value"/>, firing timers as <see cref="Advance"/> does.</summary>
    /// <param name="value">The new time, converted to UTC; not earlier than the current time.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is earlier than the current time.</exception>
    public void SetUtcNow(DateTimeOffset value)
    {
        var target = value.ToUniversalTime();
        lock (_gate)
        {
            if (target < _now)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, $"The virtual clock cannot go back from {_now:O} to {target:O}.");
            }
        }

        RunUntil(target);
    }

    /// <summary>
    /// Creates a timer driven by this clock. Like <see cref="System.Threading.Timer"/>: a due time of
    /// <see cref="Timeout.InfiniteTimeSpan"/> leaves it unarmed; a period of <see cref="Timeout.InfiniteTimeSpan"/> or
    /// zero makes it one-shot. A due time of zero fires the callback at once, on the calling thread, before this
    /// method returns.
    /// </summary>
    /// <param name="callback">Invoked with <paramref name="state"/> each time the timer fires.</param>
    /// <param name="state">Passed to <paramref name="callback"/>.</param>
    /// <param name="dueTime">Delay before the first firing; ≥ 0 or infinite.</param>
    /// <param name="period">Interval between later firings; ≥ 0 or infinite.</param>
    /// <returns>The timer; dispose it to stop it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A time is negative and not infinite.</exception>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private static void CheckTime(TimeSpan time, string name)
    {
        if (time < TimeSpan.Zero && time != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, time, "Must be zero or more, or Timeout.InfiniteTimeSpan.");
        }
    }

    /// <summary>Fires due timers one at a time (outside the lock) until none is due at or before <paramref name="target"/>.</summary>
    private void RunUntil(DateTimeOffset target)
    {
        while (true)
        {
            ManualTimer? next = null;
            lock (_gate)
            {
                foreach (var timer in _armed)
                {
                    if (timer.Due <= target && (next is null || timer.Due < next.Due || (timer.Due == next.Due && timer.Sequence < next.Sequence)))
                    {
                        next = timer;
                    }
                }

                if (next is null)
                {
                    if (target > _now)
                    {
                        _now = target;
                    }

                    return;
                }

                if (next.Due > _now)
                {
                    _now = next.Due;
                }

                if (next.Period > TimeSpan.Zero)
                {
                    // Re-arm from the due time, not from now, so a periodic timer keeps its phase.
                    next.Due += next.Period;
                    next.Sequence = ++_armSequence;
                }
                else
                {
                    _armed.Remove(next);
                }
            }

            next.Fire();
        }
    }

    /// <summary>Arms, re-arms or disarms <paramref name="timer"/>; returns false when it is disposed.</summary>
    private bool Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        CheckTime(dueTime, nameof(dueTime));
        CheckTime(period, nameof(period));
        DateTimeOffset now;
        lock (_gate)
        {
            if (timer.IsDisposed)
            {
                return false;
            }

            _armed.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return true;
            }

            timer.Due = _now + dueTime;
            timer.Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
            timer.Sequence = ++_armSequence;
            _armed.Add(timer);
            now = _now;
        }

        if (dueTime == TimeSpan.Zero)
        {
            RunUntil(now);
        }

        return true;
    }

    private void Disarm(ManualTimer timer)
    {
        lock (_gate)
        {
            timer.IsDisposed = true;
            _armed.Remove(timer);
        }
    }

    /// <summary>A timer owned by the clock; all mutable fields are guarded by the clock's lock.</summary>
    private sealed class ManualTimer(ManualTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset Due { get; set; }

        public TimeSpan Period { get; set; }

        public long Sequence { get; set; }

        public bool IsDisposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period) => clock.Arm(this, dueTime, period);

        public void Fire() => callback(state);

        public void Dispose() => clock.Disarm(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
