using Overlay.Testing;
using Overlay.Testing.Streams;
using Overlay.Transport.Sessions;
using Overlay.Transport.Sessions.Noise;

namespace Overlay.Transport.Tests;

/// <summary><see cref="SecureStreamChannel"/>: the secure session over a byte stream (the TCP fallback).</summary>
public sealed class SecureStreamChannelTests
{
    private static readonly NodeIdentity Alice = Identity(21);
    private static readonly NodeIdentity Bob = Identity(22);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task BothSides_ProveTheirIds_AndRecordsFlowBothWays()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var (a, b) = InMemoryStreamPair.Create();
        var (alice, bob) = await EstablishAsync(a, b, Bob.Id, timeout.Token);
        await using (alice)
        await using (bob)
        {
            Assert.Equal(Bob.Id, alice.RemoteId);
            Assert.Equal(Alice.Id, bob.RemoteId);
            Assert.Equal(alice.HandshakeHash, bob.HandshakeHash);

            var big = new byte[SecureStreamChannel.MaxRecordPayloadBytes];
            new Random(3).NextBytes(big);
            var write = alice.WriteRecordAsync(big, timeout.Token).AsTask();
            var buffer = new byte[SecureStreamChannel.MaxRecordPayloadBytes];
            Assert.Equal(big.Length, await bob.ReadRecordAsync(buffer, timeout.Token));
            await write;
            await bob.WriteRecordAsync("pong"u8.ToArray(), timeout.Token);
            Assert.Equal(big, buffer);
            Assert.Equal(4, await alice.ReadRecordAsync(buffer, timeout.Token));
            await Assert.ThrowsAsync<ArgumentException>(async () => await alice.WriteRecordAsync(new byte[SecureStreamChannel.MaxRecordPayloadBytes + 1], timeout.Token));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public async Task RecordsWrittenTogether_ArriveIntactAndInOrder_HoweverTheStreamCutsThem(int maxRead)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var (a, b) = InMemoryStreamPair.Create();
        // maxRead 7: every read returns at most 7 bytes, so frames straddle reads and the read buffer compacts.
        var (alice, bob) = await EstablishAsync(a, maxRead == 0 ? b : new TricklingStream(b, maxRead), null, timeout.Token);
        await using (alice)
        await using (bob)
        {
            var random = new Random(5);
            int[] sizes = [1, 100, 16_384, SecureStreamChannel.MaxRecordPayloadBytes, 0, 16_384, 16_384, 16_384, 16_384, 16_384, 16_384, 16_384, 16_384, 3, SecureStreamChannel.MaxRecordPayloadBytes, 5];
            var records = sizes.Select(n => { var r = new byte[n]; random.NextBytes(r); return (ReadOnlyMemory<byte>)r; }).ToArray();
            var oversized = new ReadOnlyMemory<byte>[] { new byte[10], new byte[SecureStreamChannel.MaxRecordPayloadBytes + 1] };
            await Assert.ThrowsAsync<ArgumentException>(async () => await alice.WriteRecordsAsync(oversized, timeout.Token));

            var write = alice.WriteRecordsAsync(records, timeout.Token).AsTask();
            var buffer = new byte[SecureStreamChannel.MaxRecordPayloadBytes];
            foreach (var expected in records)
            {
                var n = await bob.ReadRecordAsync(buffer, timeout.Token);
                Assert.Equal(expected.ToArray(), buffer[..n]);
            }

            await write;
        }
    }

