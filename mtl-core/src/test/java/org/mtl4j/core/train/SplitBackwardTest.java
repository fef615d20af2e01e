package org.mtl4j.core.train;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.Head;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.NumericGradient;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.RecordingCombinator;
import org.mtl4j.core.testing.SplitGradients;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The split backward pass (each head alone, then the encoder once) that serves combinators needing
 * per-task representation gradients gives the same gradient as the whole-graph pass, and the
 * representation gradients it hands over are each task's own {@code dL_t/dr}.
 */
class SplitBackwardTest {

    private static MultiTaskNetwork dense(LossCombinator losses) {
        return SplitGradients.network(losses, new NoOp(), 2);
    }

    private static MultiDataSet denseBatch() {
        RandomData d = new RandomData(2, DataType.DOUBLE);
        return RandomData.dataSet(d.gaussian(6, 4), new INDArray[]{d.oneHot(6, 3), d.gaussian(6, 2)},
                new INDArray[]{null, d.mask(1, 1, 0, 1, 0, 1)});
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @Test
    void splitPassEqualsWholeGraphPassForDenseTrunk() {
        MultiDataSet batch = denseBatch();
        INDArray fast = dense(FixedWeights.of(2, 0.5)).gradient(batch).gradient();
        INDArray split = dense(new RecordingCombinator(2, 0.5)).gradient(batch).gradient();
        assertTrue(fast.amaxNumber().doubleValue() > 0);
        assertEquals(0.0, maxDiff(fast, split), 1e-13);
    }

    @Test
    void splitPassEqualsWholeGraphPassForRecurrentTrunkWithBothHeadKinds() {
        Function<LossCombinator, MultiTaskNetwork> build = losses -> MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.recurrent(3))
                        .layer(new LSTM.Builder().nOut(5).activation(Activation.TANH).build()).build())
                .task(Task.classification("tag", 4))
                .task(Task.regression("total").withHead(Head.linear().lastTimeStep()))
                .losses(losses).updater(new NoOp()).dataType(DataType.DOUBLE).seed(17).build();
        RandomData d = new RandomData(8, DataType.DOUBLE);
        INDArray featuresMask = Nd4j.create(new double[][]{{1, 1, 1, 1}, {1, 1, 0, 0}, {1, 1, 1, 0}});
        MultiDataSet batch = new MultiDataSet(new INDArray[]{d.gaussian(3, 3, 4)},
                new INDArray[]{d.oneHotSequence(3, 4, 4), d.gaussian(3, 1)},
                new INDArray[]{featuresMask}, new INDArray[]{featuresMask, null});
        INDArray fast = build.apply(FixedWeights.of(0.3, 1.7)).gradient(batch).gradient();
        INDArray split = build.apply(new RecordingCombinator(0.3, 1.7)).gradient(batch).gradient();
        assertTrue(fast.amaxNumber().doubleValue() > 0);
        assertEquals(0.0, maxDiff(fast, split), 1e-13);
    }

    @Test
    void trainingThroughSplitPassMatchesWholeGraphTrainingWithAdam() {
        Function<LossCombinator, MultiTaskNetwork> build = losses -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6))
                .task(Task.classification("c", 3)).task(Task.regression("r"))
                .losses(losses).updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(4).build();
        MultiTaskNetwork fast = build.apply(FixedWeights.of(1.5, 0.25));
        MultiTaskNetwork split = build.apply(new RecordingCombinator(1.5, 0.25));
        RandomData d = new RandomData(6, DataType.DOUBLE);
        for (int i = 0; i < 5; i++) {
            MultiDataSet batch = RandomData.dataSet(d.gaussian(8, 4), new INDArray[]{d.oneHot(8, 3), d.gaussian(8, 1)},
                    null);
            fast.fit(batch);
            split.fit(batch);
        }
        assertEquals(0.0, maxDiff(fast.params(), split.params()), 1e-12);
        assertEquals(0.0, maxDiff(fast.graph().getUpdater().getStateViewArray(),
                split.graph().getUpdater().getStateViewArray()), 1e-12);
    }

    @Test
    void representationGradientIsEachTasksOwnLossGradientComputedByHand() {
        RecordingCombinator recording = new RecordingCombinator(2, 0.5);
        MultiTaskNetwork net = dense(recording);
        MultiDataSet batch = denseBatch();
        net.gradient(batch);

        // regression head: z = r W + b, DL4J MSE per example = mean over the 2 outputs of (z - y)^2,
        // loss = mean over the 4 labelled examples, so dL/dr_i = m_i * (2 / 2) * (z_i - y_i) W^T / 4
        INDArray r = net.graph().feedForward(batch.getFeatures(0), false).get("trunk_1_0");
        INDArray w = net.graph().getParam("head_r_out_W");
        INDArray b = net.graph().getParam("head_r_out_b");
        INDArray z = r.mmul(w).addiRowVector(b);
        INDArray mask = batch.getLabelsMaskArray(1);
        INDArray expected = z.sub(batch.getLabels(1)).mulColumnVector(mask).mmul(w.transpose()).divi(4);

        INDArray actual = recording.lastGradient(1);
        assertArrayEquals(r.shape(), actual.shape());
        assertEquals(0.0, maxDiff(expected, actual), 1e-14);
        assertEquals(0.0, actual.getRow(2).amaxNumber().doubleValue(), 0.0, "masked example: no gradient");
    }

    @Test
    void representationGradientsAreUnweightedAndIndependentOfTheOtherTask() {
        RecordingCombinator a = new RecordingCombinator(1, 1);
        RecordingCombinator b = new RecordingCombinator(7, 0);
        MultiDataSet batch = denseBatch();
        dense(a).gradient(batch);
        dense(b).gradient(batch);
        for (int t = 0; t < 2; t++) {
            assertEquals(0.0, maxDiff(a.lastGradient(t), b.lastGradient(t)), 0.0);
        }
    }

    @Test
    void splitPassPassesTheNumericGradientCheck() {
        MultiTaskNetwork net = dense(new RecordingCombinator(1.5, 0.5));
        NumericGradient.Report report = NumericGradient.check(net, denseBatch(), new double[]{1.5, 0.5}, 1e-6, 1e-3, 1e-9);
        assertEquals(0, report.failed(), () -> "worst " + report);
    }

    @Test
    void readingTaskGradientsWithoutAskingForThemIsAnError() {
        int[] calls = {0};
        MultiTaskNetwork net = dense(new LossCombinator() {
            @Override
            public org.mtl4j.core.TaskWeights combine(org.mtl4j.core.TaskLosses losses) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> losses.gradient(0));
                assertEquals("task gradients were not computed: the combinator must ask for them with gradients()"
                        + " (SharedGradients.REPRESENTATION, LAST_SHARED_LAYER or SHARED_PARAMETERS)", e.getMessage());
                assertThrows(IllegalStateException.class, losses::gram);
                calls[0]++;
                return new org.mtl4j.core.TaskWeights(new double[]{1, 1});
            }
        });
        net.gradient(denseBatch());
        assertEquals(1, calls[0]);
    }
}
