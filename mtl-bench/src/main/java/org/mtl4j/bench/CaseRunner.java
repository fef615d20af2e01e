package org.mtl4j.bench;

import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.StepResult;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs one {@link BenchCase}: the two sides built side by side from the same initial parameters, warmed up,
 * and timed in alternating blocks (mtl4j, baseline, mtl4j, ...) on the same fixed minibatches; then the
 * memory of each side, alone (in a fresh JVM by default).
 *
 * <p>Sizes adapt to the case's budget: warm-up stops early (after at least 3 steps per side) once it has
 * used 15% of the budget; the memory probe takes fewer steps for slow cases; the timing gets what is left,
 * as {@code minSamples..maxSamples} samples per side of blocks of at most {@code blockSteps} steps; when the
 * machine turns slower than the warm-up showed, sampling stops at the budget once {@code minSamples} are taken.
 */
public final class CaseRunner {

    private static final double WARMUP_SHARE = 0.15;
    private static final double FORK_START_S = 5;

    private final Settings settings;
    private final long seed;
    private final BenchArgs.Memory memory;

    /** A runner with the given sizes, seed, and place of the memory measurement. */
    public CaseRunner(Settings settings, long seed, BenchArgs.Memory memory) {
        this.settings = settings;
        this.seed = seed;
        this.memory = memory;
    }

    /**
     * Runs the case.
     *
     * @throws IllegalStateException when the two sides do not have the same parameters, or the memory probe fails
     */
    public CaseResult run(BenchCase c) {
        long start = System.nanoTime();
        List<MultiDataSet> batches = c.batches(settings.batches(), seed + 1);
        MultiTaskNetwork net = c.buildMtl(seed);
        INDArray initial = net.params().dup();
        Baseline baseline = c.buildBaseline(seed);
        baseline.copyParameters(c.name(), net);
        c.checkSameParameters(net, baseline);
        INDArray baseInitial = baseline.params().dup();
        long params = net.params().length();
        long baseParams = baseline.numParams();

        StepResult first = net.fit(batches.get(0));
        double mtlPenalty = first.penalty();
        double mtlLoss = first.totalLoss() - mtlPenalty;
        baseline.fit(batches.get(0));
        double baseLoss = baseline.score();

        Sides sides = new Sides(net::fit, baseline::fit, batches);
        double[] stepMs = sides.warmUp(settings.warmupSteps(), WARMUP_SHARE * settings.budgetS());
        int memoryWarmup = stepsWithin(2.0, stepMs, 2, settings.memoryWarmup());
        int memorySteps = stepsWithin(4.0, stepMs, 3, settings.memorySteps());
        double memoryS = (stepMs[0] + stepMs[1]) / 1000 * (2 + memoryWarmup + memorySteps)
                + (memory == BenchArgs.Memory.FORK ? FORK_START_S : 2);

        double spent = (System.nanoTime() - start) / 1e9;
        double timingBudgetMs = 1000 * Math.max(1, settings.budgetS() - spent - memoryS);
        double pairMs = stepMs[0] + stepMs[1];
        int block = settings.blockSteps();
        int samples = (int) Math.floor(timingBudgetMs / (block * pairMs));
        if (samples < settings.minSamples()) {
            block = Math.max(1, Math.min(block, (int) Math.floor(timingBudgetMs / (settings.minSamples() * pairMs))));
            samples = settings.minSamples();
        }
        samples = Math.min(samples, settings.maxSamples());
        double[] mtlMs = new double[samples];
        double[] baseMs = new double[samples];
        double[] mtlCpu = new double[samples];
        double[] baseCpu = new double[samples];
        sides.countFaults();
        long timingStart = System.nanoTime();
        int taken = 0;
        while (taken < samples && (taken < settings.minSamples()
                || (System.nanoTime() - timingStart) / 1e6 < timingBudgetMs)) {
            mtlMs[taken] = sides.blockA(block);
            mtlCpu[taken] = sides.lastCpuMs(0);
            baseMs[taken] = sides.blockB(block);
            baseCpu[taken] = sides.lastCpuMs(1);
            taken++;
        }
        mtlMs = Arrays.copyOf(mtlMs, taken);
        baseMs = Arrays.copyOf(baseMs, taken);
        mtlCpu = Arrays.copyOf(mtlCpu, taken);
        baseCpu = Arrays.copyOf(baseCpu, taken);
        double[] faults = sides.faultsPerStep();
        sides = null;
        net = null;
        baseline = null;

        ForkedMemoryProbe.Footprints footprints = memory == BenchArgs.Memory.FORK
                ? ForkedMemoryProbe.measure(c, seed, settings.batches(), memoryWarmup, memorySteps)
                : measureInProcess(c, batches, initial, baseInitial, memoryWarmup, memorySteps);
        return new CaseResult(c.name(), params, baseParams, block, mtlMs, baseMs, mtlCpu, baseCpu, faults[0], faults[1],
                footprints.mtl(), footprints.baseline(), memory, mtlLoss, baseLoss, mtlPenalty,
                (System.nanoTime() - start) / 1e9);
    }

