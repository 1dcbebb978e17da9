using System.Globalization;
using Overlay.Kademlia;

namespace Overlay.Node.Api;

/// <summary>
/// Words for why nodes refused a DHT write (<see cref="PutResult.RefusalsByStatus"/>): a JSON code per reason for
/// <see cref="PutResponse.RefusalsByReason"/>, and one line for errors and the CLI's table. Thread-safe (stateless).
/// </summary>
internal static class StoreRefusals
{
    /// <summary>Returns the JSON code of a reason, e.g. <c>stale_sequence</c>.</summary>
    /// <param name="refusal">The reason.</param>
    /// <returns>A snake_case code: bad_token, bad_signature, stale_sequence, invalid, full or other.</returns>
    public static string Code(StoreRefusal refusal) => refusal switch
    {
        StoreRefusal.BadToken => "bad_token",
        StoreRefusal.BadSignature => "bad_signature",
        StoreRefusal.StaleSequence => "stale_sequence",
        StoreRefusal.Invalid => "invalid",
        StoreRefusal.Full => "full",
        _ => "other",
    };

    /// <summary>Returns the refusals keyed by <see cref="Code"/>, for JSON.</summary>
    /// <param name="refusals">Counts by reason.</param>
    /// <returns>A new dictionary, codes in ordinal order; empty when nobody refused.</returns>
    public static IReadOnlyDictionary<string, int> ByCode(IReadOnlyDictionary<StoreRefusal, int> refusals)
    {
        ArgumentNullException.ThrowIfNull(refusals);
        return new SortedDictionary<string, int>(refusals.ToDictionary(r => Code(r.Key), r => r.Value), StringComparer.Ordinal);
    }

    /// <summary>
    /// Describes the refusals in words, most frequent first, e.g. "stale sequence (a record with sequence 3 is stored;
    /// use --seq 4 or omit --seq)" for one reason, "5 stale sequence (...), 1 bad token (...)" for several.
    /// </summary>
    /// <param name="refusals">Counts by reason, or by <see cref="Code"/> (from JSON).</param>
    /// <param name="storedSequence">The highest sequence found stored under the key, when known; phrases the stale-sequence advice.</param>
    /// <param name="triedSequence">The sequence that was refused, for the advice when the stored one is unknown.</param>
    /// <returns>The text; empty when there are no refusals.</returns>
    public static string Describe(IEnumerable<KeyValuePair<string, int>> refusals, long? storedSequence = null, long? triedSequence = null)
    {
        ArgumentNullException.ThrowIfNull(refusals);
        var reasons = refusals.Where(r => r.Value > 0).OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();

        // One reason needs no count: the caller has already said how many nodes refused.
        return reasons.Count == 1
            ? Words(reasons[0].Key, storedSequence, triedSequence)
            : string.Join(", ", reasons.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Value} {Words(r.Key, storedSequence, triedSequence)}")));
    }

    /// <summary>Describes typed refusals; see <see cref="Describe(IEnumerable{KeyValuePair{string, int}}, long?, long?)"/>.</summary>
    /// <param name="refusals">Counts by reason.</param>
    /// <param name="storedSequence">The highest sequence found stored, when known.</param>
    /// <param name="triedSequence">The sequence that was refused.</param>
    /// <returns>The text.</returns>
    public static string Describe(IReadOnlyDictionary<StoreRefusal, int> refusals, long? storedSequence = null, long? triedSequence = null) =>
        Describe(ByCode(refusals), storedSequence, triedSequence);

    private static string Words(string code, long? stored, long? tried) => code switch
    {
        "stale_sequence" when stored is { } s && s < long.MaxValue =>
            string.Create(CultureInfo.InvariantCulture, $"stale sequence (a record with sequence {s} is stored; use --seq {s + 1} or omit --seq)"),
        "stale_sequence" when tried is { } t && t < long.MaxValue =>
            string.Create(CultureInfo.InvariantCulture, $"stale sequence (a record with sequence ≥ {t} is stored; use a higher --seq or omit --seq)"),
        "stale_sequence" => "stale sequence (a record with a higher sequence, or the same sequence and another value, is stored)",
        "bad_token" => "bad token (the write token expired or was issued to another address; try again)",
        "bad_signature" => "bad signature",
        "invalid" => "invalid record",
        "full" => "full (the node's record store is at its cap)",
        _ => "refusal with an unknown status",
    };
}
