using System.Text.Json;
using NSec.Cryptography;
using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Tests;

/// <summary>
/// <see cref="XXHandshakeState"/> against the published test vector of <c>Noise_XX_25519_ChaChaPoly_SHA256</c>
/// (cacophony's vectors, copied with their source into Vectors/): every handshake message, and the transport messages
/// after Split, byte for byte, in both roles.
/// </summary>
public sealed class NoiseVectorTests
{
    private static readonly JsonElement Vector = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "noise-xx-25519-chachapoly-sha256.json"))).RootElement;

    [Fact]
    public void HandshakeAndTransportMessages_MatchTheVector()
    {
        Assert.Equal(XXHandshakeState.ProtocolName, Vector.GetProperty("name").GetString());
        using var initiatorStatic = Private("init_static");
        using var responderStatic = Private("resp_static");
        using var initiator = new XXHandshakeState(true, Hex("init_prologue"), initiatorStatic, Private("init_ephemeral"));
        using var responder = new XXHandshakeState(false, Hex("resp_prologue"), responderStatic, Private("resp_ephemeral"));
        var messages = Vector.GetProperty("messages").EnumerateArray().Select(m => (Payload: Convert.FromHexString(m.GetProperty("payload").GetString()!), Ciphertext: Convert.FromHexString(m.GetProperty("ciphertext").GetString()!))).ToList();
        Assert.Equal(6, messages.Count);

        for (var i = 0; i < 3; i++)
        {
            var (writer, reader) = i % 2 == 0 ? (initiator, responder) : (responder, initiator);
            Assert.True(writer.IsMyTurnToWrite);
            Assert.False(reader.IsMyTurnToWrite);
            var buffer = new byte[1024];
            var written = writer.WriteMessage(messages[i].Payload, buffer);
            Assert.Equal(Convert.ToHexStringLower(messages[i].Ciphertext), Convert.ToHexStringLower(buffer.AsSpan(0, written)));

            var payload = new byte[1024];
            Assert.True(reader.TryReadMessage(messages[i].Ciphertext, payload, out var length), $"message {i + 1} does not read");
            Assert.Equal(messages[i].Payload, payload.AsSpan(0, length).ToArray());
        }

        Assert.True(initiator.IsComplete && responder.IsComplete);
        Assert.Equal(initiator.HandshakeHash.ToArray(), responder.HandshakeHash.ToArray());
        Assert.Equal(responderStatic.PublicKey.Export(KeyBlobFormat.RawPublicKey), initiator.RemoteStaticKey.ToArray());
        Assert.Equal(initiatorStatic.PublicKey.Export(KeyBlobFormat.RawPublicKey), responder.RemoteStaticKey.ToArray());

        var (initiatorSend, initiatorReceive) = initiator.Split();
        var (responderSend, responderReceive) = responder.Split();
        using (initiatorSend)
        using (initiatorReceive)
        using (responderSend)
        using (responderReceive)
        {
            // Transport messages alternate as the handshake did: the responder sends message 4.
            for (var i = 3; i < 6; i++)
            {
                var (send, receive) = i % 2 == 1 ? (responderSend, initiatorReceive) : (initiatorSend, responderReceive);
                var buffer = new byte[1024];
                var written = send.EncryptWithAd(default, messages[i].Payload, buffer);
                Assert.Equal(Convert.ToHexStringLower(messages[i].Ciphertext), Convert.ToHexStringLower(buffer.AsSpan(0, written)));
                var plain = new byte[1024];
                Assert.True(receive.TryDecryptWithAd(default, messages[i].Ciphertext, plain, out var length));
                Assert.Equal(messages[i].Payload, plain.AsSpan(0, length).ToArray());
            }
        }
    }

    private static byte[] Hex(string name) => Convert.FromHexString(Vector.GetProperty(name).GetString()!);

    private static Key Private(string name) => Key.Import(KeyAgreementAlgorithm.X25519, Hex(name), KeyBlobFormat.RawPrivateKey);
}
