package org.mtl4j.losses;

import java.util.SplittableRandom;

/**
 * The random draws of combinators whose randomness is a function of a seed and the network's iteration
 * count alone (RLW's weights, PCGrad's projection orders): no random state is kept, so resumed training
 * equals uninterrupted and {@code MultiTaskNetwork.gradient} sees the draws the training step would.
 */
final class IterationRandom {

    private IterationRandom() {
    }

    /** A generator for {@code iteration} under {@code seed}; nearby seeds and iterations give unrelated streams. */
    static SplittableRandom of(long seed, long iteration) {
        return new SplittableRandom(mix64(seed ^ mix64(iteration + 0x9E3779B97F4A7C15L)));
    }

    /**
     * A standard normal draw by the Box-Muller transform, from SplittableRandom's specified {@code nextDouble}
     * (its {@code nextGaussian} is an implementation detail that may change between JDKs, which would change
     * the draws of a resumed run).
     */
    static double standardNormal(SplittableRandom random) {
        double u1 = 1.0 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** A uniformly random order of {@code items} (Fisher-Yates, from {@code nextInt}'s specified bounded draws). */
    static int[] shuffle(int[] items, SplittableRandom random) {
        int[] out = items.clone();
        for (int i = out.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = out[i];
            out[i] = out[j];
            out[j] = swap;
        }
        return out;
    }

    /** Stafford's variant 13 of the MurmurHash3 finaliser: spreads nearby seeds and iterations apart. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
