namespace Overlay.Transport.Connections;

/// <summary>A snapshot of one connection's counters, as <c>overlay connections</c> shows them.</summary>
/// <param name="SmoothedRtt">The stream layer's smoothed round-trip time (RFC 9002 §5.3); zero until the first sample
/// (on the datagram path, the first acknowledged packet; the reliable path over TCP takes none).</param>
/// <param name="BytesSent">Payload bytes sent (plaintext, without session headers and tags).</param>
/// <param name="BytesReceived">Payload bytes received.</param>
/// <param name="OpenStreams">Streams open or closing now.</param>
/// <param name="PacketsLost">Packets the stream layer declared lost (RFC 9002 §6.1).</param>
public readonly record struct ConnectionStatistics(TimeSpan SmoothedRtt, long BytesSent, long BytesReceived, int OpenStreams, long PacketsLost);
