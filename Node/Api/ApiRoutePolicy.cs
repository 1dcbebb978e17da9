using Microsoft.AspNetCore.Builder;

namespace Overlay.Node.Api;

/// <summary>
/// What one route of the local API accepts as a body, declared next to its mapping in <see cref="ApiEndpoints"/> as
/// endpoint metadata and enforced by <see cref="ApiGuard"/> before the handler runs. A route without a policy gets
/// <see cref="NoBody"/>, the strictest. The token, Host and Origin rules are the same for every route and are not part
/// of the policy. Immutable.
/// </summary>
/// <param name="Body">The body the route takes; its Content-Type is checked.</param>
/// <param name="MaxBodyBytes">The most body bytes Kestrel lets the handler read, or null for no limit (streamed routes only).</param>
internal sealed record ApiRoutePolicy(ApiBody Body, long? MaxBodyBytes)
{
    /// <summary>
    /// Largest JSON body of a record route, bytes: 16 KiB. A put carries a value of at most 1000 bytes
    /// (Kademlia:MaxValueBytes' ceiling): 1,336 characters in base64, or up to 6,000 as JSON-escaped text
    /// (<c>\uXXXX</c> per byte), plus a salt of at most 64 bytes and the field names; 16 KiB holds the worst case
    /// with room, and bounds what the daemon reads before it refuses.
    /// </summary>
    public const long RecordBodyBytes = 16 * 1024;

    /// <summary>Gets the policy of routes that take no body (every GET, ping, fetch): no Content-Type, no bytes.</summary>
    public static ApiRoutePolicy NoBody { get; } = new(ApiBody.None, 0);

    /// <summary>Gets the policy of dht/put: <c>application/json</c>, at most <see cref="RecordBodyBytes"/>.</summary>
    public static ApiRoutePolicy JsonRecord { get; } = new(ApiBody.Json, RecordBodyBytes);

    /// <summary>Gets the policy of add: <c>application/octet-stream</c> of any length, streamed by the handler (never buffered whole).</summary>
    public static ApiRoutePolicy Stream { get; } = new(ApiBody.OctetStream, null);

    /// <summary>Returns the Content-Type the route takes, for messages.</summary>
    /// <returns><c>application/json</c>, <c>application/octet-stream</c>, or "no body".</returns>
    public string Describe() => Body switch
    {
        ApiBody.Json => "application/json",
        ApiBody.OctetStream => "application/octet-stream",
        _ => "no body",
    };
}

/// <summary>Declares an <see cref="ApiRoutePolicy"/> on a route.</summary>
internal static class ApiRoutePolicyExtensions
{
    /// <summary>Adds <paramref name="policy"/> to the route's endpoint metadata.</summary>
    /// <param name="route">The route.</param>
    /// <param name="policy">What body it accepts.</param>
    /// <returns>The route, for chaining.</returns>
    public static RouteHandlerBuilder WithBody(this RouteHandlerBuilder route, ApiRoutePolicy policy) => route.WithMetadata(policy);
}
