using Microsoft.Extensions.Logging;

namespace Overlay.Storage.Internal;

/// <summary>Source-generated log messages for Storage; EventIds 2000-2099.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Block store opened at {Directory}: {Count} blocks, {Bytes} bytes, {TempFiles} leftover temp files removed")]
    public static partial void StoreOpened(ILogger logger, string directory, long count, long bytes, int tempFiles);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Block {Cid} on disk does not match its hash; moved to {Quarantine} and treated as absent")]
    public static partial void CorruptBlockQuarantined(ILogger logger, string cid, string quarantine);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Block {Cid} on disk does not match its hash and could not be quarantined; deleted")]
    public static partial void CorruptBlockDeleted(ILogger logger, string cid, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Writing block {Cid} failed")]
    public static partial void WriteFailed(ILogger logger, string cid, Exception exception);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Could not remove leftover temp file {Path}")]
    public static partial void TempCleanupFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Block {Cid} does not match its hash in memory; removed and treated as absent")]
    public static partial void CorruptMemoryBlock(ILogger logger, string cid);
}
