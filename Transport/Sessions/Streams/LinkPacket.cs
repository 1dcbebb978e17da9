namespace Overlay.Transport.Sessions.Streams;

/// <summary>One payload received by an <see cref="IPacketLink"/>, or the end of the link.</summary>
/// <param name="Length">Payload bytes copied into the caller's buffer, ≥ 1; 0 marks the end of the link.</param>
/// <param name="PacketNumber">The packet number from the session header; −1 at the end.</param>
public readonly record struct LinkPacket(int Length, long PacketNumber)
{
    /// <summary>Gets the value that marks a closed link: no more payloads will arrive.</summary>
    public static LinkPacket End => new(0, -1);

    /// <summary>Gets whether this marks the end of the link.</summary>
    public bool IsEnd => Length == 0;
}
