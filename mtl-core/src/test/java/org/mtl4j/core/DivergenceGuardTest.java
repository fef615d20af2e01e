package org.mtl4j.core;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.api.Test;
import org.mtl4j.core.testing.Exact;
import org.mtl4j.core.testing.RandomData;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer's divergence guard: an exploding but finite loss stops the run and the best network is kept. */
class DivergenceGuardTest {

    /** A ReLU trunk trained by Adam at learning rate {@code rate}: at 50 its losses explode but stay finite. */
    private static MultiTaskNetwork network(double rate) {
        return MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.feedForward(4))
                        .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                        .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                        .build())
                .task(Task.classification("c", 3))
                .task(Task.regression("r"))
                .updater(new Adam(rate)).seed(5).build();
    }

    private static TestMultiDataSetIterator data() {
        RandomData d = new RandomData(8, DataType.FLOAT);
        List<MultiDataSet> batches = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            batches.add(RandomData.dataSet(d.gaussian(16, 4), new INDArray[]{d.oneHot(16, 3), d.gaussian(16, 1)}, null));
        }
        return new TestMultiDataSetIterator(1, batches.toArray(new MultiDataSet[0]));
    }

    @Test
    void aLossThatExplodesInTheFirstEpochStopsItAndTheBestNetworkIsTheStartingOne() {
        List<StepResult> steps = new ArrayList<>();
        TrainingListener record = new TrainingListener() {
            @Override
            public void onStep(MultiTaskNetwork network, StepResult step) {
                steps.add(step);
            }
        };
        TrainingResult result = Trainer.builder().epochs(20).listeners(record).build().fit(network(50), data());
        EpochRecord first = result.history().records().get(0);
        assertEquals(1, result.history().size(), "stopped after the first epoch");
        assertTrue(result.stoppedEarly());
        assertEquals("task \"r\" diverged: its training loss in epoch 1 is " + first.trainLoss().get("r") + ", more than"
                + " 1000000.0 times its loss at the run's first step with a label for it (" + steps.get(0).losses().loss(1)
                + " at iteration 0); training stopped. Lower the learning rate, or raise"
                + " Trainer.Builder.divergenceFactor", result.divergence());
        assertEquals(0, result.bestEpoch());
        Exact.assertSameValues(network(50).params(), result.best().params(), "the network the run started from");
        assertTrue(result.best() != result.network());
    }

    @Test
    void aLaterDivergenceStopsTheRunAndTheBestNetworkIsTheLowestEpochs() {
        ScaledFrom iterator = new ScaledFrom(4, 1e4);
        TrainingResult result = Trainer.builder().epochs(20).build().fit(network(0.01), iterator);
        List<EpochRecord> epochs = result.history().records();
        assertEquals(4, epochs.size(), "labels scaled by 1e4 from epoch 4 on: the loss grows about 1e8 times");
        assertTrue(result.divergence().startsWith("task \"r\" diverged: its training loss in epoch 4 is "),
                result.divergence());
        int lowest = 0;
        for (int i = 1; i < 3; i++) {
            lowest = total(epochs.get(i)) < total(epochs.get(lowest)) ? i : lowest;
        }
        assertEquals(epochs.get(lowest).epoch(), result.bestEpoch());
        MultiTaskNetwork replay = network(0.01);
        replay.fit(data(), result.bestEpoch());
        Exact.assertSameValues(replay.params(), result.best().params(), "the best network is the lowest epoch's");
        Exact.assertSameValues(replay.graph().getUpdater(true).getStateViewArray(),
                result.best().graph().getUpdater(true).getStateViewArray(), "with its updater state");
        assertEquals(replay.iterationCount(), result.best().iterationCount());
        assertEquals(result.bestEpoch(), result.best().epochCount());
    }

    /** {@link #data()}, with task r's labels multiplied by {@code scale} from epoch {@code from} (counted from 1). */
    private static final class ScaledFrom implements MultiDataSetIterator {
        private final int from;
        private final double scale;
        private final TestMultiDataSetIterator plain = data();
        private int epoch;

        ScaledFrom(int from, double scale) {
            this.from = from;
            this.scale = scale;
        }

        @Override
        public org.nd4j.linalg.dataset.api.MultiDataSet next() {
            org.nd4j.linalg.dataset.api.MultiDataSet b = plain.next();
            if (epoch < from) {
                return b;
            }
            return new MultiDataSet(b.getFeatures(), new INDArray[]{b.getLabels(0), b.getLabels(1).mul(scale)});
        }

        @Override
        public org.nd4j.linalg.dataset.api.MultiDataSet next(int num) {
            return next();
        }

        @Override
        public boolean hasNext() {
            return plain.hasNext();
        }

        @Override
        public void reset() {
            epoch++;
            plain.reset();
        }

        @Override
        public boolean resetSupported() {
            return true;
        }

        @Override
        public boolean asyncSupported() {
            return false;
        }

        @Override
        public void setPreProcessor(MultiDataSetPreProcessor preProcessor) {
            throw new UnsupportedOperationException();
        }

        @Override
        public MultiDataSetPreProcessor getPreProcessor() {
            return null;
        }
    }

    @Test
    void anInfiniteFactorSwitchesTheGuardOffAndAStableRunIsNotStopped() {
        TrainingResult off = Trainer.builder().epochs(12).divergenceFactor(Double.POSITIVE_INFINITY).build()
                .fit(network(50), data());
        assertEquals(12, off.history().size());
        assertNull(off.divergence());
        TrainingResult stable = Trainer.builder().epochs(12).build().fit(network(0.01), data());
        assertEquals(12, stable.history().size());
        assertNull(stable.divergence());
        assertTrue(stable.best() == stable.network());
    }

    @Test
    void aFactorOfOneOrLessIsRefused() {
        for (double f : new double[]{1, 0.5, Double.NaN}) {
            assertEquals("the divergence factor must be > 1 (Double.POSITIVE_INFINITY switches the guard off), got " + f,
                    assertThrows(IllegalArgumentException.class, () -> Trainer.builder().divergenceFactor(f))
                            .getMessage());
        }
    }

    private static double total(EpochRecord e) {
        return e.trainLoss().values().stream().mapToDouble(Double::doubleValue).sum();
    }
}
