namespace Overlay.Transport.Sessions;

/// <summary>
/// The receive side's sliding window of packet numbers (counters) already seen, as WireGuard keeps it (whitepaper
/// §5.4.6) after RFC 6479: a packet is accepted once if its number is above the highest seen, or within
/// <see cref="WindowSize"/> below it and not seen before; older numbers are too far reordered and are rejected. Check
/// a number with <see cref="IsFresh"/> before decrypting (cheap, no state change) and <see cref="TryAccept"/> only
/// after the packet authenticated, so forged packets cannot move the window. Not thread-safe; 272 bytes.
/// </summary>
internal sealed class ReplayWindow
{
    /// <summary>Packet numbers remembered below the highest one: 2,048 − 64 = 1,984 (RFC 6479 §2: the window is the
    /// bitmap less one block, so a whole block can be cleared when the window slides).</summary>
    public const int WindowSize = (BlockCount - 1) * BitsPerBlock;

    private const int BitsPerBlock = 64;
    private const int BlockCount = 32;
    private const int BlockMask = BlockCount - 1;

    private readonly ulong[] _bitmap = new ulong[BlockCount];
    private ulong _highest;
    private bool _any;

    /// <summary>Gets the highest packet number accepted so far (0 before any).</summary>
    public ulong Highest => _highest;

    /// <summary>Returns whether <paramref name="packetNumber"/> could be accepted: not seen, and not more than
    /// <see cref="WindowSize"/> below the highest accepted.</summary>
    /// <param name="packetNumber">A received packet's number.</param>
    /// <returns>False for a replay or a packet reordered beyond the window.</returns>
    public bool IsFresh(ulong packetNumber)
    {
        if (!_any || packetNumber > _highest)
        {
            return true;
        }

        if (_highest - packetNumber >= WindowSize)
        {
            return false;
        }

        var block = (int)((packetNumber / BitsPerBlock) & BlockMask);
        return (_bitmap[block] & (1UL << (int)(packetNumber % BitsPerBlock))) == 0;
    }

    /// <summary>Marks <paramref name="packetNumber"/> seen, sliding the window forward when it is the new highest.</summary>
    /// <param name="packetNumber">An authenticated packet's number.</param>
    /// <returns>False (and no change) when <see cref="IsFresh"/> is false for it.</returns>
    public bool TryAccept(ulong packetNumber)
    {
        if (!IsFresh(packetNumber))
        {
            return false;
        }

        if (!_any || packetNumber > _highest)
        {
            if (_any)
            {
                // Clear the blocks the window slides over (all of them when it jumps a whole window or more).
                var current = _highest / BitsPerBlock;
                var clear = Math.Min((packetNumber / BitsPerBlock) - current, BlockCount);
                for (ulong i = 1; i <= clear; i++)
                {
                    _bitmap[(int)((current + i) & BlockMask)] = 0;
                }
            }

            _highest = packetNumber;
            _any = true;
        }

        _bitmap[(int)((packetNumber / BitsPerBlock) & BlockMask)] |= 1UL << (int)(packetNumber % BitsPerBlock);
        return true;
    }
}
