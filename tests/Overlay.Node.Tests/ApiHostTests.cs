using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Node.Api;
using Overlay.Node.Configuration;
using Overlay.Node.Daemon;
using Overlay.Storage;

namespace Overlay.Node.Tests;

/// <summary>
/// The API pipeline on a real Kestrel listener on 127.0.0.1 (port 0), over a real runtime whose DHT is not started:
/// only routes that do not need the DHT's answers are exercised (identity, input errors, local content). Requests
/// carry the token, as the CLI's do; ApiGuardTests covers requests that do not.
/// </summary>
public sealed class ApiHostTests : IAsyncLifetime
{
    private ApiTestHost? _host;

    private NodeRuntime Runtime => _host!.Runtime;

    private HttpClient Http => _host!.Http;

    public async Task InitializeAsync() => _host = await ApiTestHost.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task IdAnswersCamelCaseJson()
    {
        using var response = await Http.GetAsync("id");
        var json = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(Runtime.Dht.Id.ToString(), document.RootElement.GetProperty("id").GetString());
        Assert.Equal(Convert.ToBase64String(Runtime.Identity.PublicKey.Span), document.RootElement.GetProperty("publicKey").GetString());
        Assert.Equal(Runtime.EndPoint.ToString(), document.RootElement.GetProperty("endpoint").GetString());
        Assert.Equal(Runtime.ApiUrl, document.RootElement.GetProperty("apiUrl").GetString());
    }

    [Theory]
    [InlineData("GET", "cat/xyz", 400, "bad_request", "'xyz' is not a CID: multibase prefix 'x' is not supported")]
    [InlineData("POST", "fetch/xyz", 400, "bad_request", "'xyz' is not a CID: multibase prefix 'x' is not supported")]
    [InlineData("GET", "dht/providers/Qm123", 400, "bad_request", "'Qm123' is not a CID: a CIDv0 is 46 base58 characters starting with Qm, and this has 5")]
    [InlineData("GET", "dht/find-node/abc", 400, "bad_request", "'abc' is not a node ID")]
    [InlineData("GET", "dht/get/abc", 400, "bad_request", "'abc' is not a key")]
    [InlineData("POST", "ping?addr=nonsense", 400, "bad_request", "'nonsense' is not host:port")]
    [InlineData("POST", "ping", 400, "bad_request", "HOST:PORT is required")]
    [InlineData("GET", "no/such/route", 404, "not_found", "no API route GET /api/v0/no/such/route")]
    [InlineData("GET", "cat/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", 404, "not_found", "not complete in the local store")]
    public async Task BadInputAnswersAnErrorBody(string method, string path, int status, string code, string message)
    {
        using var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var error = await response.Content.ReadFromJsonAsync<ErrorResponse>(ApiErrorHandler.JsonOptions);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, error!.Code);
        Assert.Contains(message, error.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "malformed JSON body")]
    [InlineData("null", "must be a JSON object")]
    [InlineData("""{"mutable":false}""", "exactly one of 'value'")]
    [InlineData("""{"value":"x","salt":"s"}""", "apply only to mutable records")]
    [InlineData("""{"valueBase64":"%%%"}""", "'valueBase64' is not base64")]
    public async Task MalformedPutIsBadRequestBeforeTheDht(string body, string message)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync("dht/put", content);
        var error = await response.Content.ReadFromJsonAsync<ErrorResponse>(ApiErrorHandler.JsonOptions);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("bad_request", error!.Code);
        Assert.Contains(message, error.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(25_000)]
    public async Task CatStreamsLocalContentWithItsLength(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var imported = await UnixFsImporter.ImportAsync(new MemoryStream(data), Runtime.Store, Runtime.Settings.Storage.ToImportOptions());

        using var response = await Http.GetAsync($"cat/{imported.Root}");
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(length, response.Content.Headers.ContentLength);
        Assert.Equal(data, body);
    }

    [Fact]
    public async Task FetchOfCompleteLocalContentNeedsNoProviders()
    {
        var data = new byte[4321];
        new Random(7).NextBytes(data);
        var imported = await UnixFsImporter.ImportAsync(new MemoryStream(data), Runtime.Store, Runtime.Settings.Storage.ToImportOptions());

        using var response = await Http.PostAsync($"fetch/{imported.Root}", null);
        var fetched = await response.Content.ReadFromJsonAsync<FetchResponse>(ApiErrorHandler.JsonOptions);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(imported.Root.ToString(), fetched!.Cid);
        Assert.Equal(4321, fetched.Size);
        Assert.Equal(0, fetched.Blocks);
        Assert.Equal(0, fetched.Providers);
    }

    [Fact]
    public async Task CatOfNonFileContentIsBadContent()
    {
        // A valid dag-pb node of UnixFS type Directory: complete locally, but not a file.
        byte[] block = [0x0a, 0x02, 0x08, 0x01];
        var cid = Cid.Compute(Cid.DagPbCodec, block);
        await Runtime.Store.PutAsync(cid, block);

        using var response = await Http.GetAsync($"cat/{cid}");
        var error = await response.Content.ReadFromJsonAsync<ErrorResponse>(ApiErrorHandler.JsonOptions);

        Assert.Equal(422, (int)response.StatusCode);
        Assert.Equal("bad_content", error!.Code);
    }
}
