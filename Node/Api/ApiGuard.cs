using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Overlay.Node.Configuration;
using Overlay.Node.Daemon;

namespace Overlay.Node.Api;

/// <summary>
/// Middleware that decides, before any handler runs, whether a request may use the local API, so that a web page the
/// user visits can neither make the node act (sign, add, fetch, ping, look up) nor read its answers. Checks, in order;
/// the first that fails answers with the JSON error body and the request goes no further:
/// <list type="number">
/// <item><b>Host</b> (DNS rebinding): the Host header must name the API itself, <c>127.0.0.1</c>, <c>[::1]</c> or
/// <c>localhost</c> (or, with Node:AllowRemoteApi, the address the connection arrived on) with the port the connection
/// arrived on. A rebound name such as <c>evil.example</c> resolving to 127.0.0.1 fails. 403 <c>forbidden</c>.</item>
/// <item><b>Origin</b>: a request with an Origin header (browsers send one on every cross-origin fetch and every POST)
/// passes only if the origin is in Api:AllowedOrigins; without one, <c>Sec-Fetch-Site: cross-site</c> or
/// <c>same-site</c> (sent by current browsers on every request, forms and images included) is refused too. 403
/// <c>forbidden</c>. Listed origins get CORS headers (<c>Access-Control-Allow-Origin</c> echoing the origin, <c>Vary:
/// Origin</c>) and their preflights (OPTIONS) are answered here with 204; nothing else ever gets an
/// <c>Access-Control-*</c> header, so no other page can read a response.</item>
/// <item><b>Token</b> (CSRF): <c>Authorization: Bearer &lt;token&gt;</c> with the daemon's token
/// (<see cref="ApiToken"/>), compared in constant time, on every route. A page cannot read the token file, and a form
/// or image cannot set the header. 401 <c>unauthorized</c> with <c>WWW-Authenticate: Bearer</c> (RFC 6750 §3).</item>
/// <item><b>Content-Type</b>: the route's <see cref="ApiRoutePolicy"/> (application/json, application/octet-stream, or
/// no body), so no HTML form (urlencoded, multipart, text/plain) or no-cors fetch is accepted. 415
/// <c>unsupported_media_type</c>.</item>
/// <item><b>Body size</b>: a declared Content-Length above the route's limit is refused unread; otherwise the limit is
/// set on Kestrel's <see cref="IHttpMaxRequestBodySizeFeature"/>, which stops a chunked body as the handler reads past
/// it (<see cref="ApiErrorHandler"/> answers that with 413). 413 <c>too_large</c>.</item>
/// </list>
/// Every refusal is counted (<see cref="NodeMetrics.ApiRefused"/>, tag reason = host, origin, token, content-type or
/// body-size) and logged at Debug. Runs after routing (it reads the endpoint's policy) and before the handler.
/// Thread-safe: immutable after construction.
/// </summary>
internal sealed class ApiGuard
{
    /// <summary>Methods a listed origin may use, as sent in preflight answers.</summary>
    public const string AllowedMethods = "GET, POST";

    /// <summary>Request headers a listed origin may send, as sent in preflight answers.</summary>
    public const string AllowedHeaders = "authorization, content-type";

    /// <summary>How long a browser may cache a preflight answer, seconds: 600 (Chromium's own cap is 7200).</summary>
    public const int PreflightMaxAgeSeconds = 600;

    private const string ReasonHost = "host";
    private const string ReasonOrigin = "origin";
    private const string ReasonToken = "token";
    private const string ReasonContentType = "content-type";
    private const string ReasonBodySize = "body-size";

    private static readonly string[] LoopbackNames = ["127.0.0.1", "[::1]", "localhost"];

    private readonly string _token;
    private readonly string _tokenPath;
    private readonly IReadOnlySet<string> _allowedOrigins;
    private readonly bool _allowRemote;
    private readonly NodeMetrics _metrics;
    private readonly ILogger _logger;

