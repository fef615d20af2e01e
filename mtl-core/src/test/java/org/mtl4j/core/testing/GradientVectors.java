package org.mtl4j.core.testing;

import org.mtl4j.core.TaskLosses;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Task gradients as explicit vectors, for testing gradient-level combinators without a network: step losses
 * whose gradients and Gram matrix are given here, and the vector algebra an independent implementation needs.
 */
public final class GradientVectors {

    private GradientVectors() {
    }

    /** Losses of tasks {@code t0, t1, ...} at {@code iteration} (epoch 0) with explicit gradient vectors. */
    public static TaskLosses losses(long iteration, double[] values, double[][] g) {
        return losses(iteration, 0, values, g);
    }

    /**
     * Losses of tasks {@code t0, t1, ...} at {@code iteration} and {@code epoch}, 4 labelled examples each, with
     * explicit gradient vectors and their Gram matrix computed here.
     */
    public static TaskLosses losses(long iteration, int epoch, double[] values, double[][] g) {
        List<String> names = new ArrayList<>();
        List<INDArray> rows = new ArrayList<>();
        for (int t = 0; t < g.length; t++) {
            names.add("t" + t);
            rows.add(Nd4j.create(g[t]));
        }
        int[] labelled = new int[g.length];
        Arrays.fill(labelled, 4);
        return new TaskLosses(names, values, labelled, iteration, epoch, rows, gram(g));
    }

    /** Losses (all 1) at iteration 0 of explicit gradient vectors. */
    public static TaskLosses losses(double[]... g) {
        double[] ones = new double[g.length];
        Arrays.fill(ones, 1);
        return losses(0, ones, g);
    }

    /** The Gram matrix {@code G_ij = g_i . g_j}. */
    public static double[][] gram(double[]... g) {
        double[][] m = new double[g.length][g.length];
        for (int i = 0; i < g.length; i++) {
            for (int j = 0; j < g.length; j++) {
                m[i][j] = dot(g[i], g[j]);
            }
        }
        return m;
    }

    /** The dot product of two vectors of one length. */
    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** {@code sum_t c_t g_t}. */
    public static double[] combination(double[] c, double[]... g) {
        double[] d = new double[g[0].length];
        for (int t = 0; t < g.length; t++) {
            for (int k = 0; k < d.length; k++) {
                d[k] += c[t] * g[t][k];
            }
        }
        return d;
    }

    /** {@code tasks} standard normal gradient vectors of {@code dims} values. */
    public static double[][] randomGradients(Random r, int tasks, int dims) {
        double[][] g = new double[tasks][dims];
        for (double[] v : g) {
            for (int k = 0; k < dims; k++) {
                v[k] = r.nextGaussian();
            }
        }
        return g;
    }
}
