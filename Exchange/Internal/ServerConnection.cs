namespace Overlay.Exchange.Internal;

/// <summary>
/// One connection served by <see cref="BlockExchangeServer"/>: its address group, its phase and one deadline that
/// follows the phase, armed on the server's <see cref="TimeProvider"/>. <see cref="Token"/> is cancelled when the
/// deadline passes, when the connection is evicted, or when the server stops; <see cref="CutReason"/> then says which
/// (null for a server stop).
/// </summary>
/// <remarks>
/// The deadline is armed before the phase is published (<see cref="Phase"/>), so an observer that sees a phase knows
/// its deadline counts from a time no later than now: tests advance virtual time after seeing the phase. The serving
/// loop calls <see cref="Enter"/>; the accept loop calls <see cref="Evict"/>; both are thread-safe.
/// </remarks>
internal sealed class ServerConnection : IDisposable
{
    private readonly object _gate = new();
    private readonly ExchangeOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _linked;
    private ConnectionRefusal _armedReason = ConnectionRefusal.FirstRequestTimeout;
    private ConnectionRefusal? _cutReason;
    private long _phaseSince;
    private volatile ConnectionPhase _phase = ConnectionPhase.AwaitingFirstRequest;

    /// <summary>Creates the connection in <see cref="ConnectionPhase.AwaitingFirstRequest"/> with its first-request deadline armed.</summary>
    /// <param name="group">The peer's address group; null for a stream given to <see cref="BlockExchangeServer.ServeAsync"/> (not counted in any limit).</param>
    /// <param name="remote">The peer's endpoint as text, for logs.</param>
    /// <param name="sequence">Accept order, ascending; breaks ties between equal timestamps when choosing whom to evict.</param>
    /// <param name="options">The deadlines.</param>
    /// <param name="timeProvider">The clock the deadlines run on.</param>
    /// <param name="shutdown">Cancelled when the server stops.</param>
    public ServerConnection(AddressGroup? group, string remote, long sequence, ExchangeOptions options, TimeProvider timeProvider, CancellationToken shutdown)
    {
        Group = group;
        Remote = remote;
        Sequence = sequence;
        _options = options;
        _timeProvider = timeProvider;
        _phaseSince = timeProvider.GetTimestamp();
        _deadline = new CancellationTokenSource(options.FirstRequestTimeout, timeProvider);
        _deadline.Token.Register(static state => ((ServerConnection)state!).OnDeadline(), this);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(shutdown, _deadline.Token);
    }

    /// <summary>Gets the peer's address group, or null for a given stream.</summary>
    public AddressGroup? Group { get; }

    /// <summary>Gets the peer's endpoint as text.</summary>
    public string Remote { get; }

    /// <summary>Gets the accept sequence number.</summary>
    public long Sequence { get; }

    /// <summary>Gets the current phase.</summary>
    public ConnectionPhase Phase => _phase;

    /// <summary>Gets the <see cref="TimeProvider.GetTimestamp"/> at which the current phase began.</summary>
    public long PhaseSince
    {
        get
        {
            lock (_gate)
            {
                return _phaseSince;
            }
        }
    }

    /// <summary>Gets a token cancelled by the deadline, an eviction or the server's stop.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>Gets why the server cut the connection (a deadline or eviction), or null if it has not.</summary>
    public ConnectionRefusal? CutReason
    {
        get
        {
            lock (_gate)
            {
                return _cutReason;
            }
        }
    }

    /// <summary>Moves to <paramref name="phase"/> and re-arms the deadline for it from now; no effect once cut.</summary>
    /// <param name="phase">The new phase (not <see cref="ConnectionPhase.AwaitingFirstRequest"/>, which only the constructor sets).</param>
    public void Enter(ConnectionPhase phase)
    {
        var (deadline, reason) = phase switch
        {
            ConnectionPhase.ReadingFrame => (_options.FrameTimeout, ConnectionRefusal.FrameTimeout),
            ConnectionPhase.Answering => (_options.FrameTimeout, ConnectionRefusal.ResponseTimeout),
            ConnectionPhase.Idle => (_options.IdleTimeout, ConnectionRefusal.Idle),
            _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, "only the constructor enters AwaitingFirstRequest"),
        };

        lock (_gate)
        {
            if (_cutReason is not null)
            {
                return;
            }

            _armedReason = reason;
            _phaseSince = _timeProvider.GetTimestamp();
            _deadline.CancelAfter(deadline);
        }

        _phase = phase;
    }

    /// <summary>Cuts the connection to make room for another: cancels <see cref="Token"/> with reason <see cref="ConnectionRefusal.Evicted"/>.</summary>
    /// <returns>False if it was already cut by a deadline or ended.</returns>
    public bool Evict()
    {
        lock (_gate)
        {
            if (_cutReason is not null)
            {
                return false;
            }

            _cutReason = ConnectionRefusal.Evicted;
        }

        try
        {
            _deadline.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It ended and was disposed between the choice and the cancel: the room is made either way.
        }

        return true;
    }

    /// <summary>Releases the deadline timer.</summary>
    public void Dispose()
    {
        _linked.Dispose();
        _deadline.Dispose();
    }

    private void OnDeadline()
    {
        lock (_gate)
        {
            _cutReason ??= _armedReason;
        }
    }
}
