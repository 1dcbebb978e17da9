namespace Overlay.Kademlia.Internal;

/// <summary>
/// A cancellable delay on a <see cref="TimeProvider"/> whose continuations run on the thread that ends it: the timer's
/// thread when it elapses, the cancelling thread when cancelled. <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>
/// resumes a cancelled delay on the thread pool instead, which takes a simulation off its single thread.
/// </summary>
internal static class Delays
{
    /// <summary>Returns a task that completes after <paramref name="delay"/>, or is cancelled when <paramref name="cancellationToken"/> is.</summary>
    /// <param name="time">The clock.</param>
    /// <param name="delay">Zero or more.</param>
    /// <param name="cancellationToken">Cancels the delay; the task then ends cancelled.</param>
    public static Task DelayAsync(TimeProvider time, TimeSpan delay, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var state = new DelayState(cancellationToken);
        state.Timer = time.CreateTimer(static s => ((DelayState)s!).Elapse(), state, delay, Timeout.InfiniteTimeSpan);
        if (cancellationToken.CanBeCanceled)
        {
            state.Registration = cancellationToken.UnsafeRegister(static s => ((DelayState)s!).Cancel(), state);
        }

        return state.Completion.Task;
    }

    private sealed class DelayState(CancellationToken cancellationToken)
    {
        public TaskCompletionSource Completion { get; } = new();

        public ITimer? Timer { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        public void Elapse()
        {
            Registration.Dispose();
            Completion.TrySetResult();
        }

        public void Cancel()
        {
            Timer?.Dispose();
            Completion.TrySetCanceled(cancellationToken);
        }
    }
}
