package org.mtl4j.bench;

/**
 * How much work one case does: warm-up, the timing blocks and samples, the memory probe, and the wall
 * time the timing adapts to.
 *
 * @param batches        the number of random minibatches made once per case and reused in turn
 * @param warmupSteps    training steps each side runs before timing (in alternating blocks; fewer, but at
 *                       least 3, when they take more than 15% of the budget)
 * @param blockSteps     the steps in one timed block; one sample is the mean ms/step over a block
 * @param minSamples     the fewest samples per side (the block shrinks, down to 1 step, to fit the budget)
 * @param maxSamples     the most samples per side
 * @param memoryWarmup   steps a side runs before its memory peak is taken (workspaces settle); fewer, but
 *                       at least 2, when they take more than 2 s
 * @param memorySteps    steps over which a side's memory peak is taken; fewer, but at least 3, when they take
 *                       more than 4 s
 * @param budgetS        the target wall time of one case, in seconds (timing takes about two thirds)
 */
public record Settings(int batches, int warmupSteps, int blockSteps, int minSamples, int maxSamples,
                       int memoryWarmup, int memorySteps, double budgetS) {

    /** Validates the values. */
    public Settings {
        if (batches < 1 || warmupSteps < 0 || blockSteps < 1 || minSamples < 1 || maxSamples < minSamples
                || memoryWarmup < 0 || memorySteps < 1 || !(budgetS > 0)) {
            throw new IllegalArgumentException("bad settings: " + "batches=" + batches + " warmupSteps=" + warmupSteps
                    + " blockSteps=" + blockSteps + " samples=" + minSamples + ".." + maxSamples + " memoryWarmup="
                    + memoryWarmup + " memorySteps=" + memorySteps + " budgetS=" + budgetS);
        }
    }

    /** The full run: 8 batches, 30 warm-up steps, blocks of 10 steps, 15 to 30 samples per side. */
    public static Settings standard() {
        return new Settings(8, 30, 10, 15, 30, 10, 20, 90);
    }

    /** A smoke run: 4 batches, 5 warm-up steps, blocks of 3 steps, 5 samples per side. */
    public static Settings quick() {
        return new Settings(4, 5, 3, 5, 5, 2, 3, 20);
    }

    /** These settings with another budget. */
    public Settings withBudget(double seconds) {
        return new Settings(batches, warmupSteps, blockSteps, minSamples, maxSamples, memoryWarmup, memorySteps,
                seconds);
    }
}
