package org.mtl4j.sharing.graph;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/** The two whole-array operations the mixing vertices share: a weighted sum and a dot product. */
final class Mix {

    private Mix() {
    }

    /** {@code out = sum_i w[i] xs[i]}: one scaling and one axpy per further term, no temporary. */
    static void combine(INDArray[] xs, double[] w, INDArray out) {
        xs[0].mul(w[0], out);
        for (int i = 1; i < xs.length; i++) {
            Nd4j.exec(new Axpy(xs[i], out, out, w[i]));
        }
    }

    /**
     * {@code sum(a (.) b)}: one BLAS call over the buffers when both are dense in the same order (the usual
     * case: DL4J's errors are row-major views of transposed products, like its activations), else a product
     * in the caller's working memory (ND4J's strided dot-product reduction measured 5-15x slower).
     */
    static double dot(INDArray a, INDArray b) {
        if (a.ordering() == b.ordering() && a.dataType() == b.dataType() && Shape.hasDefaultStridesForShape(a)
                && Shape.hasDefaultStridesForShape(b)) {
            return Nd4j.getBlasWrapper().dot(a, b);
        }
        return a.mul(b).sumNumber().doubleValue();
    }
}
