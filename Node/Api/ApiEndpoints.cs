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
    /// GET dht/providers/{cid}, POST add, POST fetch/{cid}, GET cat/{cid}, GET cat/{cid}/status; any other path under the prefix answers
    /// 404 <c>not_found</c> naming the method and path.
    /// </summary>
    /// <param name="endpoints">The application.</param>
    /// <returns>The route group.</returns>
    public static RouteGroupBuilder MapNodeApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix);
        api.MapGet("id", (NodeApi node) => node.GetId());
        api.MapGet("status", (NodeApi node) => node.GetStatus());
        api.MapGet("peers", (NodeApi node) => node.GetPeers());
        api.MapPost("ping", (NodeApi node, string? addr, CancellationToken cancellationToken) => node.PingAsync(addr, cancellationToken));
        api.MapGet("dht/find-node/{id}", (NodeApi node, string id, CancellationToken cancellationToken) => node.FindNodeAsync(id, cancellationToken));
        api.MapPost("dht/put", (NodeApi node, HttpRequest request, CancellationToken cancellationToken) => node.PutAsync(request, cancellationToken));
        api.MapGet("dht/get/{key}", (NodeApi node, string key, CancellationToken cancellationToken) => node.GetRecordAsync(key, cancellationToken));
        api.MapGet("dht/providers/{cid}", (NodeApi node, string cid, CancellationToken cancellationToken) => node.GetProvidersAsync(cid, cancellationToken));
        api.MapPost("add", (NodeApi node, HttpRequest request, CancellationToken cancellationToken) => node.AddAsync(request, cancellationToken));
        api.MapPost("fetch/{cid}", (NodeApi node, string cid, CancellationToken cancellationToken) => node.FetchAsync(cid, cancellationToken));
        api.MapGet("cat/{cid}", (NodeApi node, HttpContext context, string cid) => node.CatAsync(context, cid));
        api.MapGet("cat/{cid}/status", (NodeApi node, string cid) => node.GetCatStatus(cid));
        api.Map("{**rest}", (RequestDelegate)(context =>
            throw new ApiException(ApiError.NotFound, $"no API route {context.Request.Method} {context.Request.Path}")));
        return api;
    }
}