    [Fact]
    public async Task DiallingTheWrongId_FailsWithTheReason()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var (a, b) = InMemoryStreamPair.Create();
        var responder = SecureStreamChannel.EstablishAsync(b, Bob, initiator: false, null, TimeProvider.System, cancellationToken: timeout.Token);
        var error = await Assert.ThrowsAsync<SecureHandshakeException>(() => SecureStreamChannel.EstablishAsync(a, Alice, initiator: true, Alice.Id, TimeProvider.System, cancellationToken: timeout.Token));
        Assert.Equal(HandshakeFailure.UnexpectedPeer, error.Failure);
        await Assert.ThrowsAnyAsync<IOException>(() => responder);
    }

    [Fact]
    public async Task ATamperedRecord_EndsTheChannelWithInvalidData()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var (a, b) = InMemoryStreamPair.Create();
        // Alice writes message 1, message 3, then the record: the third write is the record.
        var flipping = new TamperingStream(a, flipInWrite: 3);
        var (alice, bob) = await EstablishAsync(flipping, b, null, timeout.Token);
        await using (alice)
        await using (bob)
        {
            await alice.WriteRecordAsync(new byte[100], timeout.Token);
            await Assert.ThrowsAsync<InvalidDataException>(async () => await bob.ReadRecordAsync(new byte[SecureStreamChannel.MaxRecordPayloadBytes], timeout.Token));
        }
    }

    [Fact]
    public async Task AnInitiatorOfferingOnlyAnUnknownSuite_IsRefused_AndSeesTheStreamEnd()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var (a, b) = InMemoryStreamPair.Create();
        var responder = SecureStreamChannel.EstablishAsync(b, Bob, initiator: false, null, TimeProvider.System, cancellationToken: timeout.Token);
        var frame = new byte[2 + SecureHandshake.Message1Bytes];
        frame[1] = SecureHandshake.Message1Bytes;
        frame[2] = 0x80;
        frame[3] = 9;
        await a.WriteAsync(frame, timeout.Token);
        var error = await Assert.ThrowsAsync<SecureHandshakeException>(() => responder);
        Assert.Equal(HandshakeFailure.UnsupportedSuite, error.Failure);
        Assert.Contains("no cipher suite in common", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await a.ReadAsync(new byte[1], timeout.Token));
        await a.DisposeAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ATamperedSuiteByte_FailsTheHandshake(bool inTheOffer)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var both = SessionCipherSuites.ChaChaPoly | SessionCipherSuites.AesGcm;
        var (a, b) = InMemoryStreamPair.Create();
        // Byte 2 of each side's first write follows the 2-byte length: the offer 0x03 becomes 0x01 (AES-GCM struck),
        // or the choice 0x02 (AES-GCM) becomes 0x01 (ChaChaPoly).
        Stream initiatorSide = inTheOffer ? new TamperingStream(a, flipInWrite: 1, index: 2, mask: 0x02) : a;
        Stream responderSide = inTheOffer ? b : new TamperingStream(b, flipInWrite: 1, index: 2, mask: 0x03);
        var responder = SecureStreamChannel.EstablishAsync(responderSide, Bob, initiator: false, null, TimeProvider.System, both, timeout.Token);
        var error = await Assert.ThrowsAsync<SecureHandshakeException>(() => SecureStreamChannel.EstablishAsync(initiatorSide, Alice, initiator: true, Bob.Id, TimeProvider.System, both, timeout.Token));
        Assert.Equal(HandshakeFailure.Decryption, error.Failure);
        await Assert.ThrowsAnyAsync<IOException>(() => responder);
    }

    [Fact]
    public async Task ASilentPeer_TimesOutInVirtualTime()
    {
        using var timeout = new CancellationTokenSource(Bound);
        var clock = new ManualTimeProvider();
        var (a, b) = InMemoryStreamPair.Create();
        var attempt = SecureStreamChannel.EstablishAsync(a, Alice, initiator: true, null, clock, cancellationToken: timeout.Token);
        clock.Advance(SecureStreamChannel.HandshakeTimeout);
        var error = await Assert.ThrowsAsync<SecureHandshakeException>(() => attempt);
        Assert.Contains("no handshake within 10 s", error.Message, StringComparison.Ordinal);
        await b.DisposeAsync();
    }

    private static async Task<(SecureStreamChannel Alice, SecureStreamChannel Bob)> EstablishAsync(Stream a, Stream b, NodeId? expected, CancellationToken cancellationToken)
    {
        var bob = SecureStreamChannel.EstablishAsync(b, Bob, initiator: false, null, TimeProvider.System, cancellationToken: cancellationToken);
        var alice = await SecureStreamChannel.EstablishAsync(a, Alice, initiator: true, expected, TimeProvider.System, cancellationToken: cancellationToken);
        return (alice, await bob);
    }

    private static NodeIdentity Identity(int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        return NodeIdentity.FromSeed(bytes);
    }

    /// <summary>Passes everything through but returns at most <c>maxRead</c> bytes per read.</summary>
    private sealed class TricklingStream(Stream inner, int maxRead) : PassThroughStream(inner)
    {
        public override int Read(byte[] buffer, int offset, int count) => Inner.Read(buffer, offset, Math.Min(count, maxRead));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Inner.ReadAsync(buffer[..Math.Min(buffer.Length, maxRead)], cancellationToken);
    }

    /// <summary>A stream that forwards reads and writes to <see cref="Inner"/> and owns it; subclasses change one side.</summary>
    private abstract class PassThroughStream(Stream inner) : Stream
    {
        protected Stream Inner { get; } = inner;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => Inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => Inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => Inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => Inner.ReadAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => Inner.WriteAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>Passes writes through, XOR-ing byte <c>index</c> of the <c>flipInWrite</c>-th write (1-based) with <c>mask</c>.</summary>
    private sealed class TamperingStream(Stream inner, int flipInWrite, int index = 5, byte mask = 0x01) : PassThroughStream(inner)
    {
        private int _writes;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var copy = buffer.ToArray();
            if (++_writes == flipInWrite)
            {
                copy[index] ^= mask;
            }

            await Inner.WriteAsync(copy, cancellationToken);
        }
    }
}
