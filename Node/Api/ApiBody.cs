namespace Overlay.Node.Api;

/// <summary>What body a route of the local API takes; <see cref="ApiGuard"/> refuses any other with 415 or 413.</summary>
internal enum ApiBody
{
    /// <summary>No body: no Content-Type (or an empty one) and no bytes (Content-Length absent or 0, not chunked).</summary>
    None,

    /// <summary>A JSON document: Content-Type <c>application/json</c> (parameters such as charset allowed).</summary>
    Json,

    /// <summary>Raw bytes: Content-Type <c>application/octet-stream</c>.</summary>
    OctetStream,
}
