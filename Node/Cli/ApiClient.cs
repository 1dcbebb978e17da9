using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Overlay.Node.Api;

namespace Overlay.Node.Cli;

/// <summary>
/// Calls the daemon's local API. Every failure becomes a <see cref="CliException"/>: an API error body
/// <c>{ error, code }</c> keeps its message and maps its code with <see cref="ApiErrors.ExitCode"/>; a refused or
/// unresolvable connection is <see cref="ExitCodes.DaemonUnreachable"/>. Every request carries the daemon's token as
/// <c>Authorization: Bearer</c> when one was found; a 401 names the token file the CLI read. No request timeout: long fetches are
/// bounded by the daemon (Node:FetchTimeout) and the user (Ctrl+C). Not thread-safe for concurrent disposal only.
/// </summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _token;
    private readonly string? _tokenPath;

    /// <summary>Creates a client.</summary>
    /// <param name="baseUri">The API's base, <c>http://host:port/</c>.</param>
    /// <param name="handler">The message handler (tests pass a fake); null for a socket handler.</param>
    /// <param name="token">The daemon's API token, sent as <c>Authorization: Bearer</c> on every request; null to send none.</param>
    /// <param name="tokenPath">Where the token was looked for, named in the message of a 401; null when unknown.</param>
    public ApiClient(Uri baseUri, HttpMessageHandler? handler = null, string? token = null, string? tokenPath = null)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        BaseUri = baseUri;
        _token = token;
        _tokenPath = tokenPath;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: true);
        _http.BaseAddress = baseUri;
        _http.Timeout = Timeout.InfiniteTimeSpan;
        if (!string.IsNullOrEmpty(token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>Gets the API's base URI.</summary>
    public Uri BaseUri { get; }

    /// <summary>Opens a WebSocket to a route (e.g. <c>events</c>) with the token as <c>Authorization: Bearer</c>.</summary>
    /// <param name="path">Path below <c>/api/v0/</c>.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The open socket; the caller disposes it.</returns>
    /// <exception cref="CliException">The daemon is unreachable or refused the upgrade.</exception>
    public async Task<System.Net.WebSockets.ClientWebSocket> OpenWebSocketAsync(string path, CancellationToken cancellationToken = default)
    {
        var socket = new System.Net.WebSockets.ClientWebSocket();
        if (!string.IsNullOrEmpty(_token))
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {_token}");
        }

        var uri = new UriBuilder(new Uri(BaseUri, Relative(path))) { Scheme = BaseUri.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;
        try
        {
            await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (System.Net.WebSockets.WebSocketException ex)
        {
            socket.Dispose();
            throw new CliException(ExitCodes.Failure, $"cannot open the event feed at {uri}: {ex.Message}");
        }
    }

    /// <summary>Sends a request and reads a JSON answer.</summary>
    /// <typeparam name="T">The response record.</typeparam>
    /// <param name="method">GET or POST.</param>
    /// <param name="path">Path below <c>/api/v0/</c>, e.g. <c>status</c>.</param>
    /// <param name="content">The body, or null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The parsed value and the raw JSON text (printed as-is by <c>--json</c>).</returns>
    /// <exception cref="CliException">The daemon is unreachable, answered with an error, or sent malformed JSON.</exception>
    public async Task<(T Value, string Json)> SendJsonAsync<T>(HttpMethod method, string path, HttpContent? content = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, Relative(path)) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var value = JsonSerializer.Deserialize<T>(json, ApiErrorHandler.JsonOptions)
                ?? throw new CliException(ExitCodes.Failure, $"the daemon at {BaseUri} answered {path} with an empty body");
            return (value, json);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.Failure, $"the daemon at {BaseUri} answered {path} with malformed JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Sends a request and returns the response once its headers arrived, for streaming the body.</summary>
    /// <param name="method">GET or POST.</param>
    /// <param name="path">Path below <c>/api/v0/</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A successful response the caller disposes.</returns>
    /// <exception cref="CliException">The daemon is unreachable or answered with an error.</exception>
    public async Task<HttpResponseMessage> SendStreamingAsync(HttpMethod method, string path, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, Relative(path));
        return await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Turns an error response into a <see cref="CliException"/>.</summary>
    /// <param name="response">A response whose status is not a success.</param>
    /// <param name="cancellationToken">Cancels reading the body.</param>
    /// <returns>The exception: the API's message and the exit code of its code, or exit 1 with the HTTP status when the body is not an API error.</returns>
    public static async Task<CliException> ToErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var error = JsonSerializer.Deserialize<ErrorResponse>(body, ApiErrorHandler.JsonOptions);
            if (error is { Error: { Length: > 0 } message })
            {
                return new CliException(ApiErrors.ExitCode(error.Code), message, null, error.Code);
            }
        }
        catch (JsonException)
        {
            // Not an API error body (a proxy, another server on the port): report the status below.
        }

        var status = (int)response.StatusCode;
        var text = body.Length > 200 ? body[..200] + "…" : body;
        return new CliException(ExitCodes.Failure, $"HTTP {status} {response.ReasonPhrase} from {response.RequestMessage?.RequestUri}{(text.Length > 0 ? ": " + text.ReplaceLineEndings(" ") : string.Empty)}");
    }

    /// <summary>Returns whether an <see cref="HttpRequestException"/> means nothing is listening (or the name does not resolve).</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>True for connection and name-resolution errors.</returns>
    public static bool IsUnreachable(HttpRequestException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
            || exception.InnerException is SocketException;
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private static Uri Relative(string path) => new("api/v0/" + path, UriKind.Relative);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (IsUnreachable(ex))
        {
            throw new CliException(ExitCodes.DaemonUnreachable, $"cannot reach the daemon at {BaseUri.ToString().TrimEnd('/')}: is `overlay node run` running?", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException(ExitCodes.Failure, $"request to the daemon at {BaseUri} failed: {ex.Message}", ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var error = await ToErrorAsync(response, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized && _tokenPath is not null)
            {
                var found = _token is null ? "found no token there" : "sent the token found there";
                throw new CliException(error.ExitCode, $"{error.Message} (the CLI looked in {_tokenPath} and {found}; is --data-dir the daemon's?)");
            }

            throw error;
        }
    }
}
