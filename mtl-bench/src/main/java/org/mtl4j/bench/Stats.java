package org.mtl4j.bench;

import java.util.Arrays;

/** Order statistics of timing samples. */
public final class Stats {

    private Stats() {
    }

    /** The median: the middle value, or the mean of the two middle values of an even-sized sample. */
    public static double median(double[] values) {
        return quantile(values, 0.5);
    }

    /**
     * The {@code p}-quantile with linear interpolation between order statistics (R's type 7, NumPy's
     * default): position {@code p * (n - 1)} in the sorted values.
     *
     * @throws IllegalArgumentException for an empty sample, NaN values or {@code p} outside [0, 1]
     */
    public static double quantile(double[] values, double p) {
        if (values == null || values.length == 0) {
            throw new IllegalArgumentException("no values: a quantile needs at least one sample");
        }
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("quantile level must be in [0, 1], got " + p);
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        if (Double.isNaN(sorted[sorted.length - 1])) {
            throw new IllegalArgumentException("the sample holds NaN: " + Arrays.toString(values));
        }
        double position = p * (sorted.length - 1);
        int below = (int) Math.floor(position);
        int above = Math.min(below + 1, sorted.length - 1);
        double fraction = position - below;
        return sorted[below] + fraction * (sorted[above] - sorted[below]);
    }

    /** The smallest value. */
    public static double min(double[] values) {
        return quantile(values, 0);
    }
}
