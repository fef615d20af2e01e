package org.mtl4j.core.accel;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Reads a DL4J time-series mask as per-example sequence lengths, when it is trailing padding. */
final class TrailingMask {

    private TrailingMask() {
    }

    /**
     * The number of leading ones of each row of {@code mask [batch, steps]}, or null when a row is not ones
     * followed by zeros (a gap, leading zeros, a value other than 0 or 1) or the shape is not {@code [batch, steps]}.
     */
    static int[] lengths(INDArray mask, long batch, long steps) {
        if (mask.rank() != 2 || mask.size(0) != batch || mask.size(1) != steps) {
            return null;
        }
        double[][] rows = mask.toDoubleMatrix();
        int[] lengths = new int[rows.length];
        for (int r = 0; r < rows.length; r++) {
            int length = 0;
            while (length < rows[r].length && rows[r][length] == 1.0) {
                length++;
            }
            for (int t = length; t < rows[r].length; t++) {
                if (rows[r][t] != 0.0) {
                    return null;
                }
            }
            lengths[r] = length;
        }
        return lengths;
    }

    /** Whether every sequence has all {@code steps} steps. */
    static boolean full(int[] lengths, long steps) {
        for (int length : lengths) {
            if (length != steps) {
                return false;
            }
        }
        return true;
    }

    /** The lengths as an INT32 vector in the workspace of {@code type}. */
    static INDArray toArray(int[] lengths, ArrayType type, LayerWorkspaceMgr workspaceMgr) {
        INDArray array = workspaceMgr.createUninitialized(type, DataType.INT32, lengths.length);
        for (int i = 0; i < lengths.length; i++) {
            array.putScalar(i, lengths[i]);
        }
        return array;
    }
}
