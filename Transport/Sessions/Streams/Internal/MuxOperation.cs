namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>What an application request to a <see cref="StreamMuxConnection"/> asks.</summary>
internal enum MuxOperationKind : byte
{
    /// <summary>Open a stream.</summary>
    Open,

    /// <summary>Accept a stream the peer opened.</summary>
    Accept,

    /// <summary>Read into <see cref="MuxOperation.Buffer"/>.</summary>
    Read,

    /// <summary>Write <see cref="MuxOperation.Data"/>.</summary>
    Write,

    /// <summary>Wait until earlier writes were handed to the packet builder and a transmit pass ran.</summary>
    Flush,

    /// <summary>FIN the stream.</summary>
    Finish,

    /// <summary>Reset the send half and stop the receive half with <see cref="MuxOperation.Code"/>.</summary>
    Abort,

    /// <summary>The handle was disposed: FIN if still open, STOP_SENDING if not read to its end.</summary>
    Release,

    /// <summary>Close the connection with <see cref="MuxOperation.Code"/> and <see cref="MuxOperation.Reason"/>.</summary>
    Close,

    /// <summary>The packet link closed or failed: close without sending anything.</summary>
    LinkLost,
}

/// <summary>
/// One application request waiting for the connection's loop, and its completion. The loop and a cancellation race to
/// settle it; <see cref="TryClaim"/> decides, so a read that copied bytes is never reported as cancelled.
/// </summary>
internal sealed class MuxOperation
{
    private const int Pending = 0;
    private const int Claimed = 1;
    private const int Cancelled = 2;
    private int _state;

    /// <summary>Creates a request.</summary>
    /// <param name="kind">What it asks.</param>
    /// <param name="stream">The stream it is about, if any.</param>
    /// <param name="asynchronousContinuations">Whether completion must not run the caller's continuation inline.</param>
    public MuxOperation(MuxOperationKind kind, MuxStream? stream, bool asynchronousContinuations)
    {
        Kind = kind;
        Stream = stream;
        Completion = new TaskCompletionSource<int>(asynchronousContinuations ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
    }

    /// <summary>Gets what it asks.</summary>
    public MuxOperationKind Kind { get; }

    /// <summary>Gets the stream it is about.</summary>
    public MuxStream? Stream { get; }

    /// <summary>Gets the completion: bytes read for a read, 0 otherwise.</summary>
    public TaskCompletionSource<int> Completion { get; }

    /// <summary>Gets or sets the read destination.</summary>
    public Memory<byte> Buffer { get; set; }

    /// <summary>Gets or sets the bytes to write.</summary>
    public ReadOnlyMemory<byte> Data { get; set; }

    /// <summary>Gets or sets how many bytes of <see cref="Data"/> the multiplexer took so far.</summary>
    public int Written { get; set; }

    /// <summary>Gets or sets an error code (abort, close).</summary>
    public long Code { get; set; }

    /// <summary>Gets or sets the close reason.</summary>
    public string Reason { get; set; } = "";

    /// <summary>Gets or sets the stream an open or accept produced.</summary>
    public MuxStream? Result { get; set; }

    /// <summary>Gets or sets the caller's cancellation token.</summary>
    public CancellationToken Token { get; set; }

    /// <summary>Gets or sets the registration of the caller's cancellation token.</summary>
    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>Gets whether a cancellation settled it.</summary>
    public bool IsCancelled => Volatile.Read(ref _state) == Cancelled;

    /// <summary>Claims the right to settle it (or to copy into its buffer); false when cancelled or already claimed.</summary>
    /// <returns>True when the caller now owns it.</returns>
    public bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Pending) == Pending;

    /// <summary>Gives a claim back (a read found nothing); the caller then checks for a cancellation that came meanwhile.</summary>
    public void Unclaim() => Volatile.Write(ref _state, Pending);

    /// <summary>Settles it as cancelled (with <see cref="Token"/>) unless the loop claimed it.</summary>
    public void Cancel()
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Pending) == Pending)
        {
            Completion.TrySetCanceled(Token);
        }
    }

    /// <summary>Completes a claimed request with <paramref name="result"/>.</summary>
    /// <param name="result">Bytes read, or 0.</param>
    public void Succeed(int result)
    {
        Registration.Dispose();
        Completion.TrySetResult(result);
    }

    /// <summary>Fails the request unless a cancellation settled it first.</summary>
    /// <param name="error">The failure.</param>
    public void Fail(Exception error)
    {
        if (TryClaim() || Volatile.Read(ref _state) == Claimed)
        {
            Registration.Dispose();
            Completion.TrySetException(error);
        }
    }
}
