package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The runtime of {@link LayerStitchVertex}: forward {@code y = sum_s beta_s x_s} (one scaling, then one axpy
 * per further stage, no temporary); backward {@code dL/dx_s = beta_s eps} and {@code dL/dbeta_s = <eps, x_s>}.
 */
final class LayerStitchUnit extends TrainableUnit {

    LayerStitchUnit(ComputationGraph graph, String name, int index, DataType dataType, LayerStitchVertex config,
                    INDArray params) {
        super(graph, name, index, dataType, config, LayerStitchVertex.BETA, params, config.getInit().length);
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("layer stitching " + vertexName + ": inputs not set");
        }
        INDArray beta = param();
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, inputs[0].dataType(), inputs[0].shape(),
                inputs[0].ordering());
        inputs[0].mul(beta.getDouble(0), out);
        for (int s = 1; s < inputs.length; s++) {
            Nd4j.exec(new Axpy(inputs[s], out, out, beta.getDouble(s)));
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("layer stitching " + vertexName + ": errors not set");
        }
        INDArray beta = param();
        INDArray gradient = paramGradient();
        INDArray[] inputErrors = new INDArray[inputs.length];
        for (int s = 0; s < inputs.length; s++) {
            inputErrors[s] = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(),
                    inputs[s].shape(), epsilon.ordering());
            epsilon.mul(beta.getDouble(s), inputErrors[s]);
            gradient.putScalar(s, dot(epsilon, inputs[s]));
        }
        return new Pair<>(gradient(), inputErrors);
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

    @Override
    public String toString() {
        return "LayerStitchUnit(name=\"" + vertexName + "\")";
    }
}
