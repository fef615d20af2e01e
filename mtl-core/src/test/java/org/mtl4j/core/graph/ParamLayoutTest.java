package org.mtl4j.core.graph;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Parameter slices follow the flat layout, even where it differs from the param table's order. */
class ParamLayoutTest {

    @Test
    void slicesAreTheParametersThemselvesInAGraphWhoseLayoutDiffersFromTheTableOrder() {
        // vertices added as b, a: the table lists b first, the topological layout may not
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(1)
                .graphBuilder().addInputs("in").setInputTypes(InputType.feedForward(3))
                .addLayer("b2", new DenseLayer.Builder().nOut(4).build(), "a1")
                .addLayer("a1", new DenseLayer.Builder().nOut(2).build(), "in")
                .addLayer("c", new DenseLayer.Builder().nOut(5).build(), "in")
                .setOutputs("b2", "c").build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        long position = 0;
        for (Map.Entry<String, INDArray> e : graph.paramTable().entrySet()) {
            INDArray slice = ParamLayout.slice(graph, graph.params(), e.getKey());
            assertEquals(e.getValue(), slice, e.getKey());
            position += e.getValue().length();
        }
        assertEquals(graph.numParams(), position);
        INDArray flat = graph.params().dup();
        ParamLayout.slice(graph, flat, "a1_W").assign(7);
        graph.setParams(flat);
        assertEquals(7.0, graph.getParam("a1_W").minNumber().doubleValue(), 0.0);
        assertEquals(7.0, graph.getParam("a1_W").maxNumber().doubleValue(), 0.0);
        assertNotEquals(7.0, graph.getParam("b2_W").maxNumber().doubleValue());
        assertNotEquals(7.0, graph.getParam("c_W").maxNumber().doubleValue());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ParamLayout.offset(graph, "zz_W"));
        assertEquals(true, e.getMessage().startsWith("the graph has no parameter \"zz_W\""));
    }
}
