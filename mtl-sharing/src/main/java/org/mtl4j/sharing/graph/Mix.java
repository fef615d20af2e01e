package org.mtl4j.sharing.graph;

import org.nd4j.linalg.api.blas.Level1;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The whole-array operations the mixing vertices share: a weighted sum, a scaled copy and a dot product, and
 * element-wise reads and writes of the small weight arrays.
 *
 * <p>When the arrays are dense, of one order and in single or double precision (the usual case: DL4J's
 * activations and errors are row-major), the operations are BLAS level-1 calls over the buffers: measured here
 * (2026-11-30, one thread, 128 x 256 floats) an axpy is 3.7 us as a BLAS call against 8 us as an ND4J op, and a
 * scaled copy 5.6 us (copy and scal) against 19 us ({@code x.mul(w, out)}, which makes a scalar array per call).
 * Otherwise they fall back to ND4J's operations, which take any layout. Small arrays (a unit's weights, a few
 * dozen values) are read and written element by element in Java: an ND4J operation on them costs 3-11 us, an
 * element 0.05 us.
 */
final class Mix {

    private Mix() {
    }

    /** {@code out = sum_i w[i] xs[i]}: a scaled copy and one axpy per further term, no temporary. */
    static void combine(INDArray[] xs, double[] w, INDArray out) {
        boolean flat = true;
        for (INDArray x : xs) {
            flat &= flat(x, out);
        }
        if (!flat) {
            xs[0].mul(w[0], out);
            for (int i = 1; i < xs.length; i++) {
                Nd4j.exec(new Axpy(xs[i], out, out, w[i]));
            }
            return;
        }
        Level1 blas = Nd4j.getBlasWrapper().level1();
        out.assign(xs[0]);
        if (w[0] != 1) {
            blas.scal(out.length(), w[0], out);
        }
        for (int i = 1; i < xs.length; i++) {
            blas.axpy(out.length(), w[i], xs[i], out);
        }
    }

    /** {@code out = w x}. */
    static void scale(INDArray x, double w, INDArray out) {
        if (!flat(x, out)) {
            x.mul(w, out);
            return;
        }
        out.assign(x);
        if (w != 1) {
            Nd4j.getBlasWrapper().level1().scal(out.length(), w, out);
        }
    }

    /**
     * {@code sum(a (.) b)}: one BLAS call over the buffers when both are dense in the same order, else a product
     * in the caller's working memory (ND4J's strided dot-product reduction measured 5-15x slower).
     */
    static double dot(INDArray a, INDArray b) {
        if (flat(a, b)) {
            return Nd4j.getBlasWrapper().dot(a, b);
        }
        return a.mul(b).sumNumber().doubleValue();
    }

    /** The values of a small vector or matrix, in 'c' (row-major) order, read element by element. */
    static double[] values(INDArray small) {
        double[] out = new double[(int) small.length()];
        if (small.rank() == 2) {
            long cols = small.size(1);
            for (int i = 0; i < out.length; i++) {
                out[i] = small.getDouble(i / cols, i % cols);
            }
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = small.getDouble(i);
            }
        }
        return out;
    }

    /** Copies a small matrix into another of the same shape, element by element. */
    static void copySmall(INDArray from, INDArray to) {
        long rows = from.size(0);
        long cols = from.size(1);
        for (long r = 0; r < rows; r++) {
            for (long c = 0; c < cols; c++) {
                to.putScalar(r, c, from.getDouble(r, c));
            }
        }
    }

    /** Whether BLAS level-1 calls can treat both arrays as one flat vector each, element for element. */
    private static boolean flat(INDArray a, INDArray b) {
        DataType type = a.dataType();
        return (type == DataType.FLOAT || type == DataType.DOUBLE) && b.dataType() == type
                && a.length() == b.length() && a.ordering() == b.ordering()
                && Shape.hasDefaultStridesForShape(a) && Shape.hasDefaultStridesForShape(b);
    }
}
