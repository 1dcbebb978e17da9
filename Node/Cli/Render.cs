using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Overlay.Node.Cli;

/// <summary>Human output helpers: Spectre tables whose cells are plain text (never parsed as markup).</summary>
internal static class Render
{
    /// <summary>Builds a two-column table of fields and values.</summary>
    /// <param name="rows">Field name and value pairs, in display order.</param>
    /// <returns>The table.</returns>
    public static Table Fields(params (string Field, string? Value)[] rows)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Field").AddColumn("Value").HideHeaders();
        foreach (var (field, value) in rows)
        {
            table.AddRow(new Text(field, new Style(decoration: Decoration.Bold)), new Text(value ?? "-"));
        }

        return table;
    }

    /// <summary>Builds a table with the given columns.</summary>
    /// <param name="columns">Column headers.</param>
    /// <param name="rows">Rows; each has one cell per column.</param>
    /// <returns>The table.</returns>
    public static Table Rows(string[] columns, IEnumerable<string?[]> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(column);
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(cell => (IRenderable)new Text(cell ?? "-")).ToArray());
        }

        return table;
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
}
