package org.mtl4j.sharing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.testing.RandomData;
import org.mtl4j.core.testing.RecordingCombinator;
import org.mtl4j.core.testing.TestModels;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradient-level combinators on multi-column strategies read each task's gradient on every encoder
 * parameter (one encoder backward per task, through the mixing units): with fixed coefficients the result is
 * the whole-graph gradient, penalties included, for every strategy; a penalty on activations is refused.
 */
class SharedParameterGradientsTest {

    static List<Supplier<SharingStrategy>> strategies() {
        return List.of(CrossStitch::new,
                () -> CrossStitch.builder().perChannel(true).build(),
                Sluice::new,
                () -> Sluice.builder().orthogonality(Sluice.Orthogonality.WEIGHTS).lambda(0.05).build(),
                () -> Sluice.builder().beta(Sluice.Beta.CONCAT).build(),
                () -> SoftSharing.of(0.1));
    }

    private static MultiTaskNetwork network(SharingStrategy sharing, LossCombinator losses) {
        return MultiTaskNetwork.builder()
                .trunk(TestModels.denseTrunk(4, Activation.TANH, 6, 6))
                .task(Task.classification("c", 3))
                .task(Task.regression("r"))
                .task(Task.regression("low", 2).withStage(0))
                .sharing(sharing).losses(losses).updater(new NoOp()).dataType(DataType.DOUBLE).seed(31).build();
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void fixedCoefficientsOnSharedParameterGradientsGiveTheWholeGraphGradient(Supplier<SharingStrategy> strategy) {
        RandomData d = new RandomData(5, DataType.DOUBLE);
        MultiDataSet batch = RandomData.dataSet(d.gaussian(5, 4),
                new INDArray[]{d.oneHot(5, 3), d.gaussian(5, 1), d.gaussian(5, 2)},
                new INDArray[]{null, d.mask(1, 0, 1, 1, 0), null});
        INDArray whole = network(strategy.get(), FixedWeights.of(1.5, 0.5, 0.75)).gradient(batch).gradient();
        INDArray split = network(strategy.get(),
                new RecordingCombinator(SharedGradients.SHARED_PARAMETERS, 1.5, 0.5, 0.75)).gradient(batch).gradient();
        assertTrue(whole.amaxNumber().doubleValue() > 0);
        assertEquals(0.0, whole.sub(split).amaxNumber().doubleValue(), 1e-12, strategy.get().toString());
    }

    @Test
    void sluiceOrthogonalityOnActivationsIsRefusedForSharedParameterGradients() {
        Sluice sluice = Sluice.builder().lambda(0.01).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> network(sluice,
                new RecordingCombinator(SharedGradients.SHARED_PARAMETERS, 1, 1, 1)));
        assertTrue(e.getMessage().endsWith(" reads each task's gradient on the shared parameters, but " + sluice
                + " penalises activations, whose gradient joins every task's; penalise weights instead (sluice:"
                + " Orthogonality.WEIGHTS), or switch the penalty off"), e.getMessage());
    }
}
