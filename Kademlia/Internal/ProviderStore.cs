namespace Overlay.Kademlia.Internal;

/// <summary>
/// Provider records this node holds: for each content key, the providers that announced it, bounded per key
/// (<see cref="KademliaOptions.MaxProvidersPerKey"/>, oldest-expiring dropped) and in keys
/// (<see cref="KademliaOptions.MaxProviderKeys"/>, new keys refused). Not thread-safe.
/// </summary>
internal sealed class ProviderStore(int maxKeys, int maxPerKey)
{
    private readonly Dictionary<NodeId, Dictionary<NodeId, ProviderRecord>> _byKey = [];

    public int Count { get; private set; }

    public bool Add(ProviderRecord record, DateTimeOffset now)
    {
        if (!_byKey.TryGetValue(record.Key, out var providers))
        {
            if (_byKey.Count >= maxKeys)
            {
                Expire(now);
                if (_byKey.Count >= maxKeys)
                {
                    return false;
                }
            }

            providers = [];
            _byKey[record.Key] = providers;
        }

        if (!providers.ContainsKey(record.ProviderId))
        {
            if (providers.Count >= maxPerKey)
            {
                var soonest = providers.Values.MinBy(p => p.Expires)!;
                providers.Remove(soonest.ProviderId);
                Count--;
            }

            Count++;
        }

        providers[record.ProviderId] = record;
        return true;
    }

    public List<ProviderRecord> Get(NodeId key, int max, DateTimeOffset now)
    {
        if (!_byKey.TryGetValue(key, out var providers))
        {
            return [];
        }

        return providers.Values.Where(p => p.Expires > now).OrderByDescending(p => p.Expires).Take(max).ToList();
    }

    public int Expire(DateTimeOffset now)
    {
        var removed = 0;
        foreach (var (key, providers) in _byKey.ToList())
        {
            foreach (var stale in providers.Values.Where(p => p.Expires <= now).ToList())
            {
                providers.Remove(stale.ProviderId);
                removed++;
            }

            if (providers.Count == 0)
            {
                _byKey.Remove(key);
            }
        }

        Count -= removed;
        return removed;
    }
}
