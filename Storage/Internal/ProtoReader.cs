namespace Overlay.Storage.Internal;

/// <summary>
/// A minimal protobuf wire-format reader (https://protobuf.dev/programming-guides/encoding/) over untrusted
/// bytes: every method reports failure instead of throwing, and lengths are bounds-checked.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly bool End => _pos >= _data.Length;

    public readonly int Position => _pos;

    /// <summary>Reads a protobuf varint (at most 10 bytes, 64 bits).</summary>
    public bool TryReadVarint(out ulong value)
    {
        value = 0;
        for (int i = 0; i < 10; i++)
        {
            if (_pos >= _data.Length)
            {
                return false;
            }

            byte b = _data[_pos++];
            if (i == 9 && b > 1)
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads a field key and splits it into field number and wire type.</summary>
    public bool TryReadTag(out int field, out int wireType)
    {
        field = 0;
        wireType = 0;
        if (!TryReadVarint(out ulong key) || key > int.MaxValue)
        {
            return false;
        }

        field = (int)(key >> 3);
        wireType = (int)(key & 7);
        return field > 0;
    }

    /// <summary>Reads a length-delimited payload.</summary>
    public bool TryReadBytes(out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (!TryReadVarint(out ulong length) || length > (ulong)(_data.Length - _pos))
        {
            return false;
        }

        bytes = _data.Slice(_pos, (int)length);
        _pos += (int)length;
        return true;
    }

    /// <summary>Skips a field's value of the given wire type (0, 1, 2 or 5; groups are rejected).</summary>
    public bool TrySkip(int wireType)
    {
        switch (wireType)
        {
            case 0:
                return TryReadVarint(out _);
            case 1:
                return TryAdvance(8);
            case 2:
                return TryReadBytes(out _);
            case 5:
                return TryAdvance(4);
            default:
                return false;
        }
    }

    private bool TryAdvance(int count)
    {
        if (_data.Length - _pos < count)
        {
            return false;
        }

        _pos += count;
        return true;
    }
}
