using Overlay.Transport.Sessions;

namespace Overlay.Transport.Tests;

/// <summary><see cref="SessionPacket"/>: every layout round-trips, and reads refuse what is not exactly that packet.</summary>
public sealed class SessionPacketTests
{
    private static readonly byte[] Message1 = Enumerable.Range(100, SessionPacket.InitiationHandshakeBytes).Select(i => (byte)i).ToArray();
    private static readonly byte[] Cookie = Enumerable.Range(7, 16).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Initiation_RoundTrips_PaddedToTheMinimum(bool withCookie)
    {
        var buffer = new byte[300];
        var written = SessionPacket.WriteInitiation(buffer, 0xA1B2C3D4, withCookie ? Cookie : [], Message1);
        Assert.Equal(SessionPacket.MinInitiationBytes, written);
        Assert.Equal(0xD1, buffer[0]);

        Assert.True(SessionPacket.TryReadInitiation(buffer.AsSpan(0, written), out var index, out var cookie, out var message1));
        Assert.Equal(0xA1B2C3D4u, index);
        Assert.Equal(withCookie ? Cookie : [], cookie.ToArray());
        Assert.Equal(Message1, message1.ToArray());
        Assert.False(SessionPacket.TryReadInitiation(buffer.AsSpan(0, written - 1), out _, out _, out _));
    }

    [Fact]
    public void Initiation_WithACookieLengthOtherThan0Or16_IsRefused()
    {
        var buffer = new byte[SessionPacket.MinInitiationBytes];
        SessionPacket.WriteInitiation(buffer, 1, [], Message1);
        buffer[5] = 15;
        Assert.False(SessionPacket.TryReadInitiation(buffer, out _, out _, out _));
        Assert.Throws<ArgumentException>(() => SessionPacket.WriteInitiation(new byte[300], 1, Cookie.AsSpan(0, 8), Message1));
        Assert.Throws<ArgumentException>(() => SessionPacket.WriteInitiation(new byte[255], 1, [], Message1));
    }

    [Fact]
    public void Response_Finish_CookieReply_AndData_RoundTrip()
    {
        var buffer = new byte[64];
        SessionPacket.WriteResponseHeader(buffer, 5, 6);
        Assert.True(SessionPacket.TryReadResponse(buffer, out var sender, out var receiver, out var message2));
        Assert.Equal((5u, 6u, 64 - SessionPacket.ResponseHeaderBytes), (sender, receiver, message2.Length));
        Assert.False(SessionPacket.TryReadResponse(buffer.AsSpan(0, SessionPacket.ResponseHeaderBytes), out _, out _, out _));

        SessionPacket.WriteFinishHeader(buffer, 7);
        Assert.True(SessionPacket.TryReadFinish(buffer, out receiver, out var message3));
        Assert.Equal((7u, 64 - SessionPacket.FinishHeaderBytes), (receiver, message3.Length));

        var written = SessionPacket.WriteCookieReply(buffer, 8, Cookie);
        Assert.True(SessionPacket.TryReadCookieReply(buffer.AsSpan(0, written), out receiver, out var cookie));
        Assert.Equal(8u, receiver);
        Assert.Equal(Cookie, cookie.ToArray());
        Assert.False(SessionPacket.TryReadCookieReply(buffer.AsSpan(0, written + 1), out _, out _));

        for (var phase = 0; phase < 2; phase++)
        {
            SessionPacket.WriteDataHeader(buffer, phase, 9, 0x0102030405060708);
            Assert.True(SessionPacket.TryReadDataHeader(buffer.AsSpan(0, SessionPacket.DataHeaderBytes + SessionPacket.TagBytes), out var keyPhase, out receiver, out var number));
            Assert.Equal((phase, 9u, 0x0102030405060708UL), (keyPhase, receiver, number));
        }

        Assert.False(SessionPacket.TryReadDataHeader(buffer.AsSpan(0, SessionPacket.DataHeaderBytes + SessionPacket.TagBytes - 1), out _, out _, out _));
    }

    [Fact]
    public void RandomBytes_NeverThrow_AndWrongTypesAreRefused()
    {
        var random = new Random(91);
        for (var i = 0; i < 20_000; i++)
        {
            var packet = new byte[random.Next(0, 400)];
            random.NextBytes(packet);
            if (packet.Length > 0 && random.Next(2) == 0)
            {
                packet[0] = (byte)random.Next(0xD0, 0xE0);
            }

            var type = packet.Length > 0 ? packet[0] : (byte)0;
            Assert.True(!SessionPacket.TryReadInitiation(packet, out _, out _, out _) || type == 0xD1);
            Assert.True(!SessionPacket.TryReadResponse(packet, out _, out _, out _) || type == 0xD2);
            Assert.True(!SessionPacket.TryReadFinish(packet, out _, out _) || type == 0xD3);
            Assert.True(!SessionPacket.TryReadCookieReply(packet, out _, out _) || type == 0xD4);
            Assert.True(!SessionPacket.TryReadDataHeader(packet, out _, out _, out _) || type is 0xD5 or 0xD6);
        }
    }

    [Fact]
    public void MaxDataPayload_FillsOneDatagramExactly()
    {
        Assert.Equal(IMessageTransport.MaxDatagramBytes, SessionPacket.DataHeaderBytes + SessionPacket.MaxDataPayloadBytes + SessionPacket.TagBytes);
        Assert.Equal(1203, SessionPacket.MaxDataPayloadBytes);
    }
}
