using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Node.Api;
using Overlay.Node.Cli;
using Overlay.Node.Configuration;

namespace Overlay.Node.Tests;

public sealed class ApiErrorTests
{
    [Theory]
    [InlineData((int)ApiError.BadRequest, "bad_request", 400, ExitCodes.Usage)]
    [InlineData((int)ApiError.NotFound, "not_found", 404, ExitCodes.NotFound)]
    [InlineData((int)ApiError.NoProviders, "no_providers", 404, ExitCodes.NotFound)]
    [InlineData((int)ApiError.FetchFailed, "fetch_failed", 502, ExitCodes.Failure)]
    [InlineData((int)ApiError.BadContent, "bad_content", 422, ExitCodes.Failure)]
    [InlineData((int)ApiError.Internal, "internal", 500, ExitCodes.Failure)]
    [InlineData((int)ApiError.Refused, "refused", 409, ExitCodes.Refused)]
    [InlineData((int)ApiError.NoAnswer, "no_answer", 504, ExitCodes.Failure)]
    public void EachErrorHasOneCodeStatusAndExitCode(int errorValue, string code, int status, int exitCode)
    {
        var error = (ApiError)errorValue;
        Assert.Equal(code, ApiErrors.Code(error));
        Assert.Equal(status, ApiErrors.Status(error));
        Assert.Equal(exitCode, ApiErrors.ExitCode(ApiErrors.Code(error)));
    }

    [Fact]
    public void UnknownCodesExitWithFailure()
    {
        Assert.Equal(ExitCodes.Failure, ApiErrors.ExitCode("something_new"));
        Assert.Equal(ExitCodes.Failure, ApiErrors.ExitCode(null));
    }

    [Fact]
    public async Task ApiExceptionBecomesItsStatusAndJsonBody()
    {
        var context = NewContext();

        await ApiErrorHandler.InvokeAsync(context, _ => throw new ApiException(ApiError.NoProviders, "no providers for bafy\nsecond line"), NullLogger.Instance);

        Assert.Equal(404, context.Response.StatusCode);
        var body = ReadBody(context);
        Assert.Equal("no providers for bafy second line", body.GetProperty("error").GetString());
        Assert.Equal("no_providers", body.GetProperty("code").GetString());
    }

