using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Overlay.Bench.Micro;

/// <summary>
/// The micro-benchmark configuration: one short in-process job (no per-benchmark project build, so the whole suite
/// runs in about 3 minutes on 2 cores; `--quick` in well under one), memory diagnoser, median column, GitHub markdown.
/// </summary>
internal static class MicroConfig
{
    /// <summary>Builds the configuration.</summary>
    /// <param name="quick">Fewer and shorter iterations, for a smoke run.</param>
    /// <param name="artifacts">Folder BenchmarkDotNet writes its reports to.</param>
    public static IConfig Create(bool quick, string artifacts)
    {
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(quick ? 1 : 3)
            .WithIterationCount(quick ? 3 : 7)
            .WithIterationTime(TimeInterval.FromMilliseconds(quick ? 100 : 250))
            .WithId(quick ? "Quick" : "Short");
        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median)
            .AddExporter(MarkdownExporter.GitHub)
            .AddLogger(ConsoleLogger.Default)
            .WithArtifactsPath(artifacts)
            .WithOptions(ConfigOptions.DisableLogFile);
    }
}
