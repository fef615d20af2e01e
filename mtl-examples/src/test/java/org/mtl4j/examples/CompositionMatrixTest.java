package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.Task;
import org.mtl4j.losses.CaGrad;
import org.mtl4j.losses.DynamicWeightAverage;
import org.mtl4j.losses.GeometricLossStrategy;
import org.mtl4j.losses.GradNorm;
import org.mtl4j.losses.Imtl;
import org.mtl4j.losses.Mgda;
import org.mtl4j.losses.PcGrad;
import org.mtl4j.losses.RandomLossWeighting;
import org.mtl4j.losses.UncertaintyWeighting;
import org.mtl4j.sharing.CrossStitch;
import org.mtl4j.sharing.Sluice;
import org.mtl4j.sharing.SoftSharing;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Any strategy line of the README's menu composes with any combinator line (issue #17): every strategy and
 * every combinator, default-constructed, builds on the quickstart's trunk (dense 20, 32, 16 ReLU; a 3-class and a
 * regression task) and trains a step: finite losses, moved parameters. Before the fix 16 of the 40 pairs failed
 * at build() (the 10 sluice pairs; MGDA, IMTL and GradNorm with soft sharing and cross-stitch).
 */
class CompositionMatrixTest {

    private static final List<Supplier<SharingStrategy>> STRATEGIES = List.of(HardSharing::new, () -> SoftSharing.of(1e-2),
            CrossStitch::new, Sluice::new);

    private static final List<Supplier<LossCombinator>> COMBINATORS = List.of(FixedWeights::equal,
            UncertaintyWeighting::new, DynamicWeightAverage::new, RandomLossWeighting::new, GeometricLossStrategy::new,
            GradNorm::new, Mgda::new, PcGrad::new, CaGrad::new, Imtl::new);

    static Stream<Arguments> pairs() {
        return STRATEGIES.stream().flatMap(s -> COMBINATORS.stream().map(c -> Arguments.of(s.get(), c.get())));
    }

    @ParameterizedTest(name = "{0} with {1}")
    @MethodSource("pairs")
    void everyStrategyTrainsWithEveryCombinator(SharingStrategy sharing, LossCombinator combinator) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(20))
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .build();
        MultiTaskNetwork net = MultiTaskNetwork.builder()
                .trunk(trunk)
                .task(Task.classification("segment", 3))
                .task(Task.regression("spend"))
                .sharing(sharing)
                .losses(combinator)
                .updater(new Adam(5e-3))
                .seed(42)
                .build();
        Random random = new Random(42);
        double[][] mixing = new double[2][20];
        for (double[] row : mixing) {
            for (int j = 0; j < row.length; j++) {
                row[j] = random.nextGaussian();
            }
        }
        MultiDataSet batch = Quickstart.batches(16, 16, mixing, random).next();
        INDArray before = net.params().dup();
        StepResult step = net.fit(batch);
        for (int t = 0; t < 2; t++) {
            assertTrue(Double.isFinite(step.losses().loss(t)), sharing + " with " + combinator + ": loss of task " + t
                    + " is " + step.losses().loss(t));
        }
        assertFalse(before.equals(net.params()), sharing + " with " + combinator + ": no parameter changed");
        for (double p : net.params().toDoubleVector()) {
            assertTrue(Double.isFinite(p), sharing + " with " + combinator + ": a parameter is " + p);
        }
    }
}
