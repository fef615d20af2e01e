package org.mtl4j.core.accel;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Moves the four gate blocks of an LSTM parameter between DL4J's order (a, f, o, g) and libnd4j's (i, f, c', o). */
final class GateOrder {

    /** Block {@code k} of libnd4j's gate order (i, f, c', o) is block {@code ORDER[k]} of DL4J's (a, f, o, g). */
    static final int[] ORDER = {3, 1, 0, 2};

    private GateOrder() {
    }

    /** Copies {@code src [rows, 4n]} (DL4J's gate order) into a new array in libnd4j's gate order. */
    static INDArray toLibnd4j(INDArray src, long n, ArrayType work, LayerWorkspaceMgr workspaceMgr) {
        INDArray dst = workspaceMgr.createUninitialized(work, src.dataType(), new long[] {src.size(0), 4 * n}, 'c');
        for (int k = 0; k < 4; k++) {
            block(dst, k, n).assign(block(src, ORDER[k], n));
        }
        return dst;
    }

    /** Copies {@code src [rows, 4n]} (libnd4j's gate order) into {@code dst} in DL4J's gate order. */
    static void toDl4j(INDArray src, INDArray dst, long n) {
        for (int k = 0; k < 4; k++) {
            block(dst, ORDER[k], n).assign(block(src, k, n));
        }
    }

    /** Column block {@code k} of {@code a [rows, 4n]}, or elements {@code [kn, (k+1)n)} of a vector. */
    private static INDArray block(INDArray a, int k, long n) {
        return a.rank() == 1 ? a.get(NDArrayIndex.interval(k * n, (k + 1) * n))
                : a.get(NDArrayIndex.all(), NDArrayIndex.interval(k * n, (k + 1) * n));
    }
}
