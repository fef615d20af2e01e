package org.mtl4j.examples;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/** The rows of a 2-d array as Java arrays, read through its flat buffer (one row view per row is slow). */
final class Rows {

    private Rows() {
    }

    /** The rows of {@code a}, a matrix, in order. */
    static double[][] of(INDArray a) {
        double[] flat = a.dup('c').data().asDouble();
        int cols = (int) a.columns();
        double[][] rows = new double[(int) a.rows()][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = Arrays.copyOfRange(flat, i * cols, (i + 1) * cols);
        }
        return rows;
    }
}