    /// <summary>Creates the guard.</summary>
    /// <param name="token">The daemon's token (<see cref="ApiToken.Create"/>).</param>
    /// <param name="tokenPath">Where the token file is, for the refusal message.</param>
    /// <param name="api">The Api options (validated): the allowed origins.</param>
    /// <param name="allowRemoteApi">Node:AllowRemoteApi: whether the address a connection arrived on is an accepted Host besides the loopback names.</param>
    /// <param name="metrics">Counts refusals.</param>
    /// <param name="logger">Logs refusals at Debug.</param>
    public ApiGuard(string token, string tokenPath, ApiOptions api, bool allowRemoteApi, NodeMetrics metrics, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _token = token;
        _tokenPath = tokenPath;
        _allowedOrigins = api.NormalizedOrigins();
        _allowRemote = allowRemoteApi;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Runs the checks described on the type, then <paramref name="next"/> if they pass.</summary>
    /// <param name="context">The request.</param>
    /// <param name="next">The rest of the pipeline (the endpoint).</param>
    /// <returns>A task that completes when the response is written.</returns>
    /// <exception cref="BadHttpRequestException">Rethrown from <paramref name="next"/> after counting, when Kestrel stopped a body at the route's limit.</exception>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var request = context.Request;

        if (!IsOwnHost(context))
        {
            var ports = context.Connection.LocalPort;
            await RefuseAsync(context, ReasonHost, ApiError.Forbidden, $"the Host header '{ApiInput.Quote(request.Host.Value)}' is not this API's own name (127.0.0.1:{ports}, [::1]:{ports} or localhost:{ports}); a page that reached the API through another name (DNS rebinding) may not use it").ConfigureAwait(false);
            return;
        }

        string? allowedOrigin = null;
        var origins = request.Headers.Origin;
        if (origins.Count > 0)
        {
            if (origins.Count == 1 && ApiOptions.TryNormalizeOrigin(origins[0], out var origin, out _) && _allowedOrigins.Contains(origin))
            {
                allowedOrigin = origins[0]!;
            }
            else
            {
                await RefuseAsync(context, ReasonOrigin, ApiError.Forbidden, $"requests from web pages are refused: origin '{ApiInput.Quote(origins.ToString())}' is not in Api:AllowedOrigins").ConfigureAwait(false);
                return;
            }
        }
        else if (request.Headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site")
        {
            await RefuseAsync(context, ReasonOrigin, ApiError.Forbidden, "requests from web pages are refused: the browser says this one came from another site (Sec-Fetch-Site) and named no origin listed in Api:AllowedOrigins").ConfigureAwait(false);
            return;
        }

        if (allowedOrigin is not null)
        {
            // Set when the response starts, so the headers survive ApiErrorHandler clearing the response for an error.
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.AccessControlAllowOrigin = allowedOrigin;
                context.Response.Headers.Append(HeaderNames.Vary, HeaderNames.Origin);
                return Task.CompletedTask;
            });
            if (HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey(HeaderNames.AccessControlRequestMethod))
            {
                // A preflight carries no credentials (Fetch standard, CORS-preflight request); the real request will.
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                context.Response.Headers.AccessControlAllowMethods = AllowedMethods;
                context.Response.Headers.AccessControlAllowHeaders = AllowedHeaders;
                context.Response.Headers.AccessControlMaxAge = PreflightMaxAgeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (request.Headers["Access-Control-Request-Private-Network"] == "true")
                {
                    // Chromium's Private Network Access: a listed public origin may reach the loopback API.
                    context.Response.Headers["Access-Control-Allow-Private-Network"] = "true";
                }

                return;
            }
        }

