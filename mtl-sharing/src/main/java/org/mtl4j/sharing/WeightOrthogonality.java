package org.mtl4j.sharing;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.mtl4j.core.graph.ParamLayout;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Sluice's orthogonality penalty on weights, as the authors' code applies it (sebastianruder/sluice-networks
 * penalises LSTM weight matrices): each column layer's output units are split into K subspaces, the
 * weights feeding subspace k form {@code W_k} (for an LSTM, that subspace's units in each of the four gate
 * blocks, for the input and the recurrent matrix), and the penalty is {@code lambda sum_{a<b} ||W_a^T W_b||_F^2}
 * over every dense, convolution and LSTM layer of every column.
 */
final class WeightOrthogonality {

    private static final Pattern COLUMN_LAYER = Pattern.compile("col\\d+_\\d+_\\d+");

    /** One penalised matrix: a parameter key, its gate-block count, and how to view it as [inputs, units]. */
    private record Matrix(String key, int gates, boolean outputsFirst) {
    }

    private WeightOrthogonality() {
    }

    /** The matrices penalised in {@code graph}, checking that every column layer is supported. */
    private static List<Matrix> matrices(ComputationGraph graph, int subspaces) {
        List<Matrix> out = new ArrayList<>();
        for (GraphVertex v : graph.getVertices()) {
            if (!v.hasLayer() || !COLUMN_LAYER.matcher(v.getVertexName()).matches()) {
                continue;
            }
            Layer layer = v.getLayer();
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            String name = v.getVertexName();
            long units;
            if (conf instanceof LSTM lstm) {
                out.add(new Matrix(name + "_W", 4, false));
                out.add(new Matrix(name + "_RW", 4, false));
                units = lstm.getNOut();
            } else if (conf instanceof ConvolutionLayer conv) {
                out.add(new Matrix(name + "_W", 1, true));
                units = conv.getNOut();
            } else if (conf instanceof DenseLayer dense) {
                out.add(new Matrix(name + "_W", 1, false));
                units = dense.getNOut();
            } else if (conf.initializer().weightKeys(conf).isEmpty()) {
                continue;
            } else {
                throw new IllegalArgumentException("sluice weight orthogonality supports dense, convolution and LSTM"
                        + " layers, but trunk layer " + name + " is a " + conf.getClass().getSimpleName());
            }
            if (units % subspaces != 0) {
                throw new IllegalArgumentException("sluice weight orthogonality: trunk layer " + name + " has " + units
                        + " units, which " + subspaces + " subspaces cannot split evenly");
            }
        }
        return out;
    }

    /** Checks at build time that the graph's column layers can be penalised. */
    static void check(ComputationGraph graph, int subspaces) {
        matrices(graph, subspaces);
    }

    /**
     * The penalty; when {@code gradient} (the flat gradient view) is not null, adds {@code scale} times its
     * gradient into it.
     */
    static double penalty(ComputationGraph graph, int subspaces, double lambda, INDArray gradient, double scale) {
        double value = 0;
        for (Matrix m : matrices(graph, subspaces)) {
            INDArray w = view(ParamLayout.slice(graph, graph.params(), m.key()), m.outputsFirst());
            INDArray g = gradient == null ? null : view(ParamLayout.slice(graph, gradient, m.key()), m.outputsFirst());
            value += penalty(w, m.gates(), subspaces, lambda, g, scale);
        }
        return value;
    }

    /** A weight parameter as a matrix [inputs, units] (a view). */
    private static INDArray view(INDArray param, boolean outputsFirst) {
        if (!outputsFirst) {
            return param;
        }
        return param.reshape(param.ordering(), param.size(0), param.length() / param.size(0)).transpose();
    }

    private static double penalty(INDArray w, int gates, int k, double lambda, INDArray gradient, double scale) {
        long units = w.size(1) / gates;
        long d = units / k;
        int[][] columns = new int[k][];
        INDArray[] blocks = new INDArray[k];
        for (int s = 0; s < k; s++) {
            columns[s] = new int[(int) (gates * d)];
            int i = 0;
            for (int gate = 0; gate < gates; gate++) {
                for (long u = s * d; u < (s + 1) * d; u++) {
                    columns[s][i++] = (int) (gate * units + u);
                }
            }
            blocks[s] = w.getColumns(columns[s]);
        }
        double value = 0;
        INDArray[] grads = new INDArray[k];
        for (int a = 0; a < k; a++) {
            for (int b = a + 1; b < k; b++) {
                INDArray cross = blocks[a].transpose().mmul(blocks[b]);
                value += lambda * cross.mul(cross).sumNumber().doubleValue();
                if (gradient != null) {
                    INDArray ga = blocks[b].mmul(cross.transpose()).muli(2 * lambda * scale);
                    INDArray gb = blocks[a].mmul(cross).muli(2 * lambda * scale);
                    grads[a] = grads[a] == null ? ga : grads[a].addi(ga);
                    grads[b] = grads[b] == null ? gb : grads[b].addi(gb);
                }
            }
        }
        if (gradient != null) {
            for (int s = 0; s < k; s++) {
                if (grads[s] == null) {
                    continue;
                }
                for (int j = 0; j < columns[s].length; j++) {
                    gradient.getColumn(columns[s][j]).addi(grads[s].getColumn(j));
                }
            }
        }
        return value;
    }
}
