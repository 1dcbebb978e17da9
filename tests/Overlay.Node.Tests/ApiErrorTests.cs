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
    [InlineData((int)ApiError.Unauthorized, "unauthorized", 401, ExitCodes.Refused)]
    [InlineData((int)ApiError.Forbidden, "forbidden", 403, ExitCodes.Refused)]
    [InlineData((int)ApiError.UnsupportedMediaType, "unsupported_media_type", 415, ExitCodes.Usage)]
    [InlineData((int)ApiError.TooLarge, "too_large", 413, ExitCodes.Usage)]
    [InlineData((int)ApiError.Refused, "refused", 409, ExitCodes.Refused)]
    [InlineData((int)ApiError.NoAnswer, "no_answer", 504, ExitCodes.Failure)]
    [InlineData((int)ApiError.CorruptBlock, "corrupt_block", 500, ExitCodes.Failure)]
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
        Assert.Equal(new CliError("bad", ExitCodes.Usage, "usage"), CliApp.Describe(new ConfigException("bad")));
        Assert.Equal(new CliError("x", ExitCodes.Usage, "bad_request"), CliApp.Describe(new ApiException(ApiError.BadRequest, "x")));
        Assert.Equal(new CliError("gone", ExitCodes.NotFound, "not_found"), CliApp.Describe(new CliException(ExitCodes.NotFound, "gone")));
        Assert.Equal(new CliError("no", ExitCodes.Refused, "refused"), CliApp.Describe(new CliException(ExitCodes.Refused, "no")));
        Assert.Equal(new CliError("disk", ExitCodes.Failure, "io"), CliApp.Describe(new IOException("disk")));
        Assert.Equal(ExitCodes.Failure, CliApp.Describe(new HttpRequestException("reset"))!.ExitCode);
        Assert.DoesNotContain("System.", CliApp.Describe(new JsonException("bad"))!.Message, StringComparison.Ordinal);
        Assert.Null(CliApp.Describe(new InvalidOperationException("bug")));
    }

    [Fact]
    public void AnUnexpectedExceptionIsOneLineWithoutItsTypeName()
    {
        var error = CliApp.Unexpected(new InvalidOperationException("the bug"));

        Assert.Equal(ExitCodes.Failure, error.ExitCode);
        Assert.Equal("internal", error.Code);
        Assert.Equal("unexpected failure: the bug (set OVERLAY_DEBUG=1 for details)", error.Message);
    }

    [Fact]
    public async Task JsonErrorIsOneObjectOnStdoutAndNothingOnStderr()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        await new CliError("'x' isn't \"it\"", ExitCodes.NotFound, "not_found").WriteAsync(json: true, stdout, stderr);

        Assert.Equal(string.Empty, stderr.ToString());
        var line = Assert.Single(stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var document = JsonDocument.Parse(line);
        Assert.Equal("'x' isn't \"it\"", document.RootElement.GetProperty("error").GetString());
        Assert.Equal("not_found", document.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public void ArgumentExceptionMessagesLoseTheirParameterName()
    {
        Assert.Equal("A salt is at most 64 bytes; got 70.", ApiInput.WithoutParameterName(new ArgumentException("A salt is at most 64 bytes; got 70.", "salt")));
        Assert.Equal("plain", ApiInput.WithoutParameterName(new ArgumentException("plain")));
    }

    [Fact]
    public void RefusalsAreDescribedInWordsWithTheNextSequence()
    {
        var one = new Dictionary<Overlay.Kademlia.StoreRefusal, int> { [Overlay.Kademlia.StoreRefusal.StaleSequence] = 6 };
        var two = new Dictionary<Overlay.Kademlia.StoreRefusal, int> { [Overlay.Kademlia.StoreRefusal.StaleSequence] = 5, [Overlay.Kademlia.StoreRefusal.BadToken] = 1 };

        Assert.Equal("stale sequence (a record with sequence 3 is stored; use --seq 4 or omit --seq)", StoreRefusals.Describe(one, storedSequence: 3));
        Assert.Equal("stale sequence (a record with sequence ≥ 2 is stored; use a higher --seq or omit --seq)", StoreRefusals.Describe(one, triedSequence: 2));
        Assert.StartsWith("5 stale sequence (", StoreRefusals.Describe(two), StringComparison.Ordinal);
        Assert.Contains(", 1 bad token (", StoreRefusals.Describe(two), StringComparison.Ordinal);
        Assert.Equal(new Dictionary<string, int> { ["bad_token"] = 1, ["stale_sequence"] = 5 }, StoreRefusals.ByCode(two));
    }

    [Fact]
    public void StreamFailuresAreBoundedAndClearedBySuccess()
    {
        var failures = new StreamFailures();
        var cids = Enumerable.Range(0, StreamFailures.Capacity + 1).Select(i => Overlay.Storage.Cid.Compute(Overlay.Storage.Cid.RawCodec, BitConverter.GetBytes(i))).ToList();
        foreach (var cid in cids)
        {
            failures.Record(cid, $"broke {cid}");
        }

        Assert.Null(failures.Get(cids[0]));
        Assert.Equal($"broke {cids[^1]}", failures.Get(cids[^1]));
        failures.Clear(cids[^1]);
        Assert.Null(failures.Get(cids[^1]));
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
