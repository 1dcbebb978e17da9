using Google.Protobuf;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Noise;
using Overlay.Transport.Wire;

namespace Overlay.Transport.Tests;

/// <summary><see cref="SecureHandshake"/>: node IDs are proven before they are trusted.</summary>
public sealed class SecureHandshakeTests
{
    private static readonly NodeIdentity Alice = Identity(1);
    private static readonly NodeIdentity Bob = Identity(2);
    private static readonly NodeIdentity Mallory = Identity(3);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BothSides_ProveTheirIds_AndTheirCiphersInteroperate(bool dialById)
    {
        using var initiator = new SecureHandshake(Alice, initiator: true, dialById ? Bob.Id : null);
        using var responder = new SecureHandshake(Bob, initiator: false);

        Assert.Equal(HandshakeFailure.None, Run(initiator, responder));

        Assert.True(initiator.IsComplete && responder.IsComplete);
        Assert.Equal(Bob.Id, initiator.RemoteId);
        Assert.Equal(Alice.Id, responder.RemoteId);
        Assert.Equal(initiator.HandshakeHash.ToArray(), responder.HandshakeHash.ToArray());
        var (aliceSend, aliceReceive) = initiator.Split();
        var (bobSend, bobReceive) = responder.Split();
        var sealedBytes = new byte[64];
        var n = aliceSend.Seal(7, "header"u8, "hello bob"u8, sealedBytes);
        var opened = new byte[64];
        Assert.True(bobReceive.TryOpen(7, "header"u8, sealedBytes.AsSpan(0, n), opened, out var length));
        Assert.Equal("hello bob"u8.ToArray(), opened.AsSpan(0, length).ToArray());
        Assert.False(bobReceive.TryOpen(8, "header"u8, sealedBytes.AsSpan(0, n), opened, out _));
        Assert.False(aliceReceive.TryOpen(7, "header"u8, sealedBytes.AsSpan(0, n), opened, out _));
        foreach (var cipher in new[] { aliceSend, aliceReceive, bobSend, bobReceive })
        {
            cipher.Dispose();
        }
    }

    [Fact]
    public void DiallingAnId_WhenAnotherNodeAnswers_FailsAsUnexpectedPeer()
    {
        using var initiator = new SecureHandshake(Alice, initiator: true, Bob.Id);
        using var responder = new SecureHandshake(Mallory, initiator: false);
        Assert.Equal(HandshakeFailure.UnexpectedPeer, Run(initiator, responder));
        Assert.False(initiator.IsComplete);
        Assert.Null(initiator.RemoteId);
    }

    [Fact]
    public void AResponderClaimingAnIdWithoutItsKey_FailsTheSignatureCheck()
    {
        // Mallory claims Bob's identity key but can only sign with her own.
        var forged = Payload(Bob.PublicKey.Span, Mallory, staticKey: null);
        Assert.Equal(HandshakeFailure.BadSignature, RunAgainstRawResponder(forged));
    }

    [Fact]
    public void AManInTheMiddle_SubstitutingHisStaticKey_FailsTheSignatureCheck()
    {
        // Mallory relays a signature Bob really made, but over Bob's own static key, not the one Mallory's Noise uses.
        using var bobStatic = X25519KeyPair.Generate();
        var relayed = Payload(Bob.PublicKey.Span, Bob, bobStatic.PublicKey.ToArray());
        Assert.Equal(HandshakeFailure.BadSignature, RunAgainstRawResponder(relayed));
    }

