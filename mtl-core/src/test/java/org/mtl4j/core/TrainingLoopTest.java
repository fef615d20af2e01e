package org.mtl4j.core;

import org.junit.jupiter.api.Test;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** fit over epochs, listeners, output and evaluate. */
class TrainingLoopTest {

    private static MultiTaskNetwork network() {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(3, Activation.TANH, 16))
                .task(Task.classification("sign", 2))
                .task(Task.regression("sum"))
                .task(Task.regression("noise").asAuxiliary())
                .losses(FixedWeights.of(1, 1, 0.5))
                .updater(new Adam(0.05))
                .seed(5)
                .build();
    }

    /** Three learnable tasks from 3 features: sign of the sum (2 classes), the sum, and noise. */
    private static List<MultiDataSet> data(int batches, int mb, long seed) {
        return TrainerTest.data(batches, mb, seed, false);
    }

    private static MultiDataSetIterator iterator(List<MultiDataSet> data) {
        return new TestMultiDataSetIterator(1, data.toArray(new org.nd4j.linalg.dataset.MultiDataSet[0]));
    }

    @Test
    void fitOverEpochsAdvancesCountsAndTellsListeners() {
        MultiTaskNetwork net = network();
        List<StepResult> steps = new ArrayList<>();
        List<Integer> epochs = new ArrayList<>();
        net.addListeners(new TrainingListener() {
            @Override
            public void onStep(MultiTaskNetwork network, StepResult step) {
                steps.add(step);
            }

            @Override
            public void onEpochEnd(MultiTaskNetwork network, EpochRecord record) {
                epochs.add(record.epoch());
            }
        }, new LoggingListener(4));

        net.fit(iterator(data(4, 16, 1)), 3);

        assertEquals(12, net.iterationCount());
        assertEquals(3, net.epochCount());
        assertEquals(List.of(1, 2, 3), epochs);
        assertEquals(12, steps.size());
        for (int i = 0; i < steps.size(); i++) {
            StepResult s = steps.get(i);
            assertEquals(i, s.iteration());
            assertEquals(i / 4, s.epoch());
            assertEquals(List.of("sign", "sum", "noise"), s.taskNames());
            assertArrayEquals(new double[]{1, 1, 0.5}, s.weights().weights());
            assertEquals(16, s.minibatch());
            double expectedTotal = s.losses().loss(0) + s.losses().loss(1) + 0.5 * s.losses().loss(2);
            assertEquals(expectedTotal, s.totalLoss(), 1e-12);
        }
    }

    @Test
    void trainingLearnsTheTasksAndEvaluateReportsMainTasksOnly() {
        MultiTaskNetwork net = network();
        List<MultiDataSet> train = data(20, 32, 2);
        TaskLosses before = net.losses(train.get(0));
        net.fit(iterator(train), 15);
        TaskLosses after = net.losses(train.get(0));
        assertTrue(after.loss(0) < 0.5 * before.loss(0), "classification loss " + before.loss(0) + " -> " + after.loss(0));
        assertTrue(after.loss(1) < 0.2 * before.loss(1), "regression loss " + before.loss(1) + " -> " + after.loss(1));

        TaskEvaluations eval = net.evaluate(iterator(data(5, 40, 3)));
        assertEquals(List.of("sign", "sum"), eval.taskNames());
        Evaluation sign = eval.classification("sign");
        assertEquals(200, sign.getNumRowCounter(), 0.0);
        assertTrue(sign.accuracy() > 0.9, "accuracy " + sign.accuracy());
        assertTrue(eval.regression("sum").averageRSquared() > 0.9, eval.summary());
        assertEquals(List.of("sign", "sum", "noise"), net.evaluate(iterator(data(1, 8, 4)), true).taskNames());
        IllegalArgumentException wrongKind = assertThrows(IllegalArgumentException.class, () -> eval.regression("sign"));
        assertEquals("task \"sign\" was evaluated with Evaluation, not RegressionEvaluation", wrongKind.getMessage());
    }

    @Test
    void outputGivesEachTasksActivatedPredictionInTaskOrder() {
        MultiTaskNetwork net = network();
        INDArray x = new RandomData(6, DataType.FLOAT).gaussian(5, 3);
        Map<String, INDArray> out = net.output(x);
        assertEquals(List.of("sign", "sum", "noise"), new ArrayList<>(out.keySet()));
        assertArrayEquals(new long[]{5, 2}, out.get("sign").shape());
        assertArrayEquals(new long[]{5, 1}, out.get("sum").shape());
        INDArray rowSums = out.get("sign").sum(1);
        for (int i = 0; i < 5; i++) {
            assertEquals(1.0, rowSums.getDouble(i), 1e-5, "softmax row " + i);
        }
        INDArray[] raw = net.graph().output(x);
        assertEquals(raw[1], out.get("sum"), "regression output is the identity of the projection");
    }

    @Test
    void multipleEpochsNeedAResettableIterator() {
        MultiTaskNetwork net = network();
        MultiDataSetIterator once = new TestMultiDataSetIterator(1, data(1, 4, 7).toArray(
                new org.nd4j.linalg.dataset.MultiDataSet[0])) {
            @Override
            public boolean resetSupported() {
                return false;
            }
        };
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.fit(once, 2));
        assertTrue(e.getMessage().startsWith("training for 2 epochs needs an iterator that can reset"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> net.fit(iterator(data(1, 4, 7)), 0));
    }
}
