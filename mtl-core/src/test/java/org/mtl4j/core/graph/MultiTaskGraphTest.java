package org.mtl4j.core.graph;

import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.Head;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.RandomData;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training step runs in DL4J's workspaces where it can, and leaves no workspace behind. */
class MultiTaskGraphTest {

    @Test
    void dropoutAndBatchNormTrainInWorkspacesAndLeaveNoneCurrent() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.convolutional(6, 6, 1))
                        .stage(new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.RELU).build(),
                                new BatchNormalization.Builder().build())
                        .layer(new DenseLayer.Builder().nOut(8).activation(Activation.RELU).dropOut(0.5).build())
                        .build())
                .task(Task.classification("a", 2)).task(Task.regression("b")).seed(3).build();
        assertEquals(WorkspaceMode.ENABLED, net.graph().getConfiguration().getTrainingWorkspaceMode());
        RandomData d = new RandomData(1, DataType.FLOAT);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(4, 1, 6, 6), new INDArray[]{d.oneHot(4, 2), d.gaussian(4, 1)},
                null);
        double first = net.fit(batch).totalLoss();
        for (int i = 0; i < 30; i++) {
            net.fit(batch);
            assertNull(Nd4j.getMemoryManager().getCurrentWorkspace(), "after step " + i);
        }
        assertTrue(net.losses(batch).loss(1) < first, "trains");
    }

    @Test
    void perTimeStepHeadsRunWithoutWorkspacesAndLeaveNoneCurrent() {
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.recurrent(3)).layer(new LSTM.Builder().nOut(4).build()).build())
                .task(Task.classification("tag", 2))
                .task(Task.regression("total").withHead(Head.linear().lastTimeStep()))
                .seed(2).build();
        assertEquals(WorkspaceMode.NONE, net.graph().getConfiguration().getTrainingWorkspaceMode());
        assertEquals(WorkspaceMode.NONE, net.graph().getConfiguration().getInferenceWorkspaceMode());
        RandomData d = new RandomData(2, DataType.FLOAT);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(2, 3, 5),
                new INDArray[]{d.oneHotSequence(2, 2, 5), d.gaussian(2, 1)}, null);
        net.fit(batch);
        net.fit(batch);
        assertNull(Nd4j.getMemoryManager().getCurrentWorkspace());
    }
}