    [Fact]
    public void AMalformedPayload_Fails()
    {
        Assert.Equal(HandshakeFailure.BadPayload, RunAgainstRawResponder([0xFF, 0xFF, 0xFF]));
        Assert.Equal(HandshakeFailure.BadPayload, RunAgainstRawResponder(new HandshakePayload { Version = 2 }.ToByteArray()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void AFlippedBit_InAnyMessage_FailsTheHandshake_WithoutThrowing(int tamperedMessage)
    {
        var random = new Random(tamperedMessage);
        for (var trial = 0; trial < 20; trial++)
        {
            using var initiator = new SecureHandshake(Alice, initiator: true);
            using var responder = new SecureHandshake(Bob, initiator: false);
            var failure = Run(initiator, responder, (index, message) =>
            {
                if (index == tamperedMessage)
                {
                    var bit = random.Next(message.Length * 8);
                    message[bit / 8] ^= (byte)(1 << (bit % 8));
                }

                return message;
            });

            Assert.NotEqual(HandshakeFailure.None, failure);
            Assert.False(initiator.IsComplete && responder.IsComplete);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void ATruncatedMessage_FailsTheHandshake(int truncatedMessage)
    {
        using var initiator = new SecureHandshake(Alice, initiator: true);
        using var responder = new SecureHandshake(Bob, initiator: false);
        var failure = Run(initiator, responder, (index, message) => index == truncatedMessage ? message[..^1] : message);
        Assert.NotEqual(HandshakeFailure.None, failure);
    }

    [Theory]
    [InlineData(SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.AesGcm)]
    [InlineData(SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.ChaChaPoly, SessionCipherSuites.ChaChaPoly)]
    [InlineData(SessionCipherSuites.ChaChaPoly, SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, SessionCipherSuites.ChaChaPoly)]
    [InlineData(SessionCipherSuites.AesGcm, SessionCipherSuites.AesGcm, SessionCipherSuites.AesGcm)]
    public void TheSuite_IsAesGcmWhenBothSidesHaveIt_ElseChaChaPoly_AndBothSidesAgree(SessionCipherSuites offered, SessionCipherSuites accepted, SessionCipherSuites expected)
    {
        using var initiator = new SecureHandshake(Alice, initiator: true, suites: offered);
        using var responder = new SecureHandshake(Bob, initiator: false, suites: accepted);
        Assert.Equal(HandshakeFailure.None, Run(initiator, responder));
        Assert.Equal(expected, initiator.Suite);
        Assert.Equal(expected, responder.Suite);
        var (aliceSend, aliceReceive) = initiator.Split();
        var (bobSend, bobReceive) = responder.Split();
        using (aliceSend)
        using (aliceReceive)
        using (bobSend)
        using (bobReceive)
        {
            Assert.Equal(expected, aliceSend.Suite);
            var sealedBytes = new byte[64];
            var n = bobSend.Seal(3, default, "hello alice"u8, sealedBytes);
            Assert.True(aliceReceive.TryOpen(3, default, sealedBytes.AsSpan(0, n), new byte[64], out var length));
            Assert.Equal(11, length);
        }
    }

    [Fact]
    public void AnOffer_SharingNoSuiteWithTheResponder_IsRefused()
    {
        using var initiator = new SecureHandshake(Alice, initiator: true, suites: SessionCipherSuites.AesGcm);
        using var responder = new SecureHandshake(Bob, initiator: false, suites: SessionCipherSuites.ChaChaPoly);
        Assert.Equal(HandshakeFailure.UnsupportedSuite, Run(initiator, responder));

        // Only reserved bits: a suite this version does not know.
        using var unknown = new SecureHandshake(Bob, initiator: false);
        var message = new byte[SecureHandshake.Message1Bytes];
        message[0] = 0x80;
        Assert.Equal(HandshakeFailure.UnsupportedSuite, unknown.ReadMessage(message));
        Assert.Equal(SessionCipherSuites.None, unknown.Suite);
    }

    [Theory]
    [InlineData((byte)SessionCipherSuites.ChaChaPoly, HandshakeFailure.Decryption)]
    [InlineData((byte)SessionCipherSuites.AesGcm, HandshakeFailure.Decryption)]
    [InlineData((byte)(SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm | (SessionCipherSuites)0x80), HandshakeFailure.Decryption)]
    public void ATamperedOffer_FailsMessage2_EvenWhenTheResponderCanServeIt(byte tampered, HandshakeFailure expected)
    {
        // An attacker rewrites the offer byte on the way (to force ChaChaPoly, or anything else). The responder picks
        // from the rewritten offer, but the initiator's prologue holds what it really sent.
        using var initiator = new SecureHandshake(Alice, initiator: true, suites: SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm);
        using var responder = new SecureHandshake(Bob, initiator: false, suites: SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm);
        var failure = Run(initiator, responder, (index, message) =>
        {
            if (index == 0)
            {
                message[0] = tampered;
            }

            return message;
        });
        Assert.Equal(expected, failure);
        Assert.False(initiator.IsComplete || responder.IsComplete);
    }

    [Theory]
    [InlineData((byte)SessionCipherSuites.ChaChaPoly, HandshakeFailure.Decryption)]
    [InlineData((byte)(SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm), HandshakeFailure.UnsupportedSuite)]
    [InlineData(0x80, HandshakeFailure.UnsupportedSuite)]
    public void ATamperedChoice_FailsMessage2(byte tampered, HandshakeFailure expected)
    {
        // Both sides have AES-GCM; an attacker rewrites the responder's choice to force ChaChaPoly or nonsense.
        using var initiator = new SecureHandshake(Alice, initiator: true, suites: SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm);
        using var responder = new SecureHandshake(Bob, initiator: false, suites: SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm);
        var failure = Run(initiator, responder, (index, message) =>
        {
            if (index == 1)
            {
                Assert.Equal((byte)SessionCipherSuites.AesGcm, message[0]);
                message[0] = tampered;
            }

            return message;
        });
        Assert.Equal(expected, failure);
        Assert.False(initiator.IsComplete);
    }

    [Fact]
    public void RandomBytes_AsAnyMessage_NeverThrow()
    {
        var random = new Random(5);
        for (var i = 0; i < 300; i++)
        {
            using var responder = new SecureHandshake(Bob, initiator: false);
            var bytes = new byte[random.Next(0, 700)];
            random.NextBytes(bytes);
            var failure = responder.ReadMessage(bytes);
            if (failure == HandshakeFailure.None)
            {
                // Any 33 bytes whose offer shares a suite are a well-formed message 1 (an offer and a key).
                Assert.Equal(SecureHandshake.Message1Bytes, bytes.Length);
            }

            using var initiator = new SecureHandshake(Alice, initiator: true);
            initiator.WriteMessage(new byte[1024]);
            Assert.NotEqual(HandshakeFailure.None, initiator.ReadMessage(bytes));
        }
    }

    /// <summary>Runs the three messages, letting <paramref name="onTheWire"/> change each; returns the first failure.</summary>
    private static HandshakeFailure Run(SecureHandshake initiator, SecureHandshake responder, Func<int, byte[], byte[]>? onTheWire = null)
    {
        for (var index = 0; index < 3; index++)
        {
            var (writer, reader) = index % 2 == 0 ? (initiator, responder) : (responder, initiator);
            var buffer = new byte[writer.MaxMessageBytes];
            var written = writer.WriteMessage(buffer);
            var message = onTheWire?.Invoke(index, buffer[..written]) ?? buffer[..written];
            var failure = reader.ReadMessage(message);
            if (failure != HandshakeFailure.None)
            {
                return failure;
            }
        }

        return HandshakeFailure.None;
    }

    /// <summary>Alice dials a responder that runs raw Noise XX with <paramref name="payload"/>; returns Alice's verdict on message 2.</summary>
    private static HandshakeFailure RunAgainstRawResponder(byte[] payload)
    {
        using var initiator = new SecureHandshake(Alice, initiator: true, suites: SessionCipherSuites.ChaChaPoly);
        using var rawStatic = X25519KeyPair.Generate();
        var chaCha = SessionCipherSuites.ChaChaPoly;
        using var raw = new XXHandshakeState(chaCha, false, CipherSuiteNegotiation.Prologue(chaCha, chaCha), rawStatic);
        var buffer = new byte[1024];
        var written = initiator.WriteMessage(buffer);
        Assert.True(raw.TryReadMessage(buffer.AsSpan(1, written - 1), new byte[64], out _));
        buffer[0] = (byte)chaCha;
        written = 1 + raw.WriteMessage(payload, buffer.AsSpan(1));
        return initiator.ReadMessage(buffer.AsSpan(0, written));
    }

    /// <summary>A version-1 payload claiming <paramref name="identityKey"/>, signed by <paramref name="signer"/> over
    /// <paramref name="staticKey"/> (or over 32 zero bytes).</summary>
    private static byte[] Payload(ReadOnlySpan<byte> identityKey, NodeIdentity signer, byte[]? staticKey) =>
        new HandshakePayload
        {
            Version = 1,
            IdentityKey = ByteString.CopyFrom(identityKey),
            IdentitySig = ByteString.CopyFrom(signer.Sign([.. SecureHandshake.SignaturePrefix, .. staticKey ?? new byte[32]])),
        }.ToByteArray();

    private static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }
}
