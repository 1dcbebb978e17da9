namespace Overlay.Exchange.Internal;

/// <summary>Where a server connection is in its request cycle; each phase has its own deadline.</summary>
internal enum ConnectionPhase
{
    /// <summary>Accepted, no request byte yet; deadline <see cref="ExchangeOptions.FirstRequestTimeout"/> from accept.</summary>
    AwaitingFirstRequest,

    /// <summary>Some bytes of a request frame arrived; deadline <see cref="ExchangeOptions.FrameTimeout"/> from the first.</summary>
    ReadingFrame,

    /// <summary>Reading the block and writing the response; deadline <see cref="ExchangeOptions.FrameTimeout"/>.</summary>
    Answering,

    /// <summary>Response written, waiting for the next request; deadline <see cref="ExchangeOptions.IdleTimeout"/>.</summary>
    Idle,
}