        if (!TryGetBearer(request, out var presented))
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return Task.CompletedTask;
            });
            await RefuseAsync(context, ReasonToken, ApiError.Unauthorized, $"the API needs the token in {_tokenPath}, sent as 'Authorization: Bearer <token>'; the overlay CLI sends it (give it the daemon's --data-dir), curl: -H \"Authorization: Bearer $(cat {_tokenPath})\"").ConfigureAwait(false);
            return;
        }

        if (!ApiToken.Matches(presented, _token))
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                return Task.CompletedTask;
            });
            await RefuseAsync(context, ReasonToken, ApiError.Unauthorized, $"the token is not this daemon's: it is made anew at each start and is in {_tokenPath}; the overlay CLI sends it (give it the daemon's --data-dir)").ConfigureAwait(false);
            return;
        }

        var policy = context.GetEndpoint()?.Metadata.GetMetadata<ApiRoutePolicy>() ?? ApiRoutePolicy.NoBody;
        if (!HasAcceptedContentType(request, policy))
        {
            await RefuseAsync(context, ReasonContentType, ApiError.UnsupportedMediaType, $"{request.Method} {request.Path} takes {policy.Describe()}, not Content-Type '{ApiInput.Quote(request.ContentType)}'").ConfigureAwait(false);
            return;
        }

        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        if (policy.MaxBodyBytes is { } max && (request.ContentLength > max || (max == 0 && canHaveBody)))
        {
            await RefuseAsync(context, ReasonBodySize, ApiError.TooLarge, $"{request.Method} {request.Path} takes {(max == 0 ? "no body" : $"at most {max} bytes")}; this request declared {(request.ContentLength is { } length ? $"{length} bytes" : "a chunked body")}").ConfigureAwait(false);
            return;
        }

        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = policy.MaxBodyBytes;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            Count(context, ReasonBodySize, ex.Message);
            throw;
        }
    }

    /// <summary>Returns whether the Host header names this API: a loopback name (or, with Node:AllowRemoteApi, the local address of the connection) and the local port of the connection.</summary>
    private bool IsOwnHost(HttpContext context)
    {
        var host = context.Request.Host;
        if (!host.HasValue || (host.Port ?? 80) != context.Connection.LocalPort)
        {
            return false;
        }

        var name = host.Host;
        if (LoopbackNames.Any(n => n.Equals(name, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        if (!_allowRemote || context.Connection.LocalIpAddress is not { } local)
        {
            return false;
        }

        if (local.IsIPv4MappedToIPv6)
        {
            local = local.MapToIPv4();
        }

        var literal = local.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{local}]" : local.ToString();
        return literal.Equals(name, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads <c>Authorization: Bearer &lt;token&gt;</c> (scheme case-insensitive, RFC 6750 §2.1).</summary>
    private static bool TryGetBearer(HttpRequest request, out string token)
    {
        token = string.Empty;
        var values = request.Headers.Authorization;
        if (values.Count != 1 || values[0] is not { } header)
        {
            return false;
        }

        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        token = header[scheme.Length..].Trim();
        return token.Length > 0;
    }

    /// <summary>Returns whether the Content-Type fits the policy: absent or empty for no body; the exact media type (any parameters) otherwise.</summary>
    private static bool HasAcceptedContentType(HttpRequest request, ApiRoutePolicy policy)
    {
        var contentType = request.ContentType;
        if (policy.Body == ApiBody.None)
        {
            return string.IsNullOrWhiteSpace(contentType);
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return false;
        }

        var expected = policy.Body == ApiBody.Json ? "application/json" : "application/octet-stream";
        return parsed.MediaType.Equals(expected, StringComparison.OrdinalIgnoreCase);
    }

    private void Count(HttpContext context, string reason, string detail)
    {
        _metrics.ApiRefused(reason);
        NodeLog.ApiRefused(_logger, context.Request.Method, context.Request.Path, reason, detail);
    }

    private async Task RefuseAsync(HttpContext context, string reason, ApiError error, string message)
    {
        Count(context, reason, message);

        // The body of a refused request is never read; Kestrel drains a little of it or closes the connection.
        await ApiErrorHandler.FailAsync(context, error, message, _logger).ConfigureAwait(false);
    }
}
