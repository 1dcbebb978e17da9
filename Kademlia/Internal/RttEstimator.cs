namespace Overlay.Kademlia.Internal;

/// <summary>
/// Adaptive RPC timeout (RFC 6298 §2): smoothed round-trip time and its variation from answered requests;
/// timeout = SRTT + max(1 ms, 4·RTTVAR), clamped to [min, max]; before the first sample, the initial timeout.
/// One estimator per node (all peers), which adapts to loopback (sub-millisecond) and wide-area paths alike.
/// Thread-safe (lock).
/// </summary>
internal sealed class RttEstimator(TimeSpan initial, TimeSpan min, TimeSpan max)
{
    private readonly object _gate = new();
    private double _srtt = -1;
    private double _rttvar;

    public TimeSpan Timeout
    {
        get
        {
            lock (_gate)
            {
                if (_srtt < 0)
                {
                    return initial;
                }

                var rto = TimeSpan.FromTicks((long)(_srtt + Math.Max(TimeSpan.TicksPerMillisecond, 4 * _rttvar)));
                return rto < min ? min : rto > max ? max : rto;
            }
        }
    }

    public void AddSample(TimeSpan rtt)
    {
        var r = (double)rtt.Ticks;
        lock (_gate)
        {
            if (_srtt < 0)
            {
                _srtt = r;
                _rttvar = r / 2;
            }
            else
            {
                _rttvar = (0.75 * _rttvar) + (0.25 * Math.Abs(_srtt - r));
                _srtt = (0.875 * _srtt) + (0.125 * r);
            }
        }
    }
}
