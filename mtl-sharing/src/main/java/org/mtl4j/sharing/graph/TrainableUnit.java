package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.api.TrainingConfig;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collections;
import java.util.Map;

/**
 * Base of the runtime of mixing vertices with one learned parameter array: holds the parameter and
 * gradient views into the graph's flat vectors, and passes the first input's mask through.
 */
abstract class TrainableUnit extends BaseGraphVertex {

    private final TrainableVertex config;
    private final String paramKey;
    private final INDArray params;
    private final long[] paramShape;
    private final INDArray paramShaped;
    private INDArray gradientView;
    private INDArray gradientShaped;

    /**
     * @param params     the flat view of this vertex's parameters
     * @param paramShape the shape the parameters are read in ('c' order)
     */
    TrainableUnit(ComputationGraph graph, String name, int index, DataType dataType, TrainableVertex config,
                  String paramKey, INDArray params, long... paramShape) {
        super(graph, name, index, null, null, dataType);
        this.config = config;
        this.paramKey = paramKey;
        this.params = params;
        this.paramShape = paramShape.clone();
        this.paramShaped = params.reshape('c', paramShape);
    }

    /** The parameters, shaped (a view made once). */
    INDArray param() {
        return paramShaped;
    }

    /** The parameter gradient view, shaped like {@link #param()}. */
    INDArray paramGradient() {
        return gradientShaped;
    }

    /** The gradient of this vertex's parameters for DL4J, after {@link #paramGradient()} was filled. */
    Gradient gradient() {
        Gradient g = new DefaultGradient(gradientView);
        g.gradientForVariable().put(paramKey, gradientShaped);
        return g;
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public org.deeplearning4j.nn.api.Layer getLayer() {
        return null;
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray view) {
        this.gradientView = view;
        this.gradientShaped = view.reshape('c', paramShape);
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                           int minibatchSize) {
        return MixingStage.firstMask(maskArrays, currentMaskState);
    }

    @Override
    public Map<String, INDArray> paramTable(boolean backpropOnly) {
        return Collections.singletonMap(paramKey, param());
    }

    @Override
    public long numParams() {
        return params.length();
    }

    @Override
    public INDArray params() {
        return params;
    }

    @Override
    public INDArray getGradientsViewArray() {
        return gradientView;
    }

    @Override
    public TrainingConfig getConfig() {
        return config;
    }
}
