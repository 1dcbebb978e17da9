namespace Overlay.Transport.Sessions.Internal;

/// <summary>What a <see cref="UdpSessionHost"/> does once its lock is released.</summary>
internal enum HostEffectKind
{
    /// <summary>Wake a link's reader (<see cref="HostEffect.Target"/>: a <c>TaskCompletionSource&lt;bool&gt;</c> to complete, or the <c>Action</c> the link's connection gave it).</summary>
    Wake,

    /// <summary>Complete a dial with its link.</summary>
    Connected,

    /// <summary>Fail a dial with <see cref="HostEffect.Error"/>.</summary>
    ConnectFailed,

    /// <summary>Offer an inbound session's link to the accept queue.</summary>
    Accepted,

    /// <summary>Close a session nobody awaits any more (its dial was abandoned).</summary>
    CloseUnwanted,
}

/// <summary>One deferred completion of a <see cref="UdpSessionHost"/> batch.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Target">The waiter or pending dial, by kind.</param>
/// <param name="Link">The link, by kind.</param>
/// <param name="Error">The failure of a dial.</param>
internal readonly record struct HostEffect(HostEffectKind Kind, object? Target, UdpPacketLink? Link, Exception? Error);
