using System.Security.Cryptography;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Streams;

namespace Overlay.Transport.Tests;

/// <summary>The TCP session path end to end: proven-identity channel, then multiplexed streams on it.</summary>
public sealed class TcpSessionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(SessionCipherSuites.AesGcm)]
    [InlineData(SessionCipherSuites.ChaChaPoly)]
    public async Task StreamsOverASecureChannel_CarryBytesBothWays_Intact(SessionCipherSuites suite)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var alice = Identity(31);
        var bob = Identity(32);
        var (a, b) = InMemoryStreamPair.Create();
        // Alice offers both suites; Bob accepts only the one under test.
        var bobChannel = SecureStreamChannel.EstablishAsync(b, bob, initiator: false, null, TimeProvider.System, suite, timeout.Token);
        var aliceChannel = await SecureStreamChannel.EstablishAsync(a, alice, initiator: true, bob.Id, TimeProvider.System, SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm, timeout.Token);
        Assert.Equal(suite, aliceChannel.CipherSuite);
        var aliceLink = new ChannelPacketLink(aliceChannel);
        var bobLink = new ChannelPacketLink(await bobChannel);
        Assert.Equal(bob.Id, aliceLink.RemoteId);
        Assert.Equal(alice.Id, bobLink.RemoteId);
        await using var client = new StreamMuxConnection(aliceLink, isClient: true, StreamMuxOptions.ForReliablePath());
        await using var server = new StreamMuxConnection(bobLink, isClient: false, StreamMuxOptions.ForReliablePath());
        client.Start();
        server.Start();

        var data = new byte[8 << 20];
        new Random(5).NextBytes(data);
        var opened = await client.OpenStreamAsync(timeout.Token);
        var write = Task.Run(async () =>
        {
            await opened.WriteAsync(data, timeout.Token);
            await opened.CompleteWritesAsync(timeout.Token);
        });
        var accepted = await server.AcceptStreamAsync(timeout.Token);
        var received = new MemoryStream();
        await accepted.CopyToAsync(received, timeout.Token);
        await write;
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));

        await accepted.WriteAsync("done"u8.ToArray(), timeout.Token);
        await accepted.CompleteWritesAsync(timeout.Token);
        var reply = new MemoryStream();
        await opened.CopyToAsync(reply, timeout.Token);
        Assert.Equal("done"u8.ToArray(), reply.ToArray());
    }

    private static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }
}
