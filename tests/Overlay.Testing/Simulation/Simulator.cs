using System.Runtime.ExceptionServices;

namespace Overlay.Testing.Simulation;

/// <summary>
/// A discrete-event simulator: a virtual clock (<see cref="TimeProvider"/>) and a queue of timed events. Everything a
/// simulation runs (timers, datagram deliveries, and the task continuations they trigger) executes on one dedicated
/// thread, in an order fixed by due time and then by scheduling order, so a run repeats exactly from its seed. Time
/// advances only between events, by jumping to the next due time.
/// </summary>
/// <remarks>
/// The simulation thread has no <see cref="SynchronizationContext"/> and runs no task scheduler of its own, so every
/// continuation (with or without <c>ConfigureAwait(false)</c>) runs inline on it when the event that completes its
/// task runs. Code under simulation must not leave that thread (no <see cref="Task.Run(Action)"/>, no
/// <c>CancelAsync</c>, no timers of another clock): <see cref="OffThreadCalls"/> counts calls into the simulator from
/// any other thread, and a correct simulation keeps it at zero. Not thread-safe by design.
/// </remarks>
public sealed class Simulator : TimeProvider
{
    private const int ThreadStackBytes = 256 * 1024 * 1024;
    private readonly PriorityQueue<Event, (long Due, long Sequence)> _events = new();
    private readonly DateTimeOffset _epoch;
    private long _now;
    private long _sequence;
    private int _threadId = Environment.CurrentManagedThreadId;
    private long _offThreadCalls;

    /// <summary>Creates a simulator whose clock starts at <paramref name="epoch"/> (default 2025-01-01T00:00Z).</summary>
    /// <param name="epoch">The UTC instant at virtual time zero.</param>
    public Simulator(DateTimeOffset? epoch = null)
    {
        _epoch = epoch ?? new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    /// <summary>Gets the virtual time elapsed since the epoch.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(_now);

    /// <summary>Gets how many timed events have run.</summary>
    public long EventsProcessed { get; private set; }

    /// <summary>Gets how many timed events are waiting.</summary>
    public int PendingEvents => _events.Count;

    /// <summary>Gets how many simulator calls came from a thread other than the simulation's: zero in a correct simulation.</summary>
    public long OffThreadCalls => Interlocked.Read(ref _offThreadCalls);

    /// <summary>Gets the stack of the first call from another thread, to find what left the simulation thread; null when none did.</summary>
    public string? FirstOffThreadCall { get; private set; }

    /// <inheritdoc/>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc/>
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc/>
    public override long GetTimestamp() => _now;

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => _epoch + TimeSpan.FromTicks(_now);

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new SimulatedTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Runs <paramref name="action"/> after <paramref name="delay"/> of virtual time.</summary>
    /// <param name="delay">Zero or more.</param>
    /// <param name="action">The event.</param>
    public void Schedule(TimeSpan delay, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        CheckThread();
        Enqueue(_now + Math.Max(0, delay.Ticks), new Event(static state => ((Action)state)(), action, null, 0));
    }

    /// <summary>
    /// Runs <paramref name="callback"/>(<paramref name="state"/>) after <paramref name="delay"/> of virtual time: like
    /// <see cref="Schedule(TimeSpan, Action)"/> without a closure, for events scheduled once per datagram.
    /// </summary>
    /// <param name="delay">Zero or more.</param>
    /// <param name="callback">The event; a static lambda.</param>
    /// <param name="state">Its argument.</param>
    internal void Schedule(TimeSpan delay, Action<object> callback, object state)
    {
        CheckThread();
        Enqueue(_now + Math.Max(0, delay.Ticks), new Event(callback, state, null, 0));
    }

    /// <summary>
    /// Starts <paramref name="work"/> on the simulation thread and runs events until it completes, then returns its
    /// result. The caller blocks meanwhile; call it from a test or a console program, not from simulated code.
    /// </summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The asynchronous work; it may await virtual delays and simulated network round trips.</param>
    /// <param name="limit">Most virtual time the work may take; default 30 days.</param>
    /// <returns>The work's result.</returns>
    /// <exception cref="InvalidOperationException">No event is left while the work is unfinished (it waits for something that never happens), or the limit passed.</exception>
    public T Run<T>(Func<Task<T>> work, TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        var bound = limit ?? TimeSpan.FromDays(30);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    result = RunHere(work, bound);
                }
                catch (Exception ex)
                {
                    failure = ExceptionDispatchInfo.Capture(ex);
                }
            },
            ThreadStackBytes)
        {
            Name = "simulation",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>Runs <paramref name="work"/> to completion (see <see cref="Run{T}"/>).</summary>
    /// <param name="work">The asynchronous work.</param>
    /// <param name="limit">Most virtual time it may take.</param>
    public void Run(Func<Task> work, TimeSpan? limit = null) =>
        Run<bool>(async () =>
        {
            await work();
            return true;
        }, limit);

    /// <summary>Runs every event due within the next <paramref name="duration"/> of virtual time, then sets the clock to its end.</summary>
    /// <param name="duration">Virtual time to run.</param>
    public void RunFor(TimeSpan duration) => Run(() => Task.Delay(duration, this), duration + TimeSpan.FromTicks(1));

    private T RunHere<T>(Func<Task<T>> work, TimeSpan bound)
    {
        _threadId = Environment.CurrentManagedThreadId;
        var deadline = _now + bound.Ticks;
        var task = work();
        while (!task.IsCompleted)
        {
            if (!_events.TryPeek(out _, out var key))
            {
                throw new InvalidOperationException($"the simulated work waits for something that never happens (no event left at {Elapsed})");
            }

            if (key.Due > deadline)
            {
                throw new InvalidOperationException($"the simulated work did not finish within {bound} of virtual time");
            }

            var next = _events.Dequeue();
            _now = Math.Max(_now, key.Due);
            EventsProcessed++;
            if (next.Timer is { } timer)
            {
                timer.Fire(next.Version);
            }
            else
            {
                next.Callback!(next.State!);
            }
        }

        return task.GetAwaiter().GetResult();
    }

    private void Enqueue(long due, Event item) => _events.Enqueue(item, (due, _sequence++));

    private void CheckThread()
    {
        if (Environment.CurrentManagedThreadId != _threadId && Interlocked.Increment(ref _offThreadCalls) == 1)
        {
            FirstOffThreadCall = Environment.StackTrace;
        }
    }

    private readonly record struct Event(Action<object>? Callback, object? State, SimulatedTimer? Timer, int Version);

    /// <summary>A timer of virtual time: each arming gets a version, so a changed or disposed timer's old events do nothing.</summary>
    private sealed class SimulatedTimer(Simulator simulator, TimerCallback callback, object? state) : ITimer
    {
        private int _version;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }

            simulator.CheckThread();
            _version++;
            _period = period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                simulator.Enqueue(simulator._now + Math.Max(0, dueTime.Ticks), new Event(null, null, this, _version));
            }

            return true;
        }

        public void Fire(int version)
        {
            if (_disposed || version != _version)
            {
                return;
            }

            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                simulator.Enqueue(simulator._now + _period.Ticks, new Event(null, null, this, _version));
            }

            callback(state);
        }

        public void Dispose()
        {
            _disposed = true;
            _version++;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
