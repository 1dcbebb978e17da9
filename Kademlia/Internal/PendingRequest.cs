using System.Net;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>An answer to one of our requests: the envelope, who sent it, and the measured round trip.</summary>
/// <param name="Envelope">The decoded response envelope.</param>
/// <param name="Sender">The responder, as the ID it claims and the endpoint it answered from.</param>
/// <param name="RoundTrip">Time from sending the request to receiving this answer.</param>
internal sealed record RpcResponse(Envelope Envelope, NodeContact Sender, TimeSpan RoundTrip);

/// <summary>
/// One request in flight, keyed by its transaction id. It completes once: with the matching response, with
/// <see langword="null"/> when its timer fires or the node shuts down, or cancelled. A response matches only when it
/// comes from the endpoint the request went to, carries the expected body type, and (when the responder's ID is
/// known) the expected sender ID; anything else is an unsolicited datagram.
/// </summary>
internal sealed class PendingRequest
{
    private readonly TaskCompletionSource<RpcResponse?> _completion;

    public PendingRequest(uint transactionId, IPEndPoint endPoint, NodeId? expectedId, Envelope.BodyOneofCase expectedBody, long sentAt, bool asynchronousContinuations)
    {
        TransactionId = transactionId;
        EndPoint = endPoint;
        ExpectedId = expectedId;
        ExpectedBody = expectedBody;
        SentAt = sentAt;
        _completion = new TaskCompletionSource<RpcResponse?>(
            asynchronousContinuations ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
    }

    public uint TransactionId { get; }

    public IPEndPoint EndPoint { get; }

    public NodeId? ExpectedId { get; }

    public Envelope.BodyOneofCase ExpectedBody { get; }

    /// <summary>Monotonic timestamp (TimeProvider ticks) of the send.</summary>
    public long SentAt { get; }

    /// <summary>The request, kept to retransmit it.</summary>
    public required Envelope Request { get; init; }

    /// <summary>The wait for an answer after each copy is sent (the adaptive timeout when the request started).</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>Retransmissions left before the request times out.</summary>
    public int RetransmitsLeft { get; set; }

    /// <summary>Whether the request was sent more than once (its round trip is then ambiguous: Karn's algorithm).</summary>
    public bool Retransmitted { get; set; }

    /// <summary>The timeout timer; disposed when the request completes.</summary>
    public ITimer? Timer { get; set; }

    public Task<RpcResponse?> Task => _completion.Task;

    public bool Matches(IPEndPoint remote, NodeId sender, Envelope.BodyOneofCase body) =>
        body == ExpectedBody && remote.Equals(EndPoint) && (ExpectedId is not { } id || id == sender);

    public void Complete(RpcResponse? response)
    {
        Timer?.Dispose();
        _completion.TrySetResult(response);
    }

    public void Cancel(CancellationToken cancellationToken)
    {
        Timer?.Dispose();
        _completion.TrySetCanceled(cancellationToken);
    }
}
