using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Overlay.Node.Cli;

/// <summary>
/// Human output: builds <see cref="TextTable"/>s and writes them. On a terminal: a Spectre table whose cells are plain
/// text (never markup), ID-like columns never wrapped, and the console at least as wide as the longest unbreakable cell
/// of each column needs, so a 64-hex ID or a CID is never split across lines. Through a pipe or into a file: one
/// record per line, cells separated by a tab, no borders, header or caption (fields as "Field&lt;TAB&gt;value"), so
/// <c>overlay peers | cut -f1</c> and grep see whole IDs.
/// </summary>
internal static class Render
{
    /// <summary>Columns that hold identifiers (never wrapped on a terminal).</summary>
    private static readonly HashSet<string> IdColumns = new(StringComparer.Ordinal) { "ID", "CID", "Key", "Distance", "Endpoint" };

    /// <summary>Builds a field/value list.</summary>
    /// <param name="rows">Field name and value pairs, in display order; a null value prints as "-".</param>
    /// <returns>The table.</returns>
    public static TextTable Fields(params (string Field, string? Value)[] rows) =>
        new(["Field", "Value"], rows.Select(r => new[] { r.Field, r.Value }).ToArray(), IsFields: true);

    /// <summary>Builds a table with the given columns.</summary>
    /// <param name="columns">Column headers.</param>
    /// <param name="rows">Rows; each has one cell per column.</param>
    /// <returns>The table.</returns>
    public static TextTable Rows(string[] columns, IEnumerable<string?[]> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        return new TextTable(columns, rows.ToArray(), IsFields: false);
    }

    /// <summary>Writes a table to the context's stdout: a Spectre table when stdout is a terminal, else tab-separated lines.</summary>
    /// <param name="context">The CLI context.</param>
    /// <param name="table">The table.</param>
    public static void Write(CliContext context, TextTable table)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(table);
        if (!context.StdoutIsTerminal)
        {
            foreach (var row in table.Rows)
            {
                context.StdOut.WriteLine(string.Join('\t', row.Select(Plain)));
            }

            context.StdOut.Flush();
            return;
        }

        var spectre = new Table().Border(TableBorder.Rounded);
        var nowrap = new bool[table.Columns.Count];
        for (var c = 0; c < table.Columns.Count; c++)
        {
            nowrap[c] = table.IsFields ? c == 1 && table.Rows.All(r => Unbreakable(r[c])) : IdColumns.Contains(table.Columns[c]);
            var column = new TableColumn(table.Columns[c]);
            if (nowrap[c])
            {
                column.NoWrap();
            }

            spectre.AddColumn(column);
        }

        if (table.IsFields)
        {
            spectre.HideHeaders();
        }

        foreach (var row in table.Rows)
        {
            spectre.AddRow(row.Select((cell, c) => (IRenderable)new Text(cell ?? "-", c == 0 && table.IsFields ? new Style(decoration: Decoration.Bold) : Style.Plain)).ToArray());
        }

        if (table.Caption is { } caption)
        {
            spectre.Caption(Markup.Escape(caption));
        }

        // Border and padding: one '│' per column plus one, and one space either side of each cell.
        var needed = 1 + table.Columns.Select((_, c) => 3 + Math.Max(table.Columns[c].Length, table.Rows.Select(r => NeededWidth(r[c], nowrap[c])).DefaultIfEmpty(1).Max())).Sum();
        context.Out.Profile.Width = Math.Max(context.Out.Profile.Width, needed);
        context.Out.Write(spectre);
    }

    /// <summary>Formats a byte count with binary units, e.g. "1.5 MiB (1572864 bytes)".</summary>
    /// <param name="bytes">The count.</param>
    /// <returns>The text.</returns>
    public static string Bytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.##} {units[unit]} ({bytes} bytes)");
    }

    /// <summary>Formats milliseconds, e.g. "12.3 ms" or "4.56 s".</summary>
    /// <param name="milliseconds">The duration, milliseconds.</param>
    /// <returns>The text.</returns>
    public static string Millis(double milliseconds) =>
        milliseconds < 1000
            ? string.Create(CultureInfo.InvariantCulture, $"{milliseconds:0.0} ms")
            : string.Create(CultureInfo.InvariantCulture, $"{milliseconds / 1000:0.00} s");

    /// <summary>Formats an instant as ISO 8601 UTC to the second.</summary>
    /// <param name="instant">The instant.</param>
    /// <returns>The text.</returns>
    public static string Instant(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Formats an integer with invariant culture.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A cell for tab-separated output: "-" for null, tabs and line breaks folded to spaces.</summary>
    private static string Plain(string? cell) => cell is null ? "-" : cell.Replace('\t', ' ').ReplaceLineEndings(" ");

    /// <summary>Whether a cell has no space to wrap at (an ID, a CID, a number with its unit is not).</summary>
    private static bool Unbreakable(string? cell) => cell is null || !cell.Contains(' ', StringComparison.Ordinal);

    /// <summary>Width a cell needs unsplit: all of it when its column never wraps, else its longest word.</summary>
    private static int NeededWidth(string? cell, bool nowrap) =>
        cell is null ? 1 : nowrap ? cell.Length : cell.Split(' ').Max(word => word.Length);
}