    /** How many steps of the slower side fit in {@code seconds}, within {@code [min, max]}. */
    private static int stepsWithin(double seconds, double[] stepMs, int min, int max) {
        double slower = Math.max(stepMs[0], stepMs[1]);
        return Math.max(Math.min(min, max), Math.min(max, (int) Math.floor(seconds * 1000 / slower)));
    }

    private ForkedMemoryProbe.Footprints measureInProcess(BenchCase c, List<? extends MultiDataSet> batches,
                                                          INDArray initial, INDArray baseInitial, int warmup,
                                                          int steps) {
        MemoryProbe.Footprint base = MemoryProbe.measure(() -> c.baselineStep(seed, baseInitial), batches, warmup,
                steps);
        MemoryProbe.Footprint mtl = MemoryProbe.measure(() -> c.mtlStep(seed, initial), batches, warmup, steps);
        return new ForkedMemoryProbe.Footprints(mtl, base);
    }

    /** Two training steps over shared batches, each side cycling through the batches on its own counter. */
    private static final class Sides {
        private final Consumer<MultiDataSet> a;
        private final Consumer<MultiDataSet> b;
        private final List<MultiDataSet> batches;
        private int nextA = 1;
        private int nextB = 1;
        private final long[] faults = new long[2];
        private final long[] steps = new long[2];
        private final double[] lastCpu = new double[2];
        private boolean counting;

        Sides(Consumer<MultiDataSet> a, Consumer<MultiDataSet> b, List<MultiDataSet> batches) {
            this.a = a;
            this.b = b;
            this.batches = batches;
        }

        /**
         * Alternates blocks of up to 10 steps until each side has done {@code steps} steps, or at least 3 steps
         * and {@code seconds} have passed; returns the ms/step of each side's last block.
         */
        double[] warmUp(int steps, double seconds) {
            long t0 = System.nanoTime();
            double[] last = {blockA(1), blockB(1)};
            int done = 1;
            while (done < steps && (done < 3 || (System.nanoTime() - t0) / 1e9 < seconds)) {
                double remainingS = seconds - (System.nanoTime() - t0) / 1e9;
                int k = Math.min(steps - done, Math.max(1, Math.min(10,
                        (int) Math.floor(remainingS * 1000 / (last[0] + last[1])))));
                last[0] = blockA(k);
                last[1] = blockB(k);
                done += k;
            }
            return last;
        }

        /** From now on, count each side's minor page faults over its timed blocks. */
        void countFaults() {
            counting = true;
        }

        /** Each side's mean minor page faults per timed step (-1 where they cannot be read). */
        double[] faultsPerStep() {
            return new double[]{faults[0] < 0 ? -1 : faults[0] / (double) Math.max(1, steps[0]),
                    faults[1] < 0 ? -1 : faults[1] / (double) Math.max(1, steps[1])};
        }

        double blockA(int k) {
            return block(0, a, k);
        }

        double blockB(int k) {
            return block(1, b, k);
        }

        /**
         * The CPU ms/step of this thread in each side's last block (user and system time, page faults included;
         * not other threads: with {@code OMP_NUM_THREADS=1} the layer math runs here, GC and deallocators do not).
         */
        double lastCpuMs(int side) {
            return lastCpu[side];
        }

        private double block(int side, Consumer<MultiDataSet> step, int k) {
            long f0 = counting ? MemoryProbe.minorFaults() : 0;
            long c0 = threadCpuNanos();
            long t0 = System.nanoTime();
            for (int i = 0; i < k; i++) {
                step.accept(batches.get((side == 0 ? nextA++ : nextB++) % batches.size()));
            }
            long t1 = System.nanoTime();
            long c1 = threadCpuNanos();
            lastCpu[side] = c0 < 0 || c1 < 0 ? Double.NaN : (c1 - c0) / 1e6 / k;
            if (counting) {
                long f1 = MemoryProbe.minorFaults();
                faults[side] = f0 < 0 || f1 < 0 || faults[side] < 0 ? -1 : faults[side] + f1 - f0;
                steps[side] += k;
            }
            return (t1 - t0) / 1e6 / k;
        }

        private static long threadCpuNanos() {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : -1;
        }
    }
}
