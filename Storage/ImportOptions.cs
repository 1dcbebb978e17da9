namespace Overlay.Storage;

/// <summary>Parameters of <see cref="UnixFsImporter"/>: fixed-size chunker and balanced layout.</summary>
public sealed class ImportOptions
{
    /// <summary>Default chunk size: 1 MiB (1,048,576 bytes), Kubo's <c>--chunker=size-1048576</c> and the
    /// "unixfs-v1-2025" profile chunk size of ipfs-unixfs-importer.</summary>
    public const int DefaultChunkSize = 1_048_576;

    /// <summary>Default links per internal node: 174, the balanced-layout default of go-unixfs and
    /// ipfs-unixfs-importer (keeps a node of 174 CIDv1 links under 8 KiB).</summary>
    public const int DefaultMaxLinks = 174;

    /// <summary>Smallest accepted chunk size: 1 byte.</summary>
    public const int MinChunkSize = 1;

    /// <summary>Largest accepted chunk size: 2 MiB (2,097,152 bytes), the largest block size widely exchanged by
    /// IPFS implementations (bitswap's 2 MiB message limit).</summary>
    public const int MaxChunkSize = 2_097_152;

    /// <summary>Smallest accepted link count: 2 (one link per node would never converge to a root).</summary>
    public const int MinMaxLinks = 2;

    /// <summary>Largest accepted link count: 8192.</summary>
    public const int MaxMaxLinks = 8192;

    /// <summary>Gets or sets the leaf size in bytes; every leaf but the last is exactly this long.
    /// Default <see cref="DefaultChunkSize"/>, range <see cref="MinChunkSize"/>..<see cref="MaxChunkSize"/>.</summary>
    public int ChunkSize { get; set; } = DefaultChunkSize;

    /// <summary>Gets or sets the maximum number of links in an internal node.
    /// Default <see cref="DefaultMaxLinks"/>, range <see cref="MinMaxLinks"/>..<see cref="MaxMaxLinks"/>.</summary>
    public int MaxLinks { get; set; } = DefaultMaxLinks;

    /// <summary>Checks both values against their ranges.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the message names it and the range.</exception>
    public void Validate()
    {
        if (ChunkSize is < MinChunkSize or > MaxChunkSize)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, $"ChunkSize must be in {MinChunkSize}..{MaxChunkSize} bytes");
        }

        if (MaxLinks is < MinMaxLinks or > MaxMaxLinks)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLinks), MaxLinks, $"MaxLinks must be in {MinMaxLinks}..{MaxMaxLinks}");
        }
    }
}
