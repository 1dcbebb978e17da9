using System.Net;

namespace Overlay.Kademlia;

/// <summary>The outcome of a PING: a result value, never an exception, for an unreachable node.</summary>
/// <param name="EndPoint">The endpoint pinged.</param>
/// <param name="Success">Whether a PONG arrived within the timeout and retries.</param>
/// <param name="Id">The responder's node ID when <paramref name="Success"/>.</param>
/// <param name="RoundTrip">Round-trip time of the answered attempt; zero on failure.</param>
/// <param name="ObservedEndPoint">Our address as the responder saw it (reflexive address), when it told us.</param>
public sealed record PingResult(IPEndPoint EndPoint, bool Success, NodeId? Id, TimeSpan RoundTrip, IPEndPoint? ObservedEndPoint);
