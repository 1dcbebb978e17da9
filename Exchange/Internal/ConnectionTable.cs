namespace Overlay.Exchange.Internal;

/// <summary>
/// The connections a server holds, counted in total and per <see cref="AddressGroup"/>, and the admission rule for a
/// newcomer. Synchronous and clock-free (phases and their timestamps come with the connections), so the rule is tested
/// without sockets. Thread-safe: one lock.
/// </summary>
/// <remarks>
/// Admission, in order: (1) a newcomer whose group already holds <c>maxPerGroup</c> connections is refused
/// (<see cref="ConnectionRefusal.PerIp"/>) and evicts nobody, so one host cannot churn others out; (2) below
/// <c>maxConnections</c> it is admitted; (3) at the limit, the connection waiting longest for a request is evicted in
/// its favour: one still awaiting its first request before an idle one, then the earliest phase start, then the
/// earliest accepted; (4) when every connection is reading a frame or answering, the newcomer is refused
/// (<see cref="ConnectionRefusal.Total"/>). The scan in (3) is O(open connections), done only when the table is full. Phases are read as they are at that moment: a
/// connection that starts a request just as it is chosen is still evicted (its peer sees the connection close).
/// </remarks>
internal sealed class ConnectionTable
{
    private readonly object _gate = new();
    private readonly HashSet<ServerConnection> _open = [];
    private readonly Dictionary<AddressGroup, int> _perGroup = [];
    private readonly int _maxConnections;
    private readonly int _maxPerGroup;

    /// <summary>Creates an empty table.</summary>
    /// <param name="maxConnections">Most connections in all, ≥ 1.</param>
    /// <param name="maxPerGroup">Most connections per address group, ≥ 1.</param>
    public ConnectionTable(int maxConnections, int maxPerGroup)
    {
        _maxConnections = maxConnections;
        _maxPerGroup = maxPerGroup;
    }

    /// <summary>Gets the number of connections held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Returns the number of connections held from <paramref name="group"/>.</summary>
    /// <param name="group">An address group.</param>
    /// <returns>0..maxPerGroup.</returns>
    public int CountFrom(AddressGroup group)
    {
        lock (_gate)
        {
            return _perGroup.GetValueOrDefault(group);
        }
    }

    /// <summary>Returns the number of connections held that are in <paramref name="phase"/>.</summary>
    /// <param name="phase">A phase.</param>
    /// <returns>0..Count.</returns>
    public int CountIn(ConnectionPhase phase)
    {
        lock (_gate)
        {
            return _open.Count(c => c.Phase == phase);
        }
    }

    /// <summary>Admits <paramref name="candidate"/> by the rule in the remarks, or refuses it.</summary>
    /// <param name="candidate">A new connection with a non-null <see cref="ServerConnection.Group"/>.</param>
    /// <param name="evicted">The connection removed to make room (the caller cuts it with <see cref="ServerConnection.Evict"/>), or null.</param>
    /// <returns>Null when admitted; otherwise why it was refused (<see cref="ConnectionRefusal.PerIp"/> or <see cref="ConnectionRefusal.Total"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="candidate"/> has no group.</exception>
    public ConnectionRefusal? TryAdmit(ServerConnection candidate, out ServerConnection? evicted)
    {
        var group = candidate.Group ?? throw new ArgumentException("only connections with an address group are counted", nameof(candidate));
        evicted = null;
        lock (_gate)
        {
            if (_perGroup.GetValueOrDefault(group) >= _maxPerGroup)
            {
                return ConnectionRefusal.PerIp;
            }

            if (_open.Count >= _maxConnections)
            {
                evicted = ChooseVictim();
                if (evicted is null)
                {
                    return ConnectionRefusal.Total;
                }

                RemoveLocked(evicted);
            }

            _open.Add(candidate);
            _perGroup[group] = _perGroup.GetValueOrDefault(group) + 1;
            return null;
        }
    }

    /// <summary>Removes <paramref name="connection"/> if it is held.</summary>
    /// <param name="connection">A connection.</param>
    /// <returns>True if it was held (and now is not); false if it was evicted or never admitted.</returns>
    public bool Remove(ServerConnection connection)
    {
        lock (_gate)
        {
            return RemoveLocked(connection);
        }
    }

    private bool RemoveLocked(ServerConnection connection)
    {
        if (!_open.Remove(connection))
        {
            return false;
        }

        var group = connection.Group!.Value;
        int left = _perGroup[group] - 1;
        if (left == 0)
        {
            _perGroup.Remove(group);
        }
        else
        {
            _perGroup[group] = left;
        }

        return true;
    }

    private ServerConnection? ChooseVictim()
    {
        ServerConnection? best = null;
        (int Rank, long Since, long Sequence) bestKey = default;
        foreach (var connection in _open)
        {
            int rank = connection.Phase switch
            {
                ConnectionPhase.AwaitingFirstRequest => 0,
                ConnectionPhase.Idle => 1,
                _ => -1,
            };
            if (rank < 0)
            {
                continue;
            }

            var key = (rank, connection.PhaseSince, connection.Sequence);
            if (best is null || key.CompareTo(bestKey) < 0)
            {
                best = connection;
                bestKey = key;
            }
        }

        return best;
    }
}
