using System.Text.Json;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Tests;

/// <summary>
/// <see cref="XXHandshakeState"/> against the published test vectors of <c>Noise_XX_25519_ChaChaPoly_SHA256</c> and
/// <c>Noise_XX_25519_AESGCM_SHA256</c> (cacophony's vectors, copied with their source into Vectors/): every handshake
/// message, and the transport messages after Split, byte for byte, each role writing its messages and reading the
/// other's.
/// </summary>
public sealed class NoiseVectorTests
{
    [Theory]
    [InlineData("noise-xx-25519-chachapoly-sha256.json", SessionCipherSuites.ChaChaPoly)]
    [InlineData("noise-xx-25519-aesgcm-sha256.json", SessionCipherSuites.AesGcm)]
    public void HandshakeAndTransportMessages_MatchTheVector(string file, SessionCipherSuites suite)
    {
        var vector = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", file))).RootElement;
        byte[] Hex(string name) => Convert.FromHexString(vector.GetProperty(name).GetString()!);
        X25519KeyPair Private(string name) => X25519KeyPair.FromPrivateKey(Hex(name));

        using var initiatorStatic = Private("init_static");
        using var responderStatic = Private("resp_static");
        using var initiator = new XXHandshakeState(suite, true, Hex("init_prologue"), initiatorStatic, Private("init_ephemeral"));
        using var responder = new XXHandshakeState(suite, false, Hex("resp_prologue"), responderStatic, Private("resp_ephemeral"));
        Assert.Equal(vector.GetProperty("name").GetString(), initiator.ProtocolName);
        var messages = vector.GetProperty("messages").EnumerateArray().Select(m => (Payload: Convert.FromHexString(m.GetProperty("payload").GetString()!), Ciphertext: Convert.FromHexString(m.GetProperty("ciphertext").GetString()!))).ToList();
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
        Assert.Equal(responderStatic.PublicKey.ToArray(), initiator.RemoteStaticKey.ToArray());
        Assert.Equal(initiatorStatic.PublicKey.ToArray(), responder.RemoteStaticKey.ToArray());

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

    [Theory]
    [InlineData(SessionCipherSuites.ChaChaPoly)]
    [InlineData(SessionCipherSuites.AesGcm)]
    public void Rekey_IsTheFirst32BytesOfEncrypting32ZerosUnderTheMaxNonce(SessionCipherSuites suite)
    {
        // Noise §4.2 REKEY(k) = the first 32 bytes of ENCRYPT(k, 2^64 - 1, empty, 32 zeros), checked against .NET's AEADs.
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var iv = Enumerable.Repeat((byte)0xFF, 12).ToArray();
        iv[0] = iv[1] = iv[2] = iv[3] = 0;
        var expected = new byte[32];
        var tag = new byte[16];
        if (suite == SessionCipherSuites.AesGcm)
        {
            using var aes = new System.Security.Cryptography.AesGcm(key, 16);
            aes.Encrypt(iv, new byte[32], expected, tag);
        }
        else
        {
            using var chacha = new System.Security.Cryptography.ChaCha20Poly1305(key);
            chacha.Encrypt(iv, new byte[32], expected, tag);
        }

        using var rekeyed = new CipherState(suite);
        rekeyed.InitializeKey(key);
        using var next = rekeyed.CreateRekeyed();
        rekeyed.Rekey();
        using var reference = new CipherState(suite);
        reference.InitializeKey(expected);
        var a = new byte[32];
        var b = new byte[32];
        var c = new byte[32];
        rekeyed.Seal(5, default, "abcdefghijklmnop"u8, a);
        next.Seal(5, default, "abcdefghijklmnop"u8, b);
        reference.Seal(5, default, "abcdefghijklmnop"u8, c);
        Assert.Equal(c, a);
        Assert.Equal(c, b);
    }
}
