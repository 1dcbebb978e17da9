namespace Overlay.Kademlia.Internal;

/// <summary>What <see cref="SourceRateLimiter.TryAcquire"/> decided.</summary>
internal enum RateDecision
{
    /// <summary>Within both limits; a token was taken.</summary>
    Admitted,

    /// <summary>The source's own bucket is empty.</summary>
    SourceLimited,

    /// <summary>The source was within its limit but the bucket for all sources is empty.</summary>
    GlobalLimited,
}
