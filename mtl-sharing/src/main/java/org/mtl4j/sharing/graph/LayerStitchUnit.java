package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

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
        Mix.combine(inputs, Mix.values(beta), out);
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
            Mix.scale(epsilon, beta.getDouble(s), inputErrors[s]);
            gradient.putScalar(s, Mix.dot(epsilon, inputs[s]));
        }
        return new Pair<>(gradient(), inputErrors);
    }

    @Override
    public String toString() {
        return "LayerStitchUnit(name=\"" + vertexName + "\")";
    }
}
