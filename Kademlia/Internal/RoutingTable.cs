namespace Overlay.Kademlia.Internal;

/// <summary>
/// The Kademlia routing table (paper §2.2): 256 k-buckets indexed by the common prefix length of a contact's ID with
/// ours. Only contacts that answered one of our queries are inserted (<see cref="Update"/>). A full bucket keeps its
/// old contacts (they are likelier to stay up, §2.2) and evicts the least-recently seen only after it fails a PING;
/// meanwhile the newcomer waits in the replacement cache (§4.1). <see cref="DiversityLimits"/> refuse a contact
/// whose endpoint another node ID holds, or whose IP group already has its share of the bucket or the table (in the
/// table and when a replacement is promoted), so one host cannot claim many IDs and one network cannot fill a bucket.
/// Not thread-safe: the owning node serialises access.
/// </summary>
internal sealed class RoutingTable
{
    /// <summary>Consecutive failures after which a contact is evicted even with an empty replacement cache.</summary>
    public const int MaxFailures = 3;

    private readonly KBucket?[] _buckets = new KBucket?[NodeId.Bits];
    private readonly int _bucketSize;
    private readonly DiversityLimits _limits;

    // Counting filter of the endpoints in the table (256 B; a HashSet of them cost ~7 KiB per node at 200 contacts in
    // the 1,000-node benchmark): a zero slot proves an endpoint absent; otherwise the table is scanned. Slots saturate
    // at 255 and then stay non-zero, which only costs scans.
    private readonly byte[] _endPointFilter = new byte[EndPointFilterSlots];

    // How many contacts each IP group with a per-table limit has.
    private readonly Dictionary<IpGroup, int> _groupCounts = [];

    // Reused by every Closest call (access is serialised): a node answers each FIND_NODE with one, and fresh arrays
    // per call were 8 % of a simulation's allocations.
    private BestContacts? _best;

    // Highest index of a bucket that exists (buckets are created, never removed): Closest visits no deeper.
    private int _deepestBucket = -1;

    /// <summary>
    /// Slots of the endpoint filter: 256 bytes. At 150 contacts a slot is non-zero with probability ~45 %, and then the
    /// table is scanned (about 1 µs); that happens only for a contact not yet in its bucket, never on the answer path.
    /// </summary>
    private const int EndPointFilterSlots = 256;

    /// <summary>Creates an empty table.</summary>
    /// <param name="self">This node's ID.</param>
    /// <param name="bucketSize">k, contacts per bucket.</param>
    /// <param name="limits">Diversity limits; null = <see cref="DiversityLimits.None"/>.</param>
    public RoutingTable(NodeId self, int bucketSize, DiversityLimits? limits = null)
    {
        Self = self;
        _bucketSize = bucketSize;
        _limits = limits ?? DiversityLimits.None;
    }

    public NodeId Self { get; }

    public int Count { get; private set; }

    /// <summary>Gets how many contacts the diversity limits kept out of the table or its replacement caches.</summary>
    public long DiversityRefusals { get; private set; }

    /// <summary>
    /// Records that <paramref name="contact"/> answered us. Returns the head contact to PING when the bucket is full
    /// and no eviction check is running for it; the caller reports the PING's outcome to <see cref="OnEvictionPing"/>.
    /// </summary>
    public NodeContact? Update(NodeContact contact, long now)
    {
        if (contact.Id == Self)
        {
            return null;
        }

        var index = Self.CommonPrefixLength(contact.Id);
        var bucket = _buckets[index] ??= NewBucket(index, now);
        var position = IndexOf(bucket.Contacts, contact.Id);
        if (position >= 0)
        {
            // Seen again: to the tail (most recently seen). The entry, and its cached wire form, is kept unless the
            // node answered from another endpoint.
            var seen = bucket.Contacts[position];
            if (seen.Contact != contact)
            {
                // It answered from another endpoint: move it only if the new endpoint and group are admissible, else
                // keep the entry as it was (it fails and is replaced if the old endpoint is really gone).
                if (!Admits(contact, bucket, seen))
                {
                    DiversityRefusals++;
                    return null;
                }

                Release(seen);
                seen = new RoutingEntry(contact);
                Track(seen);
            }

            bucket.Contacts.RemoveAt(position);

            seen.Failures = 0;
            seen.LastSeen = now;
            bucket.Contacts.Add(seen);
            return null;
        }

        if (!Admits(contact, bucket, null))
        {
            DiversityRefusals++;
            return null;
        }

        if (bucket.Contacts.Count < _bucketSize)
        {
            var entry = new RoutingEntry(contact) { LastSeen = now };
            bucket.Contacts.Add(entry);
            Track(entry);
            bucket.Replacements.RemoveAll(c => c.Id == contact.Id);
            Count++;
            return null;
        }

        AddReplacement(bucket, contact);
        if (bucket.EvictionPingPending)
        {
            return null;
        }

        bucket.EvictionPingPending = true;
        return bucket.Contacts[0].Contact;
    }

