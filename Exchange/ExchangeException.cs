using Overlay.Storage;

namespace Overlay.Exchange;

/// <summary>
/// Thrown when a DAG cannot be fetched: no live provider could supply a block, or a verified block is not a valid
/// DAG node. The message names the block and what each provider did, e.g.
/// "block bafy… could not be fetched: 2 providers tried (10.0.0.1:4001: bad block; 10.0.0.2:4001: not found)".
/// </summary>
public sealed class ExchangeException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public ExchangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public ExchangeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception naming the block that could not be fetched.</summary>
    /// <param name="block">The block that failed.</param>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ExchangeException(Cid block, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Block = block;
    }

    /// <summary>Gets the block that could not be fetched, when known.</summary>
    public Cid? Block { get; }
}
