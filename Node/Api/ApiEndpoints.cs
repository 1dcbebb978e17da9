using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Overlay.Node.Api;

/// <summary>Maps the routes of the local API under <see cref="Prefix"/> to <see cref="NodeApi"/>.</summary>
internal static class ApiEndpoints
{
    /// <summary>The path prefix of every route: <c>/api/v0</c>.</summary>
    public const string Prefix = "/api/v0";

    /// <summary>
    /// Maps: GET id, GET status, GET peers, POST ping?addr=, GET dht/find-node/{id}, POST dht/put, GET dht/get/{key},
    /// GET dht/providers/{cid}, POST add, POST fetch/{cid}, GET cat/{cid}, GET cat/{cid}/status, GET connections,
    /// POST connect?peer=, GET events (WebSocket), each with its <see cref="ApiRoutePolicy"/>;
    /// any other path under the prefix answers 404 <c>not_found</c> naming the method and path (no body allowed).
    /// </summary>
    /// <param name="endpoints">The application.</param>
    /// <returns>The route group.</returns>
    public static RouteGroupBuilder MapNodeApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix);

        // What body each route takes (ApiGuard enforces it before the handler); the token, Host and Origin checks
        // apply to every route alike.
        api.MapGet("id", (NodeApi node) => node.GetId()).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("status", (NodeApi node) => node.GetStatus()).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("peers", (NodeApi node) => node.GetPeers()).WithBody(ApiRoutePolicy.NoBody);
        api.MapPost("ping", (NodeApi node, string? addr, CancellationToken cancellationToken) => node.PingAsync(addr, cancellationToken)).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("dht/find-node/{id}", (NodeApi node, string id, CancellationToken cancellationToken) => node.FindNodeAsync(id, cancellationToken)).WithBody(ApiRoutePolicy.NoBody);
        api.MapPost("dht/put", (NodeApi node, HttpRequest request, CancellationToken cancellationToken) => node.PutAsync(request, cancellationToken)).WithBody(ApiRoutePolicy.JsonRecord);
        api.MapGet("dht/get/{key}", (NodeApi node, string key, CancellationToken cancellationToken) => node.GetRecordAsync(key, cancellationToken)).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("dht/providers/{cid}", (NodeApi node, string cid, CancellationToken cancellationToken) => node.GetProvidersAsync(cid, cancellationToken)).WithBody(ApiRoutePolicy.NoBody);
        api.MapPost("add", (NodeApi node, HttpRequest request, CancellationToken cancellationToken) => node.AddAsync(request, cancellationToken)).WithBody(ApiRoutePolicy.Stream);
        api.MapPost("fetch/{cid}", (NodeApi node, string cid, CancellationToken cancellationToken) => node.FetchAsync(cid, cancellationToken)).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("cat/{cid}", (NodeApi node, HttpContext context, string cid) => node.CatAsync(context, cid)).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("cat/{cid}/status", (NodeApi node, string cid) => node.GetCatStatus(cid)).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("connections", (ConnectionsApi connections) => connections.GetConnections()).WithBody(ApiRoutePolicy.NoBody);
        api.MapPost("connect", (ConnectionsApi connections, string? peer, CancellationToken cancellationToken) => connections.ConnectAsync(peer, cancellationToken)).WithBody(ApiRoutePolicy.NoBody);
        api.MapGet("events", (ConnectionsApi connections, HttpContext context) => connections.EventsAsync(context)).WithBody(ApiRoutePolicy.NoBody);
        api.Map("{**rest}", (RequestDelegate)(context =>
            throw new ApiException(ApiError.NotFound, $"no API route {context.Request.Method} {context.Request.Path}")));
        return api;
    }
}
