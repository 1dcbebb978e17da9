using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Overlay.Kademlia;
using Overlay.Node.Api;
using Overlay.Storage;

namespace Overlay.Node.Tests;

/// <summary>
/// The attacks a web page (or a stray local client) can make on the API, each sent with the headers a browser would
/// send, against the real pipeline (<see cref="ApiTestHost"/>). Each test fails on the API before ApiGuard: there,
/// every one of these requests reached its handler.
/// </summary>
public sealed class ApiGuardTests : IAsyncLifetime
{
    private const string Evil = "http://evil.example";
    private const string Listed = "http://localhost:8080";
    private ApiTestHost? _host;

    private ApiTestHost Host => _host!;

    public async Task InitializeAsync() =>
        _host = await ApiTestHost.StartAsync(new Dictionary<string, string?> { ["Api:AllowedOrigins:0"] = Listed });

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=xyz")]
    public async Task CrossSiteFormPostToPutIsRefusedAndNothingIsSigned(string contentType)
    {
        // What a page's <form enctype=...> or no-cors fetch sends: a simple request, with Origin and Sec-Fetch-Site.
        using var response = await SendAsync(HttpMethod.Post, "dht/put", Body(contentType, """{"value":"pwned","mutable":true}"""), Browser(Evil));

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "forbidden", "not in Api:AllowedOrigins");
        Assert.Equal(1, Host.Refusals("origin"));
        await AssertNothingSignedAsync();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=xyz")]
    public async Task FormContentTypesAreRefusedEvenWithTheToken(string contentType)
    {
        using var response = await SendAsync(HttpMethod.Post, "dht/put", Body(contentType, """{"value":"pwned","mutable":true}"""), WithToken);

        await AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type", "takes application/json");
        Assert.Equal(1, Host.Refusals("content-type"));
        await AssertNothingSignedAsync();
    }

