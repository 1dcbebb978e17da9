using System.Globalization;
using System.Net;
using Overlay.Kademlia;

namespace Overlay.Node.Daemon;

/// <summary>
/// The <c>peers</c> file in the data directory: contacts that answered this node recently, one per line as
/// <c>&lt;64-hex node ID&gt; &lt;endpoint&gt;</c> (IPv6 endpoints in brackets), at most <see cref="MaxContacts"/>. The
/// daemon saves it while it runs and tries these contacts before its configured bootstrap list on the next start, so a
/// restarted node rejoins even when its bootstrap nodes are gone. Written atomically (temporary file, then rename);
/// unreadable lines are skipped. Thread-safe (stateless but for the path).
/// </summary>
/// <param name="path">The file's path.</param>
internal sealed class PeerCache(string path)
{
    /// <summary>The file name in the data directory.</summary>
    public const string FileName = "peers";

    /// <summary>Most contacts kept: 64, about three k-buckets' worth, spread over the table.</summary>
    public const int MaxContacts = 64;

    /// <summary>Gets the file's path.</summary>
    public string Path { get; } = path;

    /// <summary>Reads the cached contacts.</summary>
    /// <returns>At most <see cref="MaxContacts"/> endpoints, in file order; empty when the file is missing or unreadable.</returns>
    public IReadOnlyList<IPEndPoint> Load()
    {
        string[] lines;
        try
        {
            if (!File.Exists(Path))
            {
                return [];
            }

            lines = File.ReadAllLines(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        var endPoints = new List<IPEndPoint>();
        foreach (var line in lines)
        {
            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && NodeId.TryParse(parts[0], out _) && IPEndPoint.TryParse(parts[1], out var endPoint) && endPoint.Port != 0)
            {
                endPoints.Add(endPoint);
                if (endPoints.Count == MaxContacts)
                {
                    break;
                }
            }
        }

        return endPoints;
    }

    /// <summary>Replaces the file with <paramref name="contacts"/>, at most <see cref="MaxContacts"/> of them taken evenly across the list.</summary>
    /// <param name="contacts">Contacts from the routing table (an empty list leaves the file as it is: an empty table is no news).</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public void Save(IReadOnlyList<NodeContact> contacts)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        if (contacts.Count == 0)
        {
            return;
        }

        var step = Math.Max(1, contacts.Count / (double)MaxContacts);
        var lines = new List<string>(MaxContacts);
        for (var i = 0.0; i < contacts.Count && lines.Count < MaxContacts; i += step)
        {
            var contact = contacts[(int)i];
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{contact.Id} {contact.EndPoint}"));
        }

        var temporary = $"{Path}.{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllLines(temporary, lines);
            File.Move(temporary, Path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
