package org.mtl4j.losses;

import java.util.Arrays;

/** The probability simplex {@code {w : w_t >= 0, sum_t w_t = 1}}: Euclidean projection onto it. */
final class Simplex {

    private Simplex() {
    }

    /**
     * The point of the simplex nearest to {@code v}: {@code w_t = max(v_t - tau, 0)} with {@code tau} chosen
     * so that the weights sum to 1 (the sort-based method of Held, Wolfe and Crowder 1974).
     */
    static double[] project(double[] v) {
        int n = v.length;
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        double sum = 0;
        double tau = 0;
        for (int k = 1; k <= n; k++) {
            double x = sorted[n - k];
            sum += x;
            double candidate = (sum - 1) / k;
            if (x - candidate > 0) {
                tau = candidate;
            }
        }
        double[] w = new double[n];
        for (int t = 0; t < n; t++) {
            w[t] = Math.max(v[t] - tau, 0);
        }
        return w;
    }
}
