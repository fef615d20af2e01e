package org.mtl4j.core.train;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.Head;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
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

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mtl4j.core.testing.SplitGradients.alone;

/**
 * The per-task gradients a combinator asks for ({@link SharedGradients}): each kind hands over each task's
 * own gradient and their Gram matrix, computed independently here from whole-graph passes with one task's
 * weight 1 and the others 0; the encoder is trained on {@code sum_t w_t g_t} and each head on its head
 * weight, for any finite shared weights; and configurations a kind cannot serve fail at build.
 */
class TaskGradientsTest {

    private static final String[] TASKS = {"c", "r"};

    private static MultiTaskNetwork dense(LossCombinator losses) {
        return SplitGradients.network(losses, new NoOp(), 2);
    }

    private static MultiDataSet batch(long seed, int mb) {
        RandomData d = new RandomData(seed, DataType.DOUBLE);
        double[] mask = new double[mb];
        for (int i = 0; i < mb; i++) {
            mask[i] = i % 3 == 2 ? 0 : 1;
        }
        return RandomData.dataSet(d.gaussian(mb, 4), new INDArray[]{d.oneHot(mb, 3), d.gaussian(mb, 2)},
                new INDArray[]{null, d.mask(mask)});
    }

    /** The entries of {@code flat} that belong to parameters whose key passes {@code keep}, in flat order. */
    private static INDArray select(MultiTaskNetwork net, INDArray flat, Predicate<String> keep) {
        return Nd4j.create(SplitGradients.select(net, flat, keep));
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.reshape(a.length()).sub(b.reshape(b.length())).amaxNumber().doubleValue();
    }

    @ParameterizedTest
    @EnumSource(value = SharedGradients.class, names = {"LAST_SHARED_LAYER", "SHARED_PARAMETERS"})
    void parameterGradientsAreEachTasksOwnAndTheGramMatrixTheirDotProducts(SharedGradients kind) {
        MultiDataSet batch = batch(2, 6);
        RecordingCombinator recording = new RecordingCombinator(kind, 2, 0.5);
        MultiTaskNetwork net = dense(recording);
        net.gradient(batch);
        Predicate<String> shared = kind == SharedGradients.SHARED_PARAMETERS ? k -> k.startsWith("trunk_")
                : k -> k.startsWith("trunk_1_0_");
        INDArray[] expected = new INDArray[TASKS.length];
        for (int t = 0; t < TASKS.length; t++) {
            expected[t] = select(net, alone(t, batch), shared);
            assertTrue(expected[t].amaxNumber().doubleValue() > 0);
            assertEquals(expected[t].length(), recording.lastGradient(t).length());
            assertEquals(0.0, maxDiff(expected[t], recording.lastGradient(t)), 1e-14, TASKS[t]);
        }
        double[][] gram = recording.last().gram();
        for (int i = 0; i < TASKS.length; i++) {
            for (int j = 0; j < TASKS.length; j++) {
                double dot = expected[i].mul(expected[j]).sumNumber().doubleValue();
                assertEquals(dot, gram[i][j], 1e-13 * Math.max(1, Math.abs(dot)));
            }
        }
        assertEquals(gram[0][1], gram[1][0], 0.0);
    }

    @Test
    void representationGramMatrixHoldsTheDotProductsOfTheRepresentationGradients() {
        RecordingCombinator recording = new RecordingCombinator(SharedGradients.REPRESENTATION, 1, 1);
        dense(recording).gradient(batch(3, 5));
        INDArray a = recording.lastGradient(0);
        INDArray b = recording.lastGradient(1);
        assertArrayEquals(new long[]{5, 5}, a.shape());
        double[][] gram = recording.last().gram();
        assertEquals(a.mul(a).sumNumber().doubleValue(), gram[0][0], 1e-15);
        assertEquals(a.mul(b).sumNumber().doubleValue(), gram[0][1], 1e-15);
        assertEquals(b.mul(b).sumNumber().doubleValue(), gram[1][1], 1e-15);
    }

