package org.mtl4j.bench;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What one case measured: the timing samples of both sides (each the mean ms/step over one block), the
 * memory of each side, and the first-step losses that show both sides compute the same thing.
 *
 * @param name          the case name
 * @param params        the number of mtl4j parameters (the flat vector's length: DL4J's
 *                      {@code ComputationGraph.numParams()} counts layers only, not the mixing vertices)
 * @param baseParams    the number of baseline parameters (equal to {@code params}, or fewer by the mixing units)
 * @param blockSteps    steps per timed block
 * @param mtlMs         the mtl4j samples, ms/step, in the order taken
 * @param baselineMs    the baseline samples, ms/step, in the order taken
 * @param mtlCpuMs      the mtl4j side's CPU ms/step of the timing thread over the same blocks (NaN: unknown)
 * @param baseCpuMs     the baseline side's CPU ms/step of the timing thread over the same blocks
 * @param mtlFaults     the mtl4j side's minor page faults per timed step (-1: unknown)
 * @param baseFaults    the baseline side's minor page faults per timed step (-1: unknown)
 * @param mtlMemory     the mtl4j side's memory
 * @param baseMemory    the baseline side's memory
 * @param memoryMode    where the memory was measured
 * @param mtlFirstLoss  the mtl4j weighted task losses of the first step from the shared initial parameters (the
 *                      objective without the sharing penalty, what the baseline's score measures)
 * @param baseFirstLoss the baseline score of the same step (summed over its graphs)
 * @param mtlPenalty    the sharing penalty of the mtl4j side's first step (0 for hard sharing)
 * @param seconds       the case's wall time
 */
public record CaseResult(String name, long params, long baseParams, int blockSteps, double[] mtlMs, double[] baselineMs,
                         double[] mtlCpuMs, double[] baseCpuMs, double mtlFaults, double baseFaults,
                         MemoryProbe.Footprint mtlMemory, MemoryProbe.Footprint baseMemory, BenchArgs.Memory memoryMode,
                         double mtlFirstLoss, double baseFirstLoss, double mtlPenalty, double seconds) {

    /** Copies the samples. */
    public CaseResult {
        mtlMs = mtlMs.clone();
        baselineMs = baselineMs.clone();
        mtlCpuMs = mtlCpuMs.clone();
        baseCpuMs = baseCpuMs.clone();
    }

    /** The median mtl4j ms/step. */
    public double mtlMedian() {
        return Stats.median(mtlMs);
    }

    /** The median baseline ms/step. */
    public double baselineMedian() {
        return Stats.median(baselineMs);
    }

    /** The mtl4j median over the baseline median. */
    public double ratio() {
        return mtlMedian() / baselineMedian();
    }

    /** {@code RESULT <case> mtl4j_ms=<median> baseline_ms=<median> ratio=<mtl4j/baseline>}. */
    public String resultLine() {
        return String.format(Locale.ROOT, "RESULT %s mtl4j_ms=%.3f baseline_ms=%.3f ratio=%.3f",
                name, mtlMedian(), baselineMedian(), ratio());
    }

    /** {@code MEMORY <case> mtl4j_mb=<peak> baseline_mb=<peak>}, in MiB (see {@link MemoryProbe}). */
    public String memoryLine() {
        return String.format(Locale.ROOT, "MEMORY %s mtl4j_mb=%.1f baseline_mb=%.1f",
                name, mtlMemory.totalMb(), baseMemory.totalMb());
    }

    /**
     * The supporting lines: sample spread per side, the memory breakdown, and the first-step check
     * ({@code CHECK <case> params=.. baseline_params=.. first_step_loss mtl4j=.. baseline=.. mtl4j_penalty=..
     * wall_s=..}).
     */
    public List<String> detailLines() {
        return List.of(
                timing("mtl4j", mtlMs, mtlCpuMs, mtlFaults),
                timing("baseline", baselineMs, baseCpuMs, baseFaults),
                memory("mtl4j", mtlMemory),
                memory("baseline", baseMemory),
                String.format(Locale.ROOT, "CHECK %s params=%d baseline_params=%d first_step_loss mtl4j=%.6f"
                                + " baseline=%.6f mtl4j_penalty=%.6f wall_s=%.1f",
                        name, params, baseParams, mtlFirstLoss, baseFirstLoss, mtlPenalty, seconds));
    }

    private String timing(String side, double[] ms, double[] cpu, double faults) {
        boolean cpuKnown = cpu.length > 0 && Arrays.stream(cpu).noneMatch(Double::isNaN);
        return String.format(Locale.ROOT, "TIMING %s side=%s samples=%d block=%d min=%.3f p25=%.3f median=%.3f p75=%.3f"
                        + " thread_cpu_median=%s minor_faults_per_step=%.0f",
                name, side, ms.length, blockSteps, Stats.min(ms), Stats.quantile(ms, 0.25), Stats.median(ms),
                Stats.quantile(ms, 0.75), cpuKnown ? String.format(Locale.ROOT, "%.3f", Stats.median(cpu)) : "NA",
                faults);
    }

    private String memory(String side, MemoryProbe.Footprint f) {
        return String.format(Locale.ROOT, "MEMORY-DETAIL %s side=%s peak_rss_growth_mb=%.1f live_rss_growth_mb=%.1f"
                        + " heap_live_mb=%.1f retained_after_drop_mb=%.1f base_rss_mb=%.1f javacpp_tracked_mb=%.3f"
                        + " workspaces_mb=%.2f peak=%s where=%s",
                name, side, f.peakMb(), f.liveMb(), f.heapMb(), f.retainedMb(), f.baseRss() / (double) (1L << 20),
                f.javacppTotal() / (double) (1L << 20), f.workspacesMb(), f.exactPeak() ? "VmHWM" : "sampled",
                memoryMode.name().toLowerCase(Locale.ROOT));
    }
}
