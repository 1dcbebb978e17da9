using Google.Protobuf;
using Overlay.Kademlia.Internal;
using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia;

/// <summary>
/// An <see cref="IPublicationStore"/> in one file (the daemon's <c>&lt;data-dir&gt;/published</c>): the protobuf
/// message <c>Publications</c> of <c>Wire/publications.proto</c>, written to a temporary file, flushed to the device
/// and renamed over the old one, so a crash leaves either the old or the new state. The whole file is rewritten on
/// every change (about 40 bytes per provided key, 1.1 KB per record at most). Thread-safe (one lock).
/// </summary>
/// <param name="path">The file's path; its directory must exist.</param>
public sealed class FilePublicationStore(string path) : IPublicationStore
{
    /// <summary>The file format version written and read: 1.</summary>
    public const uint FormatVersion = 1;

    private readonly object _gate = new();

    /// <summary>Gets the file's path.</summary>
    public string Path { get; } = path ?? throw new ArgumentNullException(nameof(path));

    /// <inheritdoc/>
    /// <exception cref="InvalidDataException">The file is not a version-1 <c>Publications</c> message, or holds a malformed key or record.</exception>
    public PublishedState Load()
    {
        lock (_gate)
        {
            if (!File.Exists(Path))
            {
                return PublishedState.Empty;
            }

            Publications file;
            try
            {
                file = Publications.Parser.ParseFrom(File.ReadAllBytes(Path));
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new InvalidDataException($"{Path} is not a publications file: {ex.Message}", ex);
            }

            if (file.Version != FormatVersion)
            {
                throw new InvalidDataException($"{Path} has format version {file.Version}; this node reads version {FormatVersion}");
            }

            var records = new List<DhtRecord>(file.Records.Count);
            foreach (var published in file.Records)
            {
                if (!NodeId.TryFromBytes(published.Key.Span, out var key) || published.Record is not { } wire || wire.Sequence > long.MaxValue)
                {
                    throw new InvalidDataException($"{Path} holds a malformed record");
                }

                records.Add(DhtRecord.FromParts(
                    key,
                    wire.Value.ToByteArray(),
                    wire.PublicKey.ToByteArray(),
                    wire.Salt.ToByteArray(),
                    (long)wire.Sequence,
                    wire.Signature.ToByteArray(),
                    DateTimeOffset.FromUnixTimeMilliseconds(published.ExpiresUnixMs)));
            }

            var keys = new List<NodeId>(file.ProvidedKeys.Count);
            foreach (var bytes in file.ProvidedKeys)
            {
                if (!NodeId.TryFromBytes(bytes.Span, out var key))
                {
                    throw new InvalidDataException($"{Path} holds a provided key of {bytes.Length} bytes; keys are {NodeId.Length}");
                }

                keys.Add(key);
            }

            return new PublishedState(records, keys);
        }
    }

    /// <inheritdoc/>
    public void Save(PublishedState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var file = new Publications { Version = FormatVersion };
        foreach (var record in state.Records)
        {
            var wire = WireCodec.ToWire(record, record.Expires);
            file.Records.Add(new PublishedRecord { Key = WireCodec.ToBytes(record.Key), Record = wire, ExpiresUnixMs = record.Expires.ToUnixTimeMilliseconds() });
        }

        foreach (var key in state.ProvidedKeys)
        {
            file.ProvidedKeys.Add(WireCodec.ToBytes(key));
        }

        lock (_gate)
        {
            var temporary = $"{Path}.{Environment.ProcessId}.tmp";
            try
            {
                using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    file.WriteTo(stream);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temporary, Path, overwrite: true);
            }
            catch
            {
                TryDelete(temporary);
                throw;
            }
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file named after our process is harmless.
        }
    }
}
