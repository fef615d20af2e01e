package org.mtl4j.core.graph;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.core.testing.RandomData;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-time-step head wrapper: its JSON, a saved model using it, and its mask order. */
class PerTimeStepTest {

    @TempDir
    File dir;

    @Test
    void configurationRoundTripsThroughDl4jJson() throws IOException {
        PerTimeStep layer = new PerTimeStep(new DenseLayer.Builder().nIn(4).nOut(3).activation(Activation.TANH).build(),
                RNNFormat.NCW);
        String json = NeuralNetConfiguration.mapper().writeValueAsString(layer);
        Layer back = NeuralNetConfiguration.mapper().readValue(json, Layer.class);
        assertInstanceOf(PerTimeStep.class, back);
        assertEquals(layer, back);
        assertTrue(json.contains("\"underlying\"") && json.contains("\"rnnDataFormat\""), json);
        assertThrows(IllegalArgumentException.class, () -> new PerTimeStep(new DenseLayer.Builder().nOut(3).build(),
                RNNFormat.NWC));
    }

    @Test
    void savedRecurrentNetworkKeepsItsMaskedPerStepOutputs() throws IOException {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.recurrent(3))
                        .layer(new LSTM.Builder().nOut(4).activation(Activation.TANH).build()).build())
                .task(Task.regression("r"))
                .seed(1)
                .build();
        INDArray x = new RandomData(2, DataType.FLOAT).gaussian(2, 3, 3);
        INDArray mask = Nd4j.create(new float[][]{{1, 1, 1}, {1, 0, 0}});
        File file = new File(dir, "rnn.mtl");
        net.save(file);
        MultiTaskNetwork loaded = MultiTaskNetwork.load(file);

        assertInstanceOf(PerTimeStep.class, loaded.graph().getConfiguration().getVertices().values().stream()
                .filter(v -> v instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv
                        && lv.getLayerConf().getLayer() instanceof PerTimeStep)
                .map(v -> ((org.deeplearning4j.nn.conf.graph.LayerVertex) v).getLayerConf().getLayer())
                .findFirst().orElseThrow());
        Exact.assertSameOutputs(net.output(x, mask), loaded.output(x, mask));
        // the second example's one real step is its own prediction, its padded steps are 0
        INDArray out = loaded.output(x, mask).get("r");
        INDArray alone = loaded.output(x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 2),
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1)).dup())
                .get("r");
        assertEquals(alone.getDouble(0, 0, 0), out.getDouble(1, 0, 0), 1e-6);
        assertEquals(0.0, out.getDouble(1, 0, 1), 0.0);
        assertEquals(0.0, out.getDouble(1, 0, 2), 0.0);
    }
}