    /// <summary>Applies the outcome of an eviction PING to the head of a full bucket.</summary>
    public void OnEvictionPing(NodeContact head, bool answered)
    {
        var index = Self.CommonPrefixLength(head.Id);
        var bucket = _buckets[index];
        if (bucket is null)
        {
            return;
        }

        bucket.EvictionPingPending = false;
        var position = IndexOf(bucket.Contacts, head.Id);
        if (position < 0)
        {
            return;
        }

        if (answered)
        {
            var entry = bucket.Contacts[position];
            bucket.Contacts.RemoveAt(position);
            entry.Failures = 0;
            bucket.Contacts.Add(entry);
            return;
        }

        Evict(bucket, position);
    }

    /// <summary>
    /// Records that an RPC to <paramref name="id"/> failed: the contact is replaced when a replacement is waiting, or
    /// evicted after <see cref="MaxFailures"/> consecutive failures (paper §4.1).
    /// </summary>
    public void OnFailure(NodeId id)
    {
        if (id == Self)
        {
            return;
        }

        if (_buckets[Self.CommonPrefixLength(id)] is not { } bucket)
        {
            return;
        }

        var position = IndexOf(bucket.Contacts, id);
        if (position < 0)
        {
            return;
        }

        var entry = bucket.Contacts[position];
        entry.Failures++;
        if (bucket.Replacements.Count > 0 || entry.Failures >= MaxFailures)
        {
            Evict(bucket, position);
        }
    }

    /// <summary>
    /// Returns whether <paramref name="endPoint"/> belongs to a contact in the table whose ID is not
    /// <paramref name="id"/> (such a node could not enter: at most one ID per endpoint).
    /// </summary>
    public bool EndPointHeldByOther(System.Net.IPEndPoint endPoint, NodeId id) =>
        _limits.OneIdPerEndPoint && HolderOf(endPoint) is { } holder && holder != id;

    /// <summary>Returns the ID holding <paramref name="endPoint"/> in the table, or null; scans only when the filter cannot rule it out.</summary>
    private NodeId? HolderOf(System.Net.IPEndPoint endPoint)
    {
        if (_endPointFilter[FilterSlot(endPoint)] == 0)
        {
            return null;
        }

        for (var j = 0; j <= _deepestBucket; j++)
        {
            if (_buckets[j] is { } bucket)
            {
                foreach (var entry in bucket.Contacts)
                {
                    if (entry.Contact.EndPoint.Equals(endPoint))
                    {
                        return entry.Contact.Id;
                    }
                }
            }
        }

        return null;
    }

    private static int FilterSlot(System.Net.IPEndPoint endPoint) => (int)((uint)endPoint.GetHashCode() % EndPointFilterSlots);

    /// <summary>Returns whether <paramref name="contact"/>'s ID is in the table at <paramref name="contact"/>'s endpoint.</summary>
    public bool Holds(NodeContact contact) =>
        contact.Id != Self && _buckets[Self.CommonPrefixLength(contact.Id)] is { } bucket
        && IndexOf(bucket.Contacts, contact.Id) is >= 0 and var at && bucket.Contacts[at].Contact.EndPoint.Equals(contact.EndPoint);

    /// <summary>Returns whether <paramref name="id"/> is in the table.</summary>
    public bool Contains(NodeId id) =>
        id != Self && _buckets[Self.CommonPrefixLength(id)] is { } bucket && IndexOf(bucket.Contacts, id) >= 0;

    /// <summary>
    /// Returns whether the bucket that would hold <paramref name="id"/> is full and its least-recently seen contact last
    /// answered before <paramref name="staleBefore"/>: a newcomer there is worth verifying, since the head may be gone.
    /// </summary>
    public bool HasStaleHead(NodeId id, long staleBefore) =>
        id != Self && _buckets[Self.CommonPrefixLength(id)] is { } bucket && bucket.Contacts.Count >= _bucketSize && bucket.Contacts[0].LastSeen < staleBefore;

    /// <summary>Returns whether a contact with <paramref name="id"/> could enter the table now without an eviction.</summary>
    public bool HasRoomFor(NodeId id) =>
        id != Self && (_buckets[Self.CommonPrefixLength(id)]?.Contacts.Count ?? 0) < _bucketSize;

