namespace Overlay.Transport.Sessions.Streams.Internal;

/// <summary>What a <see cref="MuxInput"/> carries to the connection's loop.</summary>
internal enum MuxInputKind : byte
{
    /// <summary>Nothing: wake the loop (a timer fired, or the output queue has room).</summary>
    Wake,

    /// <summary>A received payload in a pooled buffer.</summary>
    Packet,

    /// <summary>An application request.</summary>
    Operation,
}

/// <summary>One item of the connection's bounded input queue.</summary>
/// <param name="Kind">What it carries.</param>
/// <param name="Buffer">A received payload's pooled buffer (returned by the loop).</param>
/// <param name="Length">The payload's length, bytes.</param>
/// <param name="PacketNumber">The payload's packet number.</param>
/// <param name="Operation">An application request.</param>
internal readonly record struct MuxInput(MuxInputKind Kind, byte[]? Buffer = null, int Length = 0, long PacketNumber = 0, MuxOperation? Operation = null);

/// <summary>One built payload waiting in the connection's bounded output queue.</summary>
/// <param name="Buffer">A pooled buffer (returned by the sender).</param>
/// <param name="Length">Payload bytes.</param>
/// <param name="PacketNumber">Its packet number.</param>
internal readonly record struct MuxOutput(byte[] Buffer, int Length, long PacketNumber);