    [Fact]
    public async Task JsonPutWithoutTheTokenIsRefused()
    {
        using var missing = await SendAsync(HttpMethod.Post, "dht/put", Json("""{"value":"pwned","mutable":true}"""));
        using var wrong = await SendAsync(HttpMethod.Post, "dht/put", Json("""{"value":"pwned","mutable":true}"""), r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", new string('0', 64)));

        await AssertErrorAsync(missing, HttpStatusCode.Unauthorized, "unauthorized", "api.token");
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        await AssertErrorAsync(wrong, HttpStatusCode.Unauthorized, "unauthorized", "not this daemon's");
        Assert.Equal(2, Host.Refusals("token"));
        await AssertNothingSignedAsync();
    }

    [Fact]
    public async Task JsonPutWithTheTokenIsSigned()
    {
        using var response = await SendAsync(HttpMethod.Post, "dht/put", Json("""{"value":"mine","mutable":true}"""), WithToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The same probe the refusal tests rely on finds the record, so "not found" there means "not signed".
        var record = await Host.Http.GetFromJsonAsync<RecordResponse>($"dht/get/{MutableKey()}", ApiErrorHandler.JsonOptions);
        Assert.Equal("mine", record!.Value);
        Assert.Equal(Convert.ToBase64String(Host.Runtime.Identity.PublicKey.Span), record.PublicKey);
        Assert.Equal(0, Host.TotalRefusals());
    }

    [Theory]
    [InlineData("evil.example:{port}", "id")]
    [InlineData("127.0.0.1.nip.io:{port}", "id")]
    [InlineData("localhost.evil.example:{port}", "id")]
    [InlineData("127.0.0.1:{other}", "id")]
    [InlineData("evil.example:{port}", "cat/{cid}")]
    [InlineData("127.0.0.1.nip.io:{port}", "cat/{cid}")]
    public async Task ForeignHostIsForbiddenEvenWithTheToken(string host, string path)
    {
        // DNS rebinding: the page's name now resolves to 127.0.0.1, so the browser sends its own name as Host.
        var cid = await AddLocalFileAsync();
        host = host.Replace("{port}", Host.Port.ToString(), StringComparison.Ordinal).Replace("{other}", (Host.Port + 1).ToString(), StringComparison.Ordinal);

        using var response = await SendAsync(HttpMethod.Get, path.Replace("{cid}", cid.ToString(), StringComparison.Ordinal), null, WithToken, r => r.Headers.Host = host);

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "forbidden", "is not this API's own name");
        Assert.Equal(1, Host.Refusals("host"));
    }

    [Theory]
    [InlineData("127.0.0.1:{port}")]
    [InlineData("localhost:{port}")]
    [InlineData("LOCALHOST:{port}")]
    [InlineData("[::1]:{port}")]
    public async Task OwnHostNamesAreAccepted(string host)
    {
        using var response = await SendAsync(HttpMethod.Get, "id", null, WithToken, r => r.Headers.Host = host.Replace("{port}", Host.Port.ToString(), StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task UnlistedOriginIsForbiddenEvenWithTheTokenAndGetsNoCorsHeaders()
    {
        using var response = await SendAsync(HttpMethod.Get, "id", null, WithToken, Browser(Evil));

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "forbidden", "origin 'http://evil.example' is not in Api:AllowedOrigins");
        AssertNoCorsHeaders(response);
    }

    [Fact]
    public async Task ListedOriginWithTheTokenIsAnsweredWithCorsHeaders()
    {
        using var response = await SendAsync(HttpMethod.Get, "id", null, WithToken, Browser(Listed));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Listed, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Origin", response.Headers.Vary);
    }

    [Fact]
    public async Task ListedOriginStillNeedsTheTokenAndCanReadWhy()
    {
        using var response = await SendAsync(HttpMethod.Post, "dht/put", Json("""{"value":"x"}"""), Browser(Listed));

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "unauthorized", "api.token");
        Assert.Equal(Listed, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        await AssertNothingSignedAsync();
    }

    [Fact]
    public async Task PreflightOfAListedOriginIsAnswered()
    {
        using var response = await SendAsync(HttpMethod.Options, "dht/put", null, Browser(Listed), Preflight("POST", "authorization, content-type"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Listed, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(ApiGuard.AllowedMethods, response.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Equal(ApiGuard.AllowedHeaders, response.Headers.GetValues("Access-Control-Allow-Headers").Single());
    }

    [Fact]
    public async Task PreflightOfAnUnlistedOriginIsRefusedWithoutCorsHeaders()
    {
        using var response = await SendAsync(HttpMethod.Options, "dht/put", null, Browser(Evil), Preflight("POST", "content-type"));

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "forbidden", "not in Api:AllowedOrigins");
        AssertNoCorsHeaders(response);
    }

    [Theory]
    [InlineData("cross-site")]
    [InlineData("same-site")]
    public async Task CrossSiteFetchMetadataWithoutOriginIsForbidden(string site)
    {
        // An <img src> or a top-level navigation: no Origin header, but the browser says where it came from.
        using var response = await SendAsync(HttpMethod.Get, "id", null, WithToken, r => r.Headers.TryAddWithoutValidation("Sec-Fetch-Site", site));

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "forbidden", "Sec-Fetch-Site");
        Assert.Equal(1, Host.Refusals("origin"));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("same-origin")]
    public async Task UserInitiatedFetchMetadataIsAccepted(string site)
    {
        using var response = await SendAsync(HttpMethod.Get, "id", null, WithToken, r => r.Headers.TryAddWithoutValidation("Sec-Fetch-Site", site));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=xyz")]
    public async Task AddWithAFormContentTypeIsRefusedAndNothingIsStored(string contentType)
    {
        using var response = await SendAsync(HttpMethod.Post, "add", Body(contentType, "planted content"), WithToken);

        await AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type", "takes application/octet-stream");
        Assert.Equal(0, Host.Runtime.Store.Count);
    }

    [Fact]
    public async Task AddWithOctetStreamAndTheTokenIsStored()
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("my content"));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await SendAsync(HttpMethod.Post, "add", content, WithToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, Host.Runtime.Store.Count);
    }

    [Theory]
    [InlineData("ping?addr=127.0.0.1:9")]
    [InlineData("fetch/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")]
    [InlineData("add")]
    public async Task PostsWithoutTheTokenAreRefused(string path)
    {
        using var response = await SendAsync(HttpMethod.Post, path, null);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "unauthorized", "api.token");
        Assert.Equal(0, Host.Runtime.Dht.GetStatistics().RequestsSent);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("status")]
    [InlineData("peers")]
    [InlineData("dht/find-node/0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("dht/get/0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("dht/providers/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")]
    [InlineData("cat/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")]
    [InlineData("no/such/route")]
    public async Task GetsWithoutTheTokenAreRefused(string path)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "unauthorized", "api.token");
    }

    [Fact]
    public async Task BodylessPostWithABodyIsRefused()
    {
        using var typed = await SendAsync(HttpMethod.Post, "ping?addr=127.0.0.1:9", Body("text/plain", "x"), WithToken);
        using var untyped = await SendAsync(HttpMethod.Post, "ping?addr=127.0.0.1:9", new ByteArrayContent([1, 2, 3]), WithToken);

        await AssertErrorAsync(typed, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type", "takes no body");
        await AssertErrorAsync(untyped, HttpStatusCode.RequestEntityTooLarge, "too_large", "takes no body");
        Assert.Equal(0, Host.Runtime.Dht.GetStatistics().RequestsSent);
    }

    [Fact]
    public async Task PutWithADeclaredLengthOverTheLimitIsRefusedUnread()
    {
        var value = new string('a', (int)ApiRoutePolicy.RecordBodyBytes);
        using var response = await SendAsync(HttpMethod.Post, "dht/put", Json($$"""{"value":"{{value}}"}"""), WithToken);

        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "too_large", "at most 16384 bytes");
        Assert.Equal(1, Host.Refusals("body-size"));
    }

    [Fact]
    public async Task ChunkedPutOverTheLimitIsStoppedWhileReading()
    {
        // No Content-Length: the guard cannot refuse it unread, so Kestrel stops the handler's read at the limit.
        using var content = new StreamContent(new PatternStream(1024 * 1024, """{"value":"""u8.ToArray()));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await SendAsync(HttpMethod.Post, "dht/put", content, WithToken, r => r.Headers.TransferEncodingChunked = true);

        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "too_large", "dht/put");
        Assert.Equal(1, Host.Refusals("body-size"));
        await AssertNothingSignedAsync();
    }

