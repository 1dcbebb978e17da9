using System.Text;

namespace Overlay.Transport.Connections.Internal;

/// <summary>
/// The first bytes of every stream a node opens: one byte n (1 ..= 64), then the protocol's name in n bytes of printable
/// ASCII (0x21 ..= 0x7E), e.g. <c>/overlay/exchange/1</c>. The opener sends it with its first data (no round trip, unlike
/// multistream-select); the acceptor reads it and hands the stream to that protocol's listener, or resets it.
/// </summary>
internal static class StreamProtocolHeader
{
    /// <summary>Longest protocol name, bytes.</summary>
    public const int MaxNameBytes = 64;

    /// <summary>Encodes the header of <paramref name="protocol"/>.</summary>
    /// <param name="protocol">The name.</param>
    /// <returns>1 + name length bytes.</returns>
    /// <exception cref="ArgumentException">The name is empty, longer than 64 characters or not printable ASCII.</exception>
    public static byte[] Encode(string protocol)
    {
        Validate(protocol);
        var header = new byte[1 + protocol.Length];
        header[0] = (byte)protocol.Length;
        Encoding.ASCII.GetBytes(protocol, header.AsSpan(1));
        return header;
    }

    /// <summary>Checks a protocol name.</summary>
    /// <param name="protocol">The name.</param>
    /// <exception cref="ArgumentException">The name is empty, longer than 64 characters or not printable ASCII.</exception>
    public static void Validate(string protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        if (protocol.Length is 0 or > MaxNameBytes || protocol.Any(c => c is < (char)0x21 or > (char)0x7E))
        {
            throw new ArgumentException($"a protocol name is 1 to {MaxNameBytes} printable ASCII characters without spaces, not \"{protocol}\"", nameof(protocol));
        }
    }

    /// <summary>Reads a header from <paramref name="stream"/>.</summary>
    /// <param name="stream">A stream the peer opened.</param>
    /// <param name="cancellationToken">Cancels the read (the manager's header timeout).</param>
    /// <returns>The protocol name, or null when the stream ended first or the header is malformed.</returns>
    /// <exception cref="IOException">The stream failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask<string?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var length = new byte[1];
        if (await stream.ReadAtLeastAsync(length, 1, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < 1
            || length[0] is 0 or > MaxNameBytes)
        {
            return null;
        }

        var name = new byte[length[0]];
        if (await stream.ReadAtLeastAsync(name, name.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < name.Length
            || name.Any(b => b is < 0x21 or > 0x7E))
        {
            return null;
        }

        return Encoding.ASCII.GetString(name);
    }
}
