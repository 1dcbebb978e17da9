using Overlay.Node.Cli;

namespace Overlay.Node.Tests;

/// <summary>The terminal form of tables, in process: an 80-column terminal never splits an ID.</summary>
public sealed class RenderTests
{
    [Fact]
    public void TerminalTable_At80Columns_KeepsEveryIdOnOneLine()
    {
        var random = new Random(7);
        var rows = Enumerable.Range(0, 5).Select(_ => new[] { Hex(random), "127.0.0.1:47001", Hex(random) }).ToList();
        var (context, stdout) = Terminal();

        Render.Write(context, Render.Rows(["ID", "Endpoint", "Distance"], rows).WithCaption("5 closest"));

        var text = stdout.ToString();
        Assert.Contains("╭", text, StringComparison.Ordinal);
        Assert.All(rows.SelectMany(r => new[] { r[0], r[2] }), id => Assert.Contains(id, text, StringComparison.Ordinal));
    }

    [Fact]
    public void TerminalFields_At80Columns_KeepEveryIdAndCidOnOneLine()
    {
        var random = new Random(8);
        var id = Hex(random);
        var cid = Overlay.Storage.Cid.Compute(Overlay.Storage.Cid.DagPbCodec, "x"u8).ToString();
        var (context, stdout) = Terminal();

        Render.Write(context, Render.Fields(("ID", id), ("CID", cid), ("Public key", Convert.ToBase64String(new byte[32])), ("Uptime", "00:01:02")));

        Assert.Contains(id, stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains(cid, stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void PipedTable_IsTabSeparatedRecords_WithNoHeaderOrBorder()
    {
        using var stdout = new StringWriter();
        var context = new CliContext(false, () => throw new InvalidOperationException("no API in this test"), stdout, TextWriter.Null, stdoutIsTerminal: false, stderrIsTerminal: false);

        Render.Write(context, Render.Rows(["ID", "Endpoint"], [["a", "b"], ["c", null]]).WithCaption("2 contacts"));

        Assert.Equal("a\tb\nc\t-\n", stdout.ToString().ReplaceLineEndings("\n"));
    }

    private static (CliContext Context, StringWriter StdOut) Terminal()
    {
        var stdout = new StringWriter();
        var context = new CliContext(false, () => throw new InvalidOperationException("no API in this test"), stdout, TextWriter.Null, stdoutIsTerminal: true, stderrIsTerminal: false);
        context.Out.Profile.Width = 80;
        return (context, stdout);
    }

    private static string Hex(Random random)
    {
        var bytes = new byte[32];
        random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