    /// <summary>Gets a setup that adds the token, as the CLI does.</summary>
    private Action<HttpRequestMessage> WithToken => request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Host.Token);

    private static Action<HttpRequestMessage> Browser(string origin) => request =>
    {
        request.Headers.TryAddWithoutValidation("Origin", origin);
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site");
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Mode", "no-cors");
    };

    private static Action<HttpRequestMessage> Preflight(string method, string headers) => request =>
    {
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", method);
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", headers);
    };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static ByteArrayContent Body(string contentType, string text)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    private static void AssertNoCorsHeaders(HttpResponseMessage response)
    {
        var names = response.Headers.Select(h => h.Key).Concat(response.Content.Headers.Select(h => h.Key));
        Assert.DoesNotContain(names, n => n.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string message)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        var error = System.Text.Json.JsonSerializer.Deserialize<ErrorResponse>(body, ApiErrorHandler.JsonOptions)!;
        Assert.Equal(code, error.Code);
        Assert.Contains(message, error.Error, StringComparison.Ordinal);
    }

    private NodeId MutableKey() => DhtRecord.MutableKey(Host.Runtime.Identity.PublicKey.Span, []);

    /// <summary>Asserts that the node published no record under its own mutable key (empty salt): nothing was signed.</summary>
    private async Task AssertNothingSignedAsync()
    {
        using var response = await Host.Http.GetAsync($"dht/get/{MutableKey()}");
        await AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found", "no record");
    }

    private async Task<Cid> AddLocalFileAsync()
    {
        var imported = await UnixFsImporter.ImportAsync(new MemoryStream("secret file"u8.ToArray()), Host.Runtime.Store, Host.Runtime.Settings.Storage.ToImportOptions());
        return imported.Root;
    }

    /// <summary>Sends a request with no token and no extra header unless <paramref name="setups"/> add them.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, params Action<HttpRequestMessage>[] setups)
    {
        using var client = Host.NewClient();
        using var request = new HttpRequestMessage(method, path) { Content = content };
        foreach (var setup in setups)
        {
            setup(request);
        }

        return await client.SendAsync(request);
    }
}
