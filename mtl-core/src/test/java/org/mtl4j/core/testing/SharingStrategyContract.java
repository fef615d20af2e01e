package org.mtl4j.core.testing;

import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.testing.TrunkFixtures.Trunk;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The contract every {@link SharingStrategy} keeps, as tests a module runs by implementing this interface and
 * listing its strategies in {@link #strategies()}, one {@link ContractCase} line each.
 *
 * <p>Checked for every configuration: the JSON round trip; a saved model gives the same outputs and resumes
 * bit for bit; steps on dense, convolutional and recurrent trunks and a task hierarchy give finite losses and
 * move the parameters; the case's refusals are refused with a message naming them; and the whole network's
 * gradient, the strategy's penalty included, passes a numeric check in double precision.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public interface SharingStrategyContract {

    /** The strategies under contract, one case each. */
    Stream<ContractCase<SharingStrategy>> strategies();

    /** Every case on every trunk kind. */
    default Stream<Arguments> strategiesOnTrunks() {
        return ContractChecks.onEveryTrunk(strategies());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("strategies")
    default void everyConfigurationRoundTripsThroughJson(ContractCase<SharingStrategy> c) {
        c.configurations().get().forEach(ContractChecks::assertJsonRoundTrip);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("strategies")
    default void aSavedModelResumesBitForBit(ContractCase<SharingStrategy> c, @TempDir Path dir) throws Exception {
        ContractChecks.assertEveryConfigurationResumes(c, MultiTaskNetwork.Builder::sharing, dir);
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("strategiesOnTrunks")
    default void stepsOnEveryTrunkGiveFiniteLossesAndMoveTheParameters(ContractCase<SharingStrategy> c, Trunk trunk) {
        List<MultiDataSet> data = TrunkFixtures.batches(trunk, DataType.FLOAT, 3, 3, 6);
        for (int k = 0; k < c.size(); k++) {
            ContractChecks.assertTrains(TrunkFixtures.builder(trunk, DataType.FLOAT).sharing(c.configuration(k))
                    .updater(new Adam(0.01)).build(), data);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("strategies")
    default void theCaseRefusalsAreRefused(ContractCase<SharingStrategy> c) {
        ContractChecks.assertRefusals(c, MultiTaskNetwork.Builder::sharing);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("strategies")
    default void theGradientPassesANumericCheckInDoublePrecision(ContractCase<SharingStrategy> c) {
        MultiDataSet batch = TrunkFixtures.batch(Trunk.DENSE, DataType.DOUBLE, 9, 3);
        double[] weights = {0.7, 1.3, 1.0};
        for (int k = 0; k < c.size(); k++) {
            var net = TrunkFixtures.dense(DataType.DOUBLE, 3).sharing(c.configuration(k))
                    .losses(FixedWeights.of(weights)).updater(new Sgd(0.1)).build();
            NumericGradient.Report report = NumericGradient.check(net, batch, weights, 1e-6, 1e-3, 1e-9);
            assertEquals(0, report.failed(), c + " config " + k + ": " + report);
        }
    }
}
