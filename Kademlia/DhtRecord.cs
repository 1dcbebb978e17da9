using System.Buffers.Binary;
using System.Text;

namespace Overlay.Kademlia;

/// <summary>
/// A value stored in the DHT. Immutable records are keyed by SHA-256 of the value; mutable records (BEP 44 semantics)
/// are keyed by SHA-256(public key ‖ salt), signed by their publisher's Ed25519 key, and ordered by
/// <see cref="Sequence"/>: a higher sequence replaces a lower one, a bad signature is refused. Thread-safe (immutable).
/// </summary>
public sealed class DhtRecord
{
    /// <summary>Largest salt of a mutable record, bytes (BEP 44: 64).</summary>
    public const int MaxSaltBytes = 64;

    private static readonly byte[] SignaturePrefix = Encoding.ASCII.GetBytes("overlay-mutable-record-v1");

    private DhtRecord(NodeId key, byte[] value, byte[] publicKey, byte[] salt, long sequence, byte[] signature, DateTimeOffset expires)
    {
        Key = key;
        Value = value;
        PublicKey = publicKey;
        Salt = salt;
        Sequence = sequence;
        Signature = signature;
        Expires = expires;
    }

    /// <summary>Gets the 256-bit key the record is stored under.</summary>
    public NodeId Key { get; }

    /// <summary>Gets the value, at most 1000 bytes.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>Gets the publisher's 32-byte Ed25519 public key; empty for an immutable record.</summary>
    public ReadOnlyMemory<byte> PublicKey { get; }

    /// <summary>Gets the salt, 0..64 bytes; empty for an immutable record.</summary>
    public ReadOnlyMemory<byte> Salt { get; }

    /// <summary>Gets the sequence number (≥ 0) of a mutable record; 0 for an immutable one.</summary>
    public long Sequence { get; }

    /// <summary>Gets the 64-byte Ed25519 signature of a mutable record; empty for an immutable one.</summary>
    public ReadOnlyMemory<byte> Signature { get; }

    /// <summary>Gets the wall-clock instant after which the record is no longer served.</summary>
    public DateTimeOffset Expires { get; }

    /// <summary>Gets whether this is a signed mutable record.</summary>
    public bool IsMutable => PublicKey.Length != 0;

    /// <summary>Returns the key of an immutable record: SHA-256 of its value.</summary>
    /// <param name="value">The value.</param>
    public static NodeId ImmutableKey(ReadOnlySpan<byte> value) => NodeId.HashOf(value);

    /// <summary>Returns the key of a mutable record: SHA-256(public key ‖ salt) (BEP 44 uses SHA-1 of the same).</summary>
    /// <param name="publicKey">32-byte Ed25519 public key.</param>
    /// <param name="salt">0..64 bytes of salt.</param>
    public static NodeId MutableKey(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> salt)
    {
        var buffer = new byte[publicKey.Length + salt.Length];
        publicKey.CopyTo(buffer);
        salt.CopyTo(buffer.AsSpan(publicKey.Length));
        return NodeId.HashOf(buffer);
    }

    /// <summary>Creates an immutable record keyed by SHA-256 of <paramref name="value"/>.</summary>
    /// <param name="value">At most 1000 bytes.</param>
    /// <param name="expires">When the record stops being served.</param>
    /// <exception cref="ArgumentException">The value is longer than 1000 bytes.</exception>
    public static DhtRecord CreateImmutable(ReadOnlySpan<byte> value, DateTimeOffset expires)
    {
        CheckValue(value);
        return new DhtRecord(ImmutableKey(value), value.ToArray(), [], [], 0, [], expires);
    }