    @Test
    void theGramMatrixOfAFloatNetworkIsComputedInDoublePrecision() {
        RecordingCombinator recording = new RecordingCombinator(SharedGradients.SHARED_PARAMETERS, 1, 1);
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("c", 3)).task(Task.regression("r", 2))
                .losses(recording).updater(new NoOp()).dataType(DataType.FLOAT).seed(13).build();
        RandomData d = new RandomData(2, DataType.FLOAT);
        net.gradient(RandomData.dataSet(d.gaussian(6, 4), new INDArray[]{d.oneHot(6, 3), d.gaussian(6, 2)}, null));
        double[] a = recording.lastGradient(0).toDoubleVector();
        double[] b = recording.lastGradient(1).toDoubleVector();
        double ab = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
        }
        assertEquals(DataType.FLOAT, recording.lastGradient(0).dataType());
        assertEquals(ab, recording.last().gram()[0][1], 1e-15 * Math.abs(ab) * a.length);
    }

    @ParameterizedTest
    @EnumSource(value = SharedGradients.class, names = {"REPRESENTATION", "LAST_SHARED_LAYER", "SHARED_PARAMETERS"})
    void equalWeightsEverywhereGiveTheWholeGraphGradient(SharedGradients kind) {
        MultiDataSet batch = batch(4, 6);
        INDArray whole = dense(FixedWeights.of(1.5, 0.25)).gradient(batch).gradient();
        INDArray split = dense(new RecordingCombinator(kind, 1.5, 0.25)).gradient(batch).gradient();
        assertTrue(whole.amaxNumber().doubleValue() > 0);
        assertEquals(0.0, maxDiff(whole, split), 1e-13);
    }

    @ParameterizedTest
    @EnumSource(value = SharedGradients.class, names = {"REPRESENTATION", "LAST_SHARED_LAYER", "SHARED_PARAMETERS"})
    void encoderFollowsTheSharedWeightsAndEachHeadItsHeadWeight(SharedGradients kind) {
        // shared weights (1.5, -0.5), one of them negative as IMTL-G may give; heads (1, 0.25)
        MultiDataSet batch = batch(5, 6);
        TaskWeights weights = new TaskWeights(new double[]{1.5, -0.5}, new double[]{1, 0.25});
        MultiTaskNetwork net = dense(new RecordingCombinator(kind, weights));
        INDArray g = net.gradient(batch).gradient();
        INDArray c = alone(0, batch);
        INDArray r = alone(1, batch);
        Predicate<String> encoder = k -> k.startsWith("trunk_");
        INDArray expectedEncoder = select(net, c, encoder).mul(1.5).sub(select(net, r, encoder).mul(0.5));
        assertEquals(0.0, maxDiff(expectedEncoder, select(net, g, encoder)), 1e-13);
        Predicate<String> headC = k -> k.startsWith("head_c_");
        Predicate<String> headR = k -> k.startsWith("head_r_");
        assertEquals(0.0, maxDiff(select(net, c, headC), select(net, g, headC)), 1e-13);
        assertEquals(0.0, maxDiff(select(net, r, headR).mul(0.25), select(net, g, headR)), 1e-13);
    }

    @Test
    void sharedParameterGradientsOfARecurrentTrunkWithBothHeadKinds() {
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
        INDArray whole = build.apply(FixedWeights.of(0.3, 1.7)).gradient(batch).gradient();
        RecordingCombinator recording = new RecordingCombinator(SharedGradients.SHARED_PARAMETERS, 0.3, 1.7);
        MultiTaskNetwork net = build.apply(recording);
        assertEquals(0.0, maxDiff(whole, net.gradient(batch).gradient()), 1e-13);
        INDArray tagAlone = build.apply(FixedWeights.of(1, 0)).gradient(batch).gradient();
        assertEquals(0.0, maxDiff(select(net, tagAlone, k -> k.startsWith("trunk_")), recording.lastGradient(0)),
                1e-14);
    }

    @ParameterizedTest
    @EnumSource(value = SharedGradients.class, names = {"REPRESENTATION", "LAST_SHARED_LAYER", "SHARED_PARAMETERS"})
    void convolutionalTrunkWithBatchNormGivesTheWholeGraphGradient(SharedGradients kind) {
        Function<LossCombinator, MultiTaskNetwork> build = losses -> MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.convolutional(6, 6, 1))
                        .stage(new ConvolutionLayer.Builder(3, 3).nOut(2).activation(Activation.TANH).build(),
                                new BatchNormalization.Builder().build(),
                                new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2)
                                        .stride(2, 2).build())
                        .layer(new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build())
                        .build())
                .task(Task.classification("c", 3)).task(Task.regression("r"))
                .losses(losses).updater(new NoOp()).dataType(DataType.DOUBLE).seed(21).build();
        RandomData d = new RandomData(12, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(5, 1, 6, 6), new INDArray[]{d.oneHot(5, 3),
                d.gaussian(5, 1)}, null);
        INDArray whole = build.apply(FixedWeights.of(0.7, 1.3)).gradient(batch).gradient();
        INDArray split = build.apply(new RecordingCombinator(kind, 0.7, 1.3)).gradient(batch).gradient();
        assertTrue(whole.amaxNumber().doubleValue() > 0);
        assertEquals(0.0, maxDiff(whole, split), 1e-13);
    }

    @ParameterizedTest
    @EnumSource(value = SharedGradients.class, names = {"LAST_SHARED_LAYER", "SHARED_PARAMETERS"})
    void repeatedPassesThroughDropoutUseTheForwardPassesMasks(SharedGradients kind) {
        // DL4J's dropout clears its mask in backprop; per-task passes must reuse the forward pass's masks
        Function<LossCombinator, MultiTaskNetwork> build = losses -> MultiTaskNetwork.builder()
                .trunk(SharedTrunk.builder(InputType.feedForward(4))
                        .layer(new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build())
                        .layer(new DenseLayer.Builder().nOut(5).activation(Activation.TANH).dropOut(0.6).build())
                        .build())
                .task(Task.classification("c", 3)).task(Task.regression("r", 2))
                .losses(losses).updater(new NoOp()).dataType(DataType.DOUBLE).seed(23).build();
        MultiDataSet batch = batch(6, 6);
        MultiTaskNetwork wholeNet = build.apply(FixedWeights.of(0.4, 1.1));
        MultiTaskNetwork splitNet = build.apply(new RecordingCombinator(kind, 0.4, 1.1));
        Nd4j.getRandom().setSeed(99);
        INDArray whole = wholeNet.gradient(batch).gradient();
        Nd4j.getRandom().setSeed(99);
        INDArray split = splitNet.gradient(batch).gradient();
        Nd4j.getRandom().setSeed(98);
        INDArray otherMasks = wholeNet.gradient(batch).gradient();
        assertTrue(maxDiff(whole, otherMasks) > 1e-6, "the dropout masks matter");
        assertEquals(0.0, maxDiff(whole, split), 1e-13);
    }

    @Test
    void trainingWithAdamThroughEveryKindMatchesWholeGraphTraining() {
        Function<LossCombinator, MultiTaskNetwork> build = losses -> MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6))
                .task(Task.classification("c", 3)).task(Task.regression("r"))
                .losses(losses).updater(new Adam(0.01)).dataType(DataType.DOUBLE).seed(4).build();
        MultiTaskNetwork whole = build.apply(FixedWeights.of(1.5, 0.25));
        List<MultiTaskNetwork> split = new ArrayList<>();
        for (SharedGradients kind : new SharedGradients[]{SharedGradients.REPRESENTATION,
                SharedGradients.LAST_SHARED_LAYER, SharedGradients.SHARED_PARAMETERS}) {
            split.add(build.apply(new RecordingCombinator(kind, 1.5, 0.25)));
        }
        RandomData d = new RandomData(6, DataType.DOUBLE);
        for (int i = 0; i < 5; i++) {
            int mb = i == 4 ? 3 : 8;   // a short last batch: the gradient buffers follow the minibatch size
            MultiDataSet batch = RandomData.dataSet(d.gaussian(mb, 4), new INDArray[]{d.oneHot(mb, 3),
                    d.gaussian(mb, 1)}, null);
            whole.fit(batch);
            for (MultiTaskNetwork net : split) {
                StepResult step = net.fit(batch);
                assertFalse(step.losses().hasGradients(), "listeners get the losses without the step's gradients");
            }
        }
        for (MultiTaskNetwork net : split) {
            assertEquals(0.0, maxDiff(whole.params(), net.params()), 1e-12, net.losses().toString());
        }
    }

    @Test
    void representationKindsNeedOneRepresentationForEveryTask() {
        for (SharedGradients kind : new SharedGradients[]{SharedGradients.REPRESENTATION,
                SharedGradients.LAST_SHARED_LAYER}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                    .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                    .task(Task.classification("low", 3).withStage(0))
                    .task(Task.regression("high"))
                    .losses(new Named(kind))
                    .build());
            assertEquals("probe reads gradients of kind " + kind + ", which needs one representation read by every"
                    + " task, but task \"low\" reads \"trunk_0_0\" and task \"high\" reads \"trunk_1_0\" (HardSharing);"
                    + " use SharedGradients.SHARED_PARAMETERS", e.getMessage());
        }
        // the same tasks are served on the shared parameters
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 5))
                .task(Task.classification("low", 3).withStage(0))
                .task(Task.regression("high"))
                .losses(new Named(SharedGradients.SHARED_PARAMETERS))
                .build();
        assertEquals(2, net.tasks().size());
    }

    @Test
    void aTrunkWithoutParametersCannotServeParameterGradients() {
        SharedTrunk activationOnly = SharedTrunk.builder(InputType.feedForward(4))
                .layer(new ActivationLayer.Builder().activation(Activation.TANH).build()).build();
        IllegalArgumentException last = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(activationOnly).task(Task.regression("a")).task(Task.regression("b"))
                .losses(new Named(SharedGradients.LAST_SHARED_LAYER)).build());
        assertEquals("probe reads the last shared layer's gradients, but there is no layer with parameters below the"
                + " shared representation \"trunk_0_0\" (reached \"trunk_0_0\")", last.getMessage());
        IllegalArgumentException all = assertThrows(IllegalArgumentException.class, () -> MultiTaskNetwork.builder()
                .trunk(activationOnly).task(Task.regression("a")).task(Task.regression("b"))
                .losses(new Named(SharedGradients.SHARED_PARAMETERS)).build());
        assertEquals("probe reads each task's gradient on the shared parameters, but the encoder has no parameters",
                all.getMessage());
    }

    @Test
    void lastSharedLayerLooksThroughLayersWithoutParameters() {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(4))
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.IDENTITY).build())
                .layer(new ActivationLayer.Builder().activation(Activation.TANH).build()).build();
        RecordingCombinator recording = new RecordingCombinator(SharedGradients.LAST_SHARED_LAYER, 1, 1);
        MultiTaskNetwork net = MultiTaskNetwork.builder().trunk(trunk)
                .task(Task.regression("a")).task(Task.regression("b"))
                .losses(recording).updater(new NoOp()).dataType(DataType.DOUBLE).seed(3).build();
        RandomData d = new RandomData(9, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(5, 4), new INDArray[]{d.gaussian(5, 1), d.gaussian(5, 1)},
                null);
        net.gradient(batch);
        assertEquals(4 * 6 + 6, recording.lastGradient(0).length(), "the dense layer's W and b");
    }

    @Test
    void differentHeadWeightsWithoutTaskGradientsAreAnError() {
        MultiTaskNetwork net = dense(new LossCombinator() {
            @Override
            public TaskWeights combine(TaskLosses losses) {
                return TaskWeights.sharedOnly(new double[]{2, 3});
            }

            @Override
            public String toString() {
                return "probe";
            }
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> net.fit(batch(1, 4)));
        assertEquals("probe weighs heads and shared parameters differently, which needs task gradients: its"
                + " gradients() must not be NONE", e.getMessage());
    }

    @Test
    void taskWeightsRejectNonFiniteWeightsAndNegativeHeadWeights() {
        assertEquals("task weight 1 must be finite, got NaN", assertThrows(IllegalArgumentException.class,
                () -> new TaskWeights(new double[]{1, Double.NaN}, new double[]{1, 1})).getMessage());
        assertEquals("task weight 0 on its head must be finite and >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> new TaskWeights(new double[]{-1, 1})).getMessage());
        assertEquals("2 shared weights but 3 head weights", assertThrows(IllegalArgumentException.class,
                () -> new TaskWeights(new double[]{1, 1}, new double[]{1, 1, 1})).getMessage());
        assertEquals(-0.5, new TaskWeights(new double[]{-0.5, 2}, new double[]{1, 1}).weight(0), 0.0);
    }

    /** A combinator with equal weights that asks for one kind of gradient and calls itself "probe". */
    private record Named(SharedGradients kind) implements LossCombinator {
        @Override
        public TaskWeights combine(TaskLosses losses) {
            return new TaskWeights(new double[]{1, 1});
        }

        @Override
        public SharedGradients gradients() {
            return kind;
        }

        @Override
        public String toString() {
            return "probe";
        }
    }
}
