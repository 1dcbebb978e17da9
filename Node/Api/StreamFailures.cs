using Overlay.Storage;

namespace Overlay.Node.Api;

/// <summary>
/// The last reason a <c>GET cat/{cid}</c> stream broke after its first byte, per root CID, so the CLI can ask why its
/// body was cut short (<c>GET cat/{cid}/status</c>): once the response has started, HTTP has no way left to say it.
/// Bounded: at most <see cref="Capacity"/> roots; past it, the oldest entry is dropped. A stream that completes
/// clears its root's entry. Thread-safe (one lock; every operation is O(1) or O(capacity)).
/// </summary>
internal sealed class StreamFailures
{
    /// <summary>Roots remembered at most: 64, far more than the streams a person runs at once.</summary>
    public const int Capacity = 64;

    private readonly Dictionary<Cid, (string Reason, long Order)> _failures = [];
    private long _order;

    /// <summary>Remembers why the stream of <paramref name="root"/> broke, replacing an older reason.</summary>
    /// <param name="root">The root CID streamed.</param>
    /// <param name="reason">One line for the user.</param>
    public void Record(Cid root, string reason)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(reason);
        lock (_failures)
        {
            if (!_failures.ContainsKey(root) && _failures.Count >= Capacity)
            {
                _failures.Remove(_failures.MinBy(f => f.Value.Order).Key);
            }

            _failures[root] = (reason, ++_order);
        }
    }

    /// <summary>Forgets <paramref name="root"/>'s failure (its stream completed).</summary>
    /// <param name="root">The root CID.</param>
    public void Clear(Cid root)
    {
        lock (_failures)
        {
            _failures.Remove(root);
        }
    }

    /// <summary>Returns why the last stream of <paramref name="root"/> broke, or null when it did not (or was forgotten).</summary>
    /// <param name="root">The root CID.</param>
    /// <returns>The reason or null.</returns>
    public string? Get(Cid root)
    {
        lock (_failures)
        {
            return _failures.TryGetValue(root, out var failure) ? failure.Reason : null;
        }
    }
}
