package org.mtl4j.core.testing;

import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskLosses;
import org.mtl4j.core.TaskWeights;
import org.mtl4j.core.graph.ParamLayout;
import org.mtl4j.core.testing.TrunkFixtures.Trunk;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract every {@link LossCombinator} keeps, as tests a module runs by implementing this interface and
 * listing its combinators in {@link #combinators()}, one {@link ContractCase} line each.
 *
 * <p>Checked for every configuration: the JSON round trip; a saved model resumes bit for bit; {@code state()}
 * and {@code restoreState()} are inverse; merging the states of workers that agree gives their state back; a
 * state of another task count and the case's refusals are refused with a message naming them; steps on dense, convolutional and recurrent trunks and a task hierarchy give
 * finite losses and move the parameters; and for a combinator that reads task gradients, the network's
 * gradient is a finite difference of {@code sum_t c_t L_t} with its coefficients held fixed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public interface LossCombinatorContract {

    /** The combinators under contract, one case each. */
    Stream<ContractCase<LossCombinator>> combinators();

    /** Every case on every trunk kind. */
    default Stream<Arguments> combinatorsOnTrunks() {
        return ContractChecks.onEveryTrunk(combinators());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("combinators")
    default void everyConfigurationRoundTripsThroughJson(ContractCase<LossCombinator> c) {
        c.configurations().get().forEach(ContractChecks::assertJsonRoundTrip);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("combinators")
    default void aSavedModelResumesBitForBit(ContractCase<LossCombinator> c, @TempDir Path dir) throws Exception {
        ContractChecks.assertEveryConfigurationResumes(c, MultiTaskNetwork.Builder::losses, dir);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("combinators")
    default void restoreStateIsTheInverseOfStateAndTheNextStepsAgree(ContractCase<LossCombinator> c) {
        // ten steps of two per epoch, restored mid-epoch 2: a history of two earlier epochs must come back
        List<TaskLosses> steps = stepLosses(3, 10);
        for (int k = 0; k < c.size(); k++) {
            LossCombinator trained = initialised(c.configuration(k), 3);
            steps.subList(0, 5).forEach(l -> step(trained, l));
            double[] state = trained.state();
            LossCombinator restored = initialised(c.configuration(k), 3);
            restored.restoreState(state.clone());
            ContractChecks.assertSameBits(state, restored.state(), c + " config " + k + ": state after restoreState");
            for (TaskLosses l : steps.subList(5, 10)) {
                assertEquals(step(trained, l), step(restored, l), c + " config " + k + ": weights after restoring");
                ContractChecks.assertSameBits(trained.state(), restored.state(), c + " config " + k + ": state");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("combinators")
    default void aStateOfAnotherTaskCountAndTheCaseRefusalsAreRefused(ContractCase<LossCombinator> c) {
        for (int k = 0; k < c.size(); k++) {
            LossCombinator three = initialised(c.configuration(k), 3);
            step(three, stepLosses(3, 1).get(0));
            double[] state = three.state();
            LossCombinator two;
            try {
                two = initialised(c.configuration(k), 2);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().contains("2") || e.getMessage().contains("\"s\""), "a configuration for"
                        + " tasks c, r, s refuses c, r naming the count or the missing task: " + e.getMessage());
                continue;
            }
            if (two.state().length != state.length) {
                String message = assertThrows(IllegalArgumentException.class, () -> two.restoreState(state),
                        c + " config " + k + ": a 3-task state restored for 2 tasks").getMessage();
                assertTrue(message.contains(String.valueOf(state.length)), "the message names the length "
                        + state.length + ": " + message);
            }
        }
        ContractChecks.assertRefusals(c, MultiTaskNetwork.Builder::losses);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("combinators")
    default void mergingTheStatesOfWorkersThatAgreeGivesTheirState(ContractCase<LossCombinator> c) {
        List<TaskLosses> steps = stepLosses(3, 5);
        for (int k = 0; k < c.size(); k++) {
            LossCombinator combinator = initialised(c.configuration(k), 3);
            double[] start = combinator.state();
            steps.forEach(l -> step(combinator, l));
            double[] end = combinator.state();
            String config = c + " config " + k;
            ContractChecks.assertSameBits(end, combinator.mergeStates(start, List.of(end.clone())),
                    config + ": one worker's state (Spark with one worker equals local training)");
            ContractChecks.assertSameBits(end, combinator.mergeStates(start, List.of(end.clone(), end.clone())),
                    config + ": two workers that ended in one state");
            ContractChecks.assertSameBits(end, combinator.state(), config + ": merging leaves the combinator's state");
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("combinatorsOnTrunks")
    default void stepsOnEveryTrunkGiveFiniteLossesAndMoveTheParameters(ContractCase<LossCombinator> c, Trunk trunk) {
        List<MultiDataSet> data = TrunkFixtures.batches(trunk, DataType.FLOAT, 3, 3, 6);
        for (int k = 0; k < c.size(); k++) {
            LossCombinator config = c.configuration(k);
            // a task hierarchy has no representation every task reads: the kind the combinator chooses there
            SharedGradients kind = config.gradients(trunk != Trunk.HIERARCHY);
            MultiTaskNetwork.Builder b = TrunkFixtures.builder(trunk, DataType.FLOAT).losses(config)
                    .updater(new Adam(0.01));
            if (trunk == Trunk.HIERARCHY
                    && (kind == SharedGradients.REPRESENTATION || kind == SharedGradients.LAST_SHARED_LAYER)) {
                String message = assertThrows(IllegalArgumentException.class, b::build).getMessage();
                assertTrue(message.contains("needs one representation read by every task"), message);
            } else {
                ContractChecks.assertTrains(b.build(), data);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("combinators")
    default void theGradientIsAFiniteDifferenceOfTheLossesWeightedByTheReturnedCoefficients(
            ContractCase<LossCombinator> c) {
        MultiDataSet batch = TrunkFixtures.batch(Trunk.DENSE, DataType.DOUBLE, 7, 5);
        for (int k = 0; k < c.size(); k++) {
            LossCombinator config = c.configuration(k);
            if (config.gradients() == SharedGradients.NONE) {
                continue;
            }
            MultiTaskNetwork net = TrunkFixtures.dense(DataType.DOUBLE, 3).losses(config).updater(new Sgd(0.1)).build();
            var result = net.gradient(batch);
            TaskWeights w = result.weights();
            int[] owner = headOwners(net);
            NumericGradient.Report report = NumericGradient.check(net, batch, result.gradient(),
                    i -> owner[(int) i] < 0 ? w.weights() : w.headWeights(), 1e-6, 1e-5, 1e-9);
            assertEquals(0, report.failed(), c + " config " + k + " (" + w + "): " + report);
        }
    }

    /** For every parameter of {@code net}'s flat vector, the index of the task whose head holds it, or -1. */
    private static int[] headOwners(MultiTaskNetwork net) {
        INDArray owners = Nd4j.valueArrayOf(net.params().shape(), -1.0, net.params().dataType());
        List<String> names = net.taskNames();
        for (String key : net.graph().paramTable().keySet()) {
            for (int t = 0; t < names.size(); t++) {
                if (key.startsWith("head_" + names.get(t) + "_")) {
                    ParamLayout.slice(net.graph(), owners, key).assign(t);
                }
            }
        }
        return Arrays.stream(owners.toDoubleVector()).mapToInt(v -> (int) v).toArray();
    }

    /** {@code n} steps' losses of {@code tasks} tasks with random gradient vectors, two steps per epoch. */
    private static List<TaskLosses> stepLosses(int tasks, int n) {
        Random random = new Random(17);
        return IntStream.range(0, n).mapToObj(i -> {
            double[] values = random.doubles(tasks, 0.2, 2).toArray();
            return GradientVectors.losses(i, i / 2, values, GradientVectors.randomGradients(random, tasks, 5));
        }).toList();
    }

    /** {@code combinator} initialised for the first {@code tasks} tasks of the dense fixture, with Adam. */
    private static LossCombinator initialised(LossCombinator combinator, int tasks) {
        List<Task> all = List.of(Task.classification("c", 3), Task.regression("r", 2), Task.regression("s"));
        combinator.init(all.subList(0, tasks), new Adam(0.01));
        return combinator;
    }

    /** One step of a combinator: its weights, then its update. */
    private static TaskWeights step(LossCombinator combinator, TaskLosses losses) {
        TaskWeights w = combinator.combine(losses);
        combinator.update(losses, w);
        return w;
    }
}