    [Fact]
    public async Task UnexpectedExceptionBecomesInternal500()
    {
        var context = NewContext();

        await ApiErrorHandler.InvokeAsync(context, _ => throw new InvalidOperationException("unexpected failure"), NullLogger.Instance);

        Assert.Equal(500, context.Response.StatusCode);
        var body = ReadBody(context);
        Assert.Equal("internal", body.GetProperty("code").GetString());
        Assert.Contains("InvalidOperationException: unexpected failure", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedJsonBodyBecomesBadRequest()
    {
        var context = NewContext();

        await ApiErrorHandler.InvokeAsync(context, _ => throw new JsonException("unexpected end"), NullLogger.Instance);

        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal("bad_request", ReadBody(context).GetProperty("code").GetString());
    }

    [Fact]
    public async Task SuccessPassesThroughUntouched()
    {
        var context = NewContext();

        await ApiErrorHandler.InvokeAsync(context, c => { c.Response.StatusCode = 201; return Task.CompletedTask; }, NullLogger.Instance);

        Assert.Equal(201, context.Response.StatusCode);
        Assert.Equal(0, context.Response.Body.Length);
    }

    [Theory]
    [InlineData("xyz", "multibase prefix 'x' is not supported")]
    [InlineData("", "the string is empty")]
    [InlineData("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd", "a CIDv0 is 46 base58 characters starting with Qm")]
    public void BadCidIsBadRequestQuotingTheInput(string text, string reason)
    {
        var ex = Assert.Throws<ApiException>(() => ApiInput.ParseCid(text));

        Assert.Equal(ApiError.BadRequest, ex.Error);
        Assert.StartsWith($"'{text}' is not a CID: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CidV0IsReadAsItsCidV1()
    {
        Assert.Equal("bafybeie5nqv6kd3qnfjupgvz34woh3oksc3iau6abmyajn7qvtf6d2ho34", ApiInput.ParseCid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG").ToString());
    }

    [Fact]
    public void GoodCidParses()
    {
        var cid = Overlay.Storage.Cid.Compute(Overlay.Storage.Cid.RawCodec, "hello"u8);
        Assert.Equal(cid, ApiInput.ParseCid(cid.ToString()));
    }

    [Theory]
    [InlineData("abc", "it has 3 characters")]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000", "not hexadecimal")]
    public void BadNodeIdSaysWhatIsWrong(string text, string reason)
    {
        var ex = Assert.Throws<ApiException>(() => ApiInput.ParseNodeId(text, "node ID"));

        Assert.Equal(ApiError.BadRequest, ex.Error);
        Assert.Contains($"'{text}' is not a node ID", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LongInputIsQuotedShortened()
    {
        var ex = Assert.Throws<ApiException>(() => ApiInput.ParseNodeId(new string('x', 500), "key"));

        Assert.True(ex.Message.Length < 250, ex.Message);
        Assert.Contains("…", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadHostPortIsBadRequest()
    {
        Assert.Equal(ApiError.BadRequest, Assert.Throws<ApiException>(() => ApiInput.ParseHostPort("nope")).Error);
        Assert.Equal(ApiError.BadRequest, Assert.Throws<ApiException>(() => ApiInput.ParseHostPort(null)).Error);
        Assert.Equal(new HostPort("127.0.0.1", 4001), ApiInput.ParseHostPort("127.0.0.1:4001"));
    }

    [Fact]
    public void PutValueNeedsExactlyOneForm()
    {
        Assert.Throws<ApiException>(() => NodeApi.DecodeValue(new PutRequest()));
        Assert.Throws<ApiException>(() => NodeApi.DecodeValue(new PutRequest { Value = "a", ValueBase64 = "YQ==" }));
        Assert.Equal(ApiError.BadRequest, Assert.Throws<ApiException>(() => NodeApi.DecodeValue(new PutRequest { ValueBase64 = "not base64!" })).Error);
        Assert.Equal("héllo"u8.ToArray(), NodeApi.DecodeValue(new PutRequest { Value = "héllo" }));
        Assert.Equal(new byte[] { 0xff, 0x00 }, NodeApi.DecodeValue(new PutRequest { ValueBase64 = "/wA=" }));
    }

    [Fact]
    public void RecordValueIsTextOnlyWhenValidUtf8()
    {
        Assert.Equal("héllo", NodeApi.TryDecodeUtf8("héllo"u8));
        Assert.Null(NodeApi.TryDecodeUtf8([0xff, 0xfe]));
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, """{"error":"no providers for bafy (asked 3 nodes in 1.0 s)","code":"no_providers"}""", ExitCodes.NotFound, "no providers for bafy (asked 3 nodes in 1.0 s)")]
    [InlineData(HttpStatusCode.BadRequest, """{"error":"'x' is not a CIDv1","code":"bad_request"}""", ExitCodes.Usage, "'x' is not a CIDv1")]
    [InlineData(HttpStatusCode.BadGateway, """{"error":"fetching failed","code":"fetch_failed"}""", ExitCodes.Failure, "fetching failed")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "<html>proxy</html>", ExitCodes.Failure, "HTTP 503")]
    public async Task ClientMapsErrorBodiesToExitCodes(HttpStatusCode status, string body, int exitCode, string message)
    {
        using var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

        var error = await ApiClient.ToErrorAsync(response);

        Assert.Equal(exitCode, error.ExitCode);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientReportsAnUnreachableDaemonWithExitCode4()
    {
        using var client = new ApiClient(new Uri("http://127.0.0.1:9/"), new RefusingHandler());

        var ex = await Assert.ThrowsAsync<CliException>(() => client.SendJsonAsync<IdResponse>(HttpMethod.Get, "id"));

        Assert.Equal(ExitCodes.DaemonUnreachable, ex.ExitCode);
        Assert.Equal("cannot reach the daemon at http://127.0.0.1:9: is `overlay node run` running?", ex.Message);
    }

    [Fact]
    public async Task ClientThrowsMappedErrorForAnErrorResponse()
    {
        using var client = new ApiClient(new Uri("http://127.0.0.1:9/"), new FixedHandler(HttpStatusCode.NotFound, """{"error":"no record for key 00","code":"not_found"}"""));

        var ex = await Assert.ThrowsAsync<CliException>(() => client.SendJsonAsync<RecordResponse>(HttpMethod.Get, "dht/get/00"));

        Assert.Equal(ExitCodes.NotFound, ex.ExitCode);
        Assert.Equal("no record for key 00", ex.Message);
    }

    [Fact]
    public void CliDescribesFailuresWithOneLineAndACode()
    {
        Assert.Equal(("bad", ExitCodes.Usage), CliApp.Describe(new ConfigException("bad")));
        Assert.Equal(("x", ExitCodes.Usage), CliApp.Describe(new ApiException(ApiError.BadRequest, "x")));
        Assert.Equal(("gone", ExitCodes.NotFound), CliApp.Describe(new CliException(ExitCodes.NotFound, "gone")));
        Assert.Equal(("disk", ExitCodes.Failure), CliApp.Describe(new IOException("disk")));
        Assert.Null(CliApp.Describe(new InvalidOperationException("bug")));
    }

    private static DefaultHttpContext NewContext()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/api/v0/test";
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static JsonElement ReadBody(HttpContext context)
    {
        context.Response.Body.Position = 0;
        using var document = JsonDocument.Parse(context.Response.Body);
        return document.RootElement.Clone();
    }

    private sealed class RefusingHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:9)");
    }

    private sealed class FixedHandler(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json"), RequestMessage = request });
    }
}