    /// <summary>Creates and signs a mutable record.</summary>
    /// <param name="publisher">The signing identity.</param>
    /// <param name="salt">0..64 bytes distinguishing several records of one publisher.</param>
    /// <param name="value">At most 1000 bytes.</param>
    /// <param name="sequence">Sequence number ≥ 0; a higher one replaces a lower one.</param>
    /// <param name="expires">When the record stops being served.</param>
    /// <exception cref="ArgumentException">Value or salt too long.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequence"/> is negative.</exception>
    public static DhtRecord CreateMutable(NodeIdentity publisher, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> value, long sequence, DateTimeOffset expires)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        CheckValue(value);
        if (salt.Length > MaxSaltBytes)
        {
            throw new ArgumentException($"A salt is at most {MaxSaltBytes} bytes; got {salt.Length}.", nameof(salt));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        var signature = publisher.Sign(SignedBytes(salt, sequence, value));
        var publicKey = publisher.PublicKey.ToArray();
        return new DhtRecord(MutableKey(publicKey, salt), value.ToArray(), publicKey, salt.ToArray(), sequence, signature, expires);
    }

    /// <summary>
    /// Rebuilds a record received from the network without checking it; call <see cref="Verify"/> before trusting it.
    /// </summary>
    /// <param name="key">The key it was stored under.</param>
    /// <param name="value">The value.</param>
    /// <param name="publicKey">Empty, or the publisher's key.</param>
    /// <param name="salt">Salt.</param>
    /// <param name="sequence">Sequence number.</param>
    /// <param name="signature">Empty, or the signature.</param>
    /// <param name="expires">Expiry.</param>
    public static DhtRecord FromParts(NodeId key, byte[] value, byte[] publicKey, byte[] salt, long sequence, byte[] signature, DateTimeOffset expires) =>
        new(key, value, publicKey, salt, sequence, signature, expires);

    /// <summary>Returns a copy of this record with another expiry.</summary>
    /// <param name="expires">The new expiry.</param>
    public DhtRecord WithExpiry(DateTimeOffset expires) =>
        new(Key, Value.ToArray(), PublicKey.ToArray(), Salt.ToArray(), Sequence, Signature.ToArray(), expires);

    /// <summary>
    /// Checks the record against its key: an immutable value must hash to the key; a mutable record's key must be
    /// SHA-256(public key ‖ salt) and its signature must verify (BEP 44 "Signature verification").
    /// </summary>
    /// <param name="maxValueBytes">Largest accepted value, bytes.</param>
    /// <returns><see cref="RecordCheck.Valid"/> or the reason it is not.</returns>
    public RecordCheck Verify(int maxValueBytes)
    {
        if (Value.Length > maxValueBytes || Salt.Length > MaxSaltBytes || Sequence < 0)
        {
            return RecordCheck.Invalid;
        }

        if (!IsMutable)
        {
            return Salt.Length == 0 && Signature.Length == 0 && ImmutableKey(Value.Span) == Key ? RecordCheck.Valid : RecordCheck.Invalid;
        }

        if (PublicKey.Length != NodeIdentity.PublicKeyLength || MutableKey(PublicKey.Span, Salt.Span) != Key)
        {
            return RecordCheck.Invalid;
        }

        return NodeIdentity.Verify(PublicKey.Span, SignedBytes(Salt.Span, Sequence, Value.Span), Signature.Span)
            ? RecordCheck.Valid
            : RecordCheck.BadSignature;
    }

    /// <summary>
    /// Returns the bytes a mutable record's signature covers: ASCII "overlay-mutable-record-v1", salt length (1 byte),
    /// salt, sequence (8 bytes big-endian), value. The fixed prefix keeps these signatures from being valid for any
    /// other message the key signs.
    /// </summary>
    private static byte[] SignedBytes(ReadOnlySpan<byte> salt, long sequence, ReadOnlySpan<byte> value)
    {
        var buffer = new byte[SignaturePrefix.Length + 1 + salt.Length + 8 + value.Length];
        var span = buffer.AsSpan();
        SignaturePrefix.CopyTo(span);
        span = span[SignaturePrefix.Length..];
        span[0] = (byte)salt.Length;
        salt.CopyTo(span[1..]);
        span = span[(1 + salt.Length)..];
        BinaryPrimitives.WriteInt64BigEndian(span, sequence);
        value.CopyTo(span[8..]);
        return buffer;
    }

    private static void CheckValue(ReadOnlySpan<byte> value)
    {
        if (value.Length > KademliaOptions.DefaultMaxValueBytes)
        {
            throw new ArgumentException($"A record value is at most {KademliaOptions.DefaultMaxValueBytes} bytes; got {value.Length}.", nameof(value));
        }
    }
}
