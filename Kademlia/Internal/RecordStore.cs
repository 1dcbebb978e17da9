using Overlay.Kademlia.Wire;

namespace Overlay.Kademlia.Internal;

/// <summary>
/// Records this node holds for the DHT, bounded by <see cref="KademliaOptions.MaxRecords"/>. Applies BEP 44 ordering
/// to mutable records: a lower sequence, or an equal sequence with another value, is refused; a higher one replaces.
/// Records must be verified (<see cref="DhtRecord.Verify"/>) before <see cref="Put"/>. Not thread-safe.
/// </summary>
internal sealed class RecordStore(int maxRecords)
{
    private readonly Dictionary<NodeId, DhtRecord> _records = [];

    public int Count => _records.Count;

    public StoreStatus Put(DhtRecord record, DateTimeOffset now)
    {
        if (_records.TryGetValue(record.Key, out var existing) && existing.Expires > now)
        {
            if (record.IsMutable)
            {
                if (record.Sequence < existing.Sequence
                    || (record.Sequence == existing.Sequence && !record.Value.Span.SequenceEqual(existing.Value.Span)))
                {
                    return StoreStatus.StaleSequence;
                }

                if (record.Sequence == existing.Sequence && record.Expires <= existing.Expires)
                {
                    return StoreStatus.Ok;
                }
            }
            else if (record.Expires <= existing.Expires)
            {
                return StoreStatus.Ok;
            }
        }
        else if (existing is null && _records.Count >= maxRecords)
        {
            Expire(now);
            if (_records.Count >= maxRecords)
            {
                return StoreStatus.Full;
            }
        }

        _records[record.Key] = record;
        return StoreStatus.Ok;
    }

    public DhtRecord? Get(NodeId key, DateTimeOffset now)
    {
        if (!_records.TryGetValue(key, out var record))
        {
            return null;
        }

        if (record.Expires <= now)
        {
            _records.Remove(key);
            return null;
        }

        return record;
    }

    public int Expire(DateTimeOffset now)
    {
        var expired = _records.Where(p => p.Value.Expires <= now).Select(p => p.Key).ToList();
        foreach (var key in expired)
        {
            _records.Remove(key);
        }

        return expired.Count;
    }

    public List<DhtRecord> Snapshot() => [.. _records.Values];
}
