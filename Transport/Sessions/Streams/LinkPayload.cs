namespace Overlay.Transport.Sessions.Streams;

/// <summary>One payload for <see cref="IPacketLink.SendManyAsync"/>.</summary>
/// <param name="Payload">At most <see cref="IPacketLink.MaxPayloadBytes"/> bytes.</param>
/// <param name="PacketNumber">The number the multiplexer assigned.</param>
public readonly record struct LinkPayload(ReadOnlyMemory<byte> Payload, long PacketNumber);
