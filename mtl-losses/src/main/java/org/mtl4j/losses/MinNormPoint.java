package org.mtl4j.losses;

/**
 * The min-norm point of the convex hull of T vectors given by their Gram matrix {@code M_ij = g_i . g_j}:
 * {@code min ||sum_t a_t g_t||^2} over the simplex ({@code a_t >= 0, sum_t a_t = 1}), by the Frank-Wolfe
 * method of Sener and Koltun 2018 (Algorithm 2, with Algorithm 1's closed form for the line search).
 */
final class MinNormPoint {

    /** Frank-Wolfe stops when a step moves less than this fraction toward the chosen vertex. */
    static final double STOP = 1e-5;

    private MinNormPoint() {
    }

    /**
     * Algorithm 1: the {@code gamma} in [0, 1] minimising {@code ||gamma u + (1 - gamma) v||^2}, given
     * {@code uu = u . u}, {@code uv = u . v} and {@code vv = v . v}.
     */
    static double lineSearch(double uu, double uv, double vv) {
        if (uv >= uu) {
            return 1;
        }
        if (uv >= vv) {
            return 0;
        }
        return (vv - uv) / (uu + vv - 2 * uv);
    }

    /**
     * Algorithm 2: starts at {@code a = 1/T}; each iteration picks the vertex {@code t} with the smallest
     * {@code (M a)_t} and moves to the best point on the segment toward it; stops when the step is below
     * {@link #STOP} or after {@code maxIterations}.
     *
     * @return the weights {@code a}, on the simplex
     */
    static double[] frankWolfe(double[][] m, int maxIterations) {
        int n = m.length;
        double[] a = new double[n];
        java.util.Arrays.fill(a, 1.0 / n);
        double[] ma = new double[n];
        for (int iteration = 0; iteration < maxIterations; iteration++) {
            multiply(m, a, ma);
            int best = 0;
            for (int t = 1; t < n; t++) {
                if (ma[t] < ma[best]) {
                    best = t;
                }
            }
            double ama = dot(a, ma);
            double gamma = lineSearch(m[best][best], ma[best], ama);
            for (int t = 0; t < n; t++) {
                a[t] *= 1 - gamma;
            }
            a[best] += gamma;
            if (gamma < STOP) {
                break;
            }
        }
        return a;
    }

    /** {@code out = m a}. */
    static void multiply(double[][] m, double[] a, double[] out) {
        for (int i = 0; i < m.length; i++) {
            out[i] = dot(m[i], a);
        }
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** {@code a^T m a}. */
    static double quadratic(double[][] m, double[] a) {
        double[] ma = new double[a.length];
        multiply(m, a, ma);
        return dot(a, ma);
    }
}