    /// <summary>
    /// Returns at most <paramref name="count"/> contacts, ascending XOR distance to <paramref name="target"/>.
    /// Buckets are visited whole, nearest first, and the walk stops once <paramref name="count"/> are held, since every
    /// contact of a later bucket is farther than every contact of an earlier one. With d = self ⊕ target, a contact c
    /// of bucket j has c ⊕ target = (c ⊕ self) ⊕ d: bits 0..j−1 equal d's and bit j is 1 − d_j, so bucket j lies
    /// nearer than all deeper buckets when d_j = 1 and farther than all of them when d_j = 0. The nearest-first
    /// order is therefore the buckets with d_j = 1 by ascending j, then those with d_j = 0 by descending j (bucket
    /// cpl(self, target) comes first). A lookup's answer thus reads one or two buckets instead of the whole table.
    /// Within the visited buckets, the best <paramref name="count"/> are kept by insertion instead of a sort.
    /// </summary>
    public List<NodeContact> Closest(NodeId target, int count) => ClosestEntries(target, count).ConvertAll(e => e.Contact);

    /// <summary>Like <see cref="Closest"/>, but returns the table's entries (which cache their wire form).</summary>
    public List<RoutingEntry> ClosestEntries(NodeId target, int count)
    {
        var capacity = Math.Min(count, Count);
        if (capacity <= 0)
        {
            return [];
        }

        var best = _best is { MaxCapacity: var max } && max >= capacity ? _best : (_best = new BestContacts(Math.Max(capacity, _bucketSize)));
        best.Reset(capacity);
        var d = Self.DistanceTo(target);
        for (var j = 0; j <= _deepestBucket && best.Length < capacity; j++)
        {
            if (d.IsBitSet(j))
            {
                best.OfferAll(_buckets[j], target);
            }
        }

        for (var j = _deepestBucket; j >= 0 && best.Length < capacity; j--)
        {
            if (!d.IsBitSet(j))
            {
                best.OfferAll(_buckets[j], target);
            }
        }

        return best.ToList();
    }

