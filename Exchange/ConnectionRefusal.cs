namespace Overlay.Exchange;

/// <summary>
/// Why <see cref="BlockExchangeServer"/> refused or cut a connection: the <c>reason</c> tag of the
/// <c>overlay.exchange.connections.refused</c> metric (tag value in parentheses) and the key of
/// <see cref="BlockExchangeServer.GetRefusedCount"/>.
/// </summary>
public enum ConnectionRefusal
{
    /// <summary>Closed on accept: <see cref="ExchangeOptions.MaxConnections"/> were open, each in the middle of a request ("total").</summary>
    Total,

    /// <summary>Closed on accept: <see cref="ExchangeOptions.MaxConnectionsPerIp"/> were open from its address ("per-ip").</summary>
    PerIp,

    /// <summary>Cut to make room for a newcomer while all <see cref="ExchangeOptions.MaxConnections"/> were open; it had
    /// waited longest for a request ("evicted").</summary>
    Evicted,

    /// <summary>Cut: no request began within <see cref="ExchangeOptions.FirstRequestTimeout"/> of accept ("first-request-timeout").</summary>
    FirstRequestTimeout,

    /// <summary>Cut: a request frame was not complete <see cref="ExchangeOptions.FrameTimeout"/> after its first byte ("frame-timeout").</summary>
    FrameTimeout,

    /// <summary>Cut: an answer (store read and response write) took longer than <see cref="ExchangeOptions.FrameTimeout"/>,
    /// usually a requester that does not read ("response-timeout").</summary>
    ResponseTimeout,

    /// <summary>Cut: no request began within <see cref="ExchangeOptions.IdleTimeout"/> after the last response ("idle").</summary>
    Idle,

    /// <summary>Cut: an oversized (above <see cref="ExchangeOptions.MaxRequestFrameBytes"/>), truncated or unparsable
    /// request frame ("bad-frame").</summary>
    BadFrame,
}
