using Overlay.Storage;

namespace Overlay.Node.Configuration;

/// <summary>How added files are cut into blocks, bound from the <c>Storage</c> section of node.config.json.</summary>
internal sealed class StorageOptions
{
    /// <summary>Section name in node.config.json.</summary>
    public const string SectionName = "Storage";

    /// <summary>Gets or sets the leaf size of added files, bytes. Default 1 MiB (<see cref="ImportOptions.DefaultChunkSize"/>); range 1..2 MiB.</summary>
    public int ChunkSize { get; set; } = ImportOptions.DefaultChunkSize;

    /// <summary>Gets or sets the most links per internal DAG node. Default 174 (Kubo's balanced layout); range 2..8192.</summary>
    public int MaxLinks { get; set; } = ImportOptions.DefaultMaxLinks;

    /// <summary>Checks every option.</summary>
    /// <returns>One message per bad option; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ChunkSize is < ImportOptions.MinChunkSize or > ImportOptions.MaxChunkSize)
        {
            errors.Add($"Storage:ChunkSize = {ChunkSize} is out of range {ImportOptions.MinChunkSize}..{ImportOptions.MaxChunkSize}.");
        }

        if (MaxLinks is < ImportOptions.MinMaxLinks or > ImportOptions.MaxMaxLinks)
        {
            errors.Add($"Storage:MaxLinks = {MaxLinks} is out of range {ImportOptions.MinMaxLinks}..{ImportOptions.MaxMaxLinks}.");
        }

        return errors;
    }

    /// <summary>Returns the importer's options.</summary>
    public ImportOptions ToImportOptions() => new() { ChunkSize = ChunkSize, MaxLinks = MaxLinks };
}