    // A plain loop: FindIndex with a lambda allocated a closure on every answer a node received.
    private static int IndexOf(List<RoutingEntry> entries, NodeId id)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Contact.Id == id)
            {
                return i;
            }
        }

        return -1;
    }

    private KBucket NewBucket(int index, long now)
    {
        _deepestBucket = Math.Max(_deepestBucket, index);
        return new KBucket { LastTouched = now };
    }

    /// <summary>Returns every contact, bucket by bucket (bucket 0 = farthest half of the key space first).</summary>
    public List<NodeContact> All()
    {
        var all = new List<NodeContact>(Count);
        foreach (var bucket in _buckets)
        {
            if (bucket is not null)
            {
                all.AddRange(bucket.Contacts.Select(e => e.Contact));
            }
        }

        return all;
    }

    /// <summary>Marks the bucket that holds <paramref name="target"/> as recently looked up.</summary>
    public void Touch(NodeId target, long now)
    {
        var index = Self.CommonPrefixLength(target);
        if (index < NodeId.Bits)
        {
            (_buckets[index] ??= NewBucket(index, now)).LastTouched = now;
        }
    }

    /// <summary>
    /// Returns the indices of buckets 0..(deepest non-empty bucket) not touched since <paramref name="staleBefore"/>:
    /// those a refresh lookup should visit (paper §2.3).
    /// </summary>
    public List<int> StaleBuckets(long staleBefore)
    {
        var deepest = -1;
        for (var i = NodeId.Bits - 1; i >= 0; i--)
        {
            if (_buckets[i] is { Contacts.Count: > 0 })
            {
                deepest = i;
                break;
            }
        }

        var stale = new List<int>();
        for (var i = 0; i <= deepest; i++)
        {
            if ((_buckets[i]?.LastTouched ?? long.MinValue) < staleBefore)
            {
                stale.Add(i);
            }
        }

        return stale;
    }

    /// <summary>Returns how many buckets hold at least one contact, for routing-table health metrics.</summary>
    public int NonEmptyBuckets() => _buckets.Count(b => b is { Contacts.Count: > 0 });

    private void Evict(KBucket bucket, int position)
    {
        Release(bucket.Contacts[position]);
        bucket.Contacts.RemoveAt(position);
        Count--;

        // The newest replacement the diversity limits admit now takes the place; inadmissible ones are dropped.
        while (bucket.Replacements.Count > 0)
        {
            var newest = bucket.Replacements[^1];
            bucket.Replacements.RemoveAt(bucket.Replacements.Count - 1);
            if (!Admits(newest, bucket, null))
            {
                DiversityRefusals++;
                continue;
            }

            var entry = new RoutingEntry(newest);
            bucket.Contacts.Add(entry);
            Track(entry);
            Count++;
            break;
        }
    }

    /// <summary>
    /// Returns whether <paramref name="contact"/> may enter <paramref name="bucket"/> (in place of
    /// <paramref name="replacing"/>, when moving an entry): its endpoint is not held by another ID, and its IP group
    /// is under its per-bucket and per-table limits.
    /// </summary>
    private bool Admits(NodeContact contact, KBucket bucket, RoutingEntry? replacing)
    {
        if (EndPointHeldByOther(contact.EndPoint, contact.Id))
        {
            return false;
        }

        if (!_limits.LimitsGroups)
        {
            return true;
        }

        var group = IpGroup.Of(contact.EndPoint.Address);
        var perBucket = group.IsLocal ? _limits.LocalPerBucket : _limits.PerBucket;
        var perTable = group.IsLocal ? _limits.LocalPerTable : _limits.PerTable;
        var sameEntry = replacing is not null && IpGroup.Of(replacing.Contact.EndPoint.Address) == group ? 1 : 0;
        if (perTable > 0 && _groupCounts.GetValueOrDefault(group) - sameEntry >= perTable)
        {
            return false;
        }

        if (perBucket > 0)
        {
            var inBucket = 0;
            foreach (var entry in bucket.Contacts)
            {
                if (entry != replacing && IpGroup.Of(entry.Contact.EndPoint.Address) == group)
                {
                    inBucket++;
                }
            }

            if (inBucket >= perBucket)
            {
                return false;
            }
        }

        return true;
    }

    private void Track(RoutingEntry entry)
    {
        if (_limits.OneIdPerEndPoint)
        {
            ref var slot = ref _endPointFilter[FilterSlot(entry.Contact.EndPoint)];
            if (slot < byte.MaxValue)
            {
                slot++;
            }
        }

        if (CountsGroupOf(entry, out var group))
        {
            _groupCounts[group] = _groupCounts.GetValueOrDefault(group) + 1;
        }
    }

    /// <summary>Returns whether the table counts <paramref name="entry"/>'s group (its per-table limit is set), and the group.</summary>
    private bool CountsGroupOf(RoutingEntry entry, out IpGroup group)
    {
        group = default;
        if (_limits.PerTable == 0 && _limits.LocalPerTable == 0)
        {
            return false;
        }

        group = IpGroup.Of(entry.Contact.EndPoint.Address);
        return (group.IsLocal ? _limits.LocalPerTable : _limits.PerTable) > 0;
    }

    private void Release(RoutingEntry entry)
    {
        if (_limits.OneIdPerEndPoint)
        {
            ref var slot = ref _endPointFilter[FilterSlot(entry.Contact.EndPoint)];
            if (slot is > 0 and < byte.MaxValue)
            {
                slot--;
            }
        }

        if (CountsGroupOf(entry, out var group) && _groupCounts.TryGetValue(group, out var count))
        {
            if (count <= 1)
            {
                _groupCounts.Remove(group);
            }
            else
            {
                _groupCounts[group] = count - 1;
            }
        }
    }

    private void AddReplacement(KBucket bucket, NodeContact contact)
    {
        // One ID per endpoint in the cache too, so one socket cannot queue many IDs to slip in one by one.
        bucket.Replacements.RemoveAll(c => c.Id == contact.Id || (_limits.OneIdPerEndPoint && c.EndPoint.Equals(contact.EndPoint)));
        bucket.Replacements.Add(contact);
        if (bucket.Replacements.Count > _bucketSize)
        {
            bucket.Replacements.RemoveAt(0);
        }
    }

    /// <summary>The best contacts seen so far, sorted by distance, at most <see cref="Reset"/>'s capacity.</summary>
    private sealed class BestContacts(int maxCapacity)
    {
        private readonly XorDistance[] _distances = new XorDistance[maxCapacity];
        private readonly RoutingEntry?[] _contacts = new RoutingEntry?[maxCapacity];
        private int _capacity;

        public int MaxCapacity => _distances.Length;

        public int Length { get; private set; }

        public void Reset(int capacity)
        {
            _capacity = capacity;
            Length = 0;
        }

        public void OfferAll(KBucket? bucket, NodeId target)
        {
            if (bucket is null)
            {
                return;
            }

            foreach (var entry in bucket.Contacts)
            {
                Offer(entry.Contact.Id.DistanceTo(target), entry);
            }
        }

        public List<RoutingEntry> ToList()
        {
            var result = new List<RoutingEntry>(Length);
            for (var n = 0; n < Length; n++)
            {
                result.Add(_contacts[n]!);
            }

            // Holds no entry between calls, so an evicted one can be collected.
            Array.Clear(_contacts, 0, Length);
            return result;
        }

        private void Offer(XorDistance distance, RoutingEntry contact)
        {
            if (Length == _capacity && distance >= _distances[Length - 1])
            {
                return;
            }

            // Insertion into the sorted prefix; when full, the farthest falls off the end.
            var j = Length < _capacity ? Length++ : Length - 1;
            while (j > 0 && _distances[j - 1] > distance)
            {
                _distances[j] = _distances[j - 1];
                _contacts[j] = _contacts[j - 1];
                j--;
            }

            _distances[j] = distance;
            _contacts[j] = contact;
        }
    }
}
