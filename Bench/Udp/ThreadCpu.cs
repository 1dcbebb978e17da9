using System.Globalization;
using System.Runtime.InteropServices;

namespace Overlay.Bench.Udp;

/// <summary>
/// Per-thread CPU time from /proc (schedstat: nanoseconds on CPU), the poor man's profiler of the RPC benchmark: it
/// tells whether the node's receive thread or the load generator is the bottleneck of a run.
/// </summary>
internal static partial class ThreadCpu
{
    /// <summary>Returns the calling thread's kernel thread id.</summary>
    public static int CurrentThreadId() => Gettid();

    /// <summary>Returns nanoseconds on CPU of every thread of process <paramref name="pid"/> (this process when 0), by thread id.</summary>
    public static Dictionary<int, long> Snapshot(int pid = 0)
    {
        var root = pid == 0 ? "/proc/self/task" : $"/proc/{pid}/task";
        var result = new Dictionary<int, long>();
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(dir, "schedstat"));
                var ns = long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
                result[int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture)] = ns;
            }
            catch (IOException)
            {
                // The thread ended between listing and reading.
            }
        }

        return result;
    }

    /// <summary>Returns nanoseconds on CPU of the calling thread (its /proc schedstat).</summary>
    public static long CurrentThreadNanoseconds()
    {
        var text = File.ReadAllText("/proc/thread-self/schedstat");
        return long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
    }

    /// <summary>Returns the CPU nanoseconds each thread spent between two snapshots, largest first.</summary>
    public static List<(int Tid, long Nanoseconds)> Delta(Dictionary<int, long> before, Dictionary<int, long> after) =>
        after.Select(a => (a.Key, a.Value - before.GetValueOrDefault(a.Key))).OrderByDescending(d => d.Item2).ToList();

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int Gettid();
}
