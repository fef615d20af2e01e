package org.mtl4j.losses;

/**
 * The min-norm point of the convex hull of T vectors given by their Gram matrix {@code M_ij = g_i . g_j}:
 * {@code min ||sum_t a_t g_t||^2} over the simplex ({@code a_t >= 0, sum_t a_t = 1}), by the Frank-Wolfe
 * method of Sener and Koltun 2018 (Algorithm 2, with Algorithm 1's closed form for the line search), then
 * made exact on the support Frank-Wolfe found ({@link #refine}): Frank-Wolfe converges sublinearly (a few
 * percent off in norm after 250 iterations when the point lies on a face), while the optimality conditions
 * on the right face are one small linear system.
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

    /**
     * The exact min-norm point, from Frank-Wolfe's weights {@code a}: a primal active-set search that starts
     * from the vertices carrying at least 1e-3 of the largest weight, solves the KKT system
     * {@code M_SS a_S = lambda 1, sum a_S = 1} on the support S, drops a vertex whose weight turns negative or
     * adds the vertex that most violates {@code (M a)_t >= a^T M a}, until the conditions hold. Returns
     * {@code a} unchanged when the search does not settle in {@code 4 T} rounds or meets a singular system
     * (duplicate vectors).
     */
    static double[] refine(double[][] gram, double[] a) {
        int n = gram.length;
        double size = 0;
        for (int t = 0; t < n; t++) {
            size = Math.max(size, Math.abs(gram[t][t]));
        }
        if (!(size > 0)) {
            return a;
        }
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                m[i][j] = gram[i][j] / size;
            }
        }
        double largest = 0;
        for (double v : a) {
            largest = Math.max(largest, v);
        }
        boolean[] support = new boolean[n];
        for (int t = 0; t < n; t++) {
            support[t] = a[t] >= 1e-3 * largest;
        }
        for (int round = 0; round < 4 * n; round++) {
            double[] x = solveOnSupport(m, support);
            if (x == null) {
                return a;
            }
            int negative = -1;
            for (int t = 0; t < n; t++) {
                if (support[t] && x[t] < 0 && (negative < 0 || x[t] < x[negative])) {
                    negative = t;
                }
            }
            if (negative >= 0) {
                support[negative] = false;
                continue;
            }
            double[] mx = new double[n];
            multiply(m, x, mx);
            double norm = dot(x, mx);
            int violating = -1;
            for (int t = 0; t < n; t++) {
                if (!support[t] && mx[t] < norm - 1e-12 && (violating < 0 || mx[t] < mx[violating])) {
                    violating = t;
                }
            }
            if (violating < 0) {
                return x;
            }
            support[violating] = true;
        }
        return a;
    }

    /**
     * The minimiser of {@code a^T M a} with {@code sum a = 1} over the support (0 elsewhere), for {@code M} scaled
     * to a largest diagonal entry of 1; null when singular.
     */
    private static double[] solveOnSupport(double[][] m, boolean[] support) {
        int n = m.length;
        int[] idx = java.util.stream.IntStream.range(0, n).filter(t -> support[t]).toArray();
        int k = idx.length;
        if (k == 0) {
            return null;
        }
        // [M_SS 1; 1^T 0] [a; -lambda] = [0; 1]
        double[][] sys = new double[k + 1][k + 2];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                sys[i][j] = m[idx[i]][idx[j]];
            }
            sys[i][k] = 1;
            sys[k][i] = 1;
        }
        sys[k][k + 1] = 1;
        double[] solution = LinearSystem.solve(sys, 1e-12);
        if (solution == null) {
            return null;
        }
        double[] a = new double[n];
        for (int i = 0; i < k; i++) {
            a[idx[i]] = solution[i];
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
