package org.mtl4j.losses;

/** Small dense linear systems (a few tasks), solved in double precision. */
final class LinearSystem {

    private LinearSystem() {
    }

    /**
     * Solves the augmented system {@code [A | b]} ({@code n} rows, {@code n + 1} columns, overwritten) by Gaussian
     * elimination with partial pivoting.
     *
     * @param tiny a pivot of at most this magnitude means the system is singular
     * @return x with {@code A x = b}, or null when the system is singular
     */
    static double[] solve(double[][] augmented, double tiny) {
        int n = augmented.length;
        double[][] m = augmented;
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int row = col + 1; row < n; row++) {
                if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) {
                    pivot = row;
                }
            }
            if (!(Math.abs(m[pivot][col]) > tiny)) {
                return null;
            }
            double[] swap = m[col];
            m[col] = m[pivot];
            m[pivot] = swap;
            for (int row = col + 1; row < n; row++) {
                double f = m[row][col] / m[col][col];
                for (int k = col; k <= n; k++) {
                    m[row][k] -= f * m[col][k];
                }
            }
        }
        double[] x = new double[n];
        for (int row = n - 1; row >= 0; row--) {
            double s = m[row][n];
            for (int k = row + 1; k < n; k++) {
                s -= m[row][k] * x[k];
            }
            x[row] = s / m[row][row];
        }
        return x;
    }
}
