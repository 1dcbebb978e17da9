using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Overlay.Kademlia;
using Overlay.Node.Daemon;
using Xunit.Abstractions;

namespace Overlay.Node.Tests;

/// <summary>
/// A real browser (Debian's chromium, driven by Playwright, headless) visits an attacker's page on another origin
/// (127.0.0.1, another port) that tries to make the node sign, add and reveal its identity, the ways a page can:
/// a no-cors text/plain fetch, a JSON fetch (preflighted), a fetch reading <c>id</c>, and auto-submitted
/// <c>enctype=text/plain</c> forms to dht/put and add. Then a page on a listed origin, given the token, uses the API
/// (so the refusals above are the server's, not a browser that cannot reach it). The server's refusal counter shows
/// that each attack reached the API and was refused there.
/// </summary>
public sealed class ApiBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private WebApplication? _attacker;
    private WebApplication? _friend;
    private ApiTestHost? _api;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing: this test drives Debian's chromium (apt-get install -y chromium; .ci/run installs it)");
        }

        _attacker = await StartSiteAsync(AttackerPage);
        _friend = await StartSiteAsync(FriendPage);
        _api = await ApiTestHost.StartAsync(new Dictionary<string, string?> { ["Api:AllowedOrigins:0"] = Url(_friend) });
        _playwright = await Playwright.CreateAsync();
        try
        {
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Args = ["--no-sandbox"],
                Headless = true,
                Timeout = (float)Bound.TotalMilliseconds,
            });
        }
        catch (PlaywrightException ex)
        {
            throw new InvalidOperationException($"chromium at {Chromium} did not launch under Playwright: {ex.Message}", ex);
        }
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        foreach (var site in new[] { _attacker, _friend })
        {
            if (site is not null)
            {
                await site.StopAsync();
                await site.DisposeAsync();
            }
        }

        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    [Fact]
    public async Task AttackerPageCannotSignAddOrRead_AndAListedPageWithTheTokenCan()
    {
        var api = _api!;
        var page = await _browser!.NewPageAsync();
        page.SetDefaultTimeout((float)Bound.TotalMilliseconds);
        await page.GotoAsync(Url(_attacker!) + "/");

        var fetches = await page.EvaluateAsync<JsonElement>("api => attack(api)", api.Url).WaitAsync(Bound);
        var forms = await page.EvaluateAsync<int>("api => submitForms(api)", api.Url).WaitAsync(Bound);
        output.WriteLine($"attacker page: {fetches}; forms loaded {forms}; refusals: origin {api.Refusals("origin")}, token {api.Refusals("token")}, content-type {api.Refusals("content-type")}, host {api.Refusals("host")}");

        // The page learnt nothing: the CORS fetches failed (no Access-Control-Allow-Origin), the no-cors one is opaque.
        Assert.StartsWith("error:", fetches.GetProperty("readId").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("error:", fetches.GetProperty("corsPut").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(api.Runtime.Dht.Id.ToString(), fetches.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, forms);

        // The node did nothing: no record signed under its key, no block stored, no datagram sent.
        using (var get = await api.Http.GetAsync($"dht/get/{DhtRecord.MutableKey(api.Runtime.Identity.PublicKey.Span, [])}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }

        Assert.Equal(0, api.Runtime.Store.Count);
        Assert.Equal(0, api.Runtime.Dht.GetStatistics().RequestsSent);

        // Our server refused each: the no-cors put, the preflight, the id read and the two forms all carried the
        // attacker's Origin (the browser did not block them before they reached the API).
        Assert.True(api.Refusals("origin") >= 5, $"expected at least 5 origin refusals, got {api.Refusals("origin")}");
        Assert.Equal(api.Refusals("origin"), api.TotalRefusals());

        // A page on the listed origin, given the token, signs a record and reads the answer.
        var friendly = await _browser.NewPageAsync();
        friendly.SetDefaultTimeout((float)Bound.TotalMilliseconds);
        await friendly.GotoAsync(Url(_friend!) + "/");
        var used = await friendly.EvaluateAsync<JsonElement>("([api, token]) => use(api, token)", new[] { api.Url, api.Token }).WaitAsync(Bound);
        output.WriteLine($"listed page: {used}");

        Assert.Equal(200, used.GetProperty("put").GetInt32());
        Assert.Equal(api.Runtime.Dht.Id.ToString(), used.GetProperty("id").GetString());
        Assert.Equal(401, used.GetProperty("withoutToken").GetInt32());
    }

    private static string Url(WebApplication app) => NodeHost.ListeningUrl(app)!;

    /// <summary>Starts a tiny site on 127.0.0.1 (any free port: another origin than the API) serving one page at <c>/</c>.</summary>
    private static async Task<WebApplication> StartSiteAsync(string html)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8"));
        await app.StartAsync();
        return app;
    }

    private const string AttackerPage = """
        <!doctype html>
        <html><body>
        <iframe name="f1"></iframe><iframe name="f2"></iframe>
        <script>
        async function attack(api) {
          const results = {};
          const pwned = JSON.stringify({ value: 'pwned', mutable: true });
          try {
            const r = await fetch(api + '/api/v0/dht/put', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: pwned });
            results.noCorsPut = 'opaque:' + r.type + ':' + r.status;
          } catch (e) { results.noCorsPut = 'error:' + e; }
          try {
            const r = await fetch(api + '/api/v0/dht/put', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: pwned });
            results.corsPut = 'status:' + r.status + ':' + await r.text();
          } catch (e) { results.corsPut = 'error:' + e; }
          try {
            const r = await fetch(api + '/api/v0/id');
            results.readId = 'status:' + r.status + ':' + await r.text();
          } catch (e) { results.readId = 'error:' + e; }
          return results;
        }
        function submitForms(api) {
          // enctype=text/plain sends 'name=value': the name carries a JSON object whose last field swallows the '='.
          document.body.insertAdjacentHTML('beforeend',
            '<form id="put" method="POST" target="f1" enctype="text/plain" action="' + api + '/api/v0/dht/put">' +
            '<input name=\'{"value":"pwned","mutable":true,"x":"\' value=\'"}\'></form>' +
            '<form id="add" method="POST" target="f2" enctype="text/plain" action="' + api + '/api/v0/add">' +
            '<input name="planted" value="content"></form>');
          return new Promise(resolve => {
            let loaded = 0;
            for (const frame of document.querySelectorAll('iframe')) {
              frame.addEventListener('load', () => { if (++loaded === 2) resolve(loaded); });
            }
            document.getElementById('put').submit();
            document.getElementById('add').submit();
          });
        }
        </script>
        </body></html>
        """;

    private const string FriendPage = """
        <!doctype html>
        <html><body>
        <script>
        async function use(api, token) {
          const put = await fetch(api + '/api/v0/dht/put', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token },
            body: JSON.stringify({ value: 'from a listed page' }) });
          const id = await (await fetch(api + '/api/v0/id', { headers: { 'Authorization': 'Bearer ' + token } })).json();
          const withoutToken = await fetch(api + '/api/v0/id');
          return { put: put.status, id: id.id, withoutToken: withoutToken.status };
        }
        </script>
        </body></html>
        """;
}
