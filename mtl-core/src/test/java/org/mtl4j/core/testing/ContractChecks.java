package org.mtl4j.core.testing;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.junit.jupiter.params.provider.Arguments;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedGradients;
import org.mtl4j.core.StepResult;
import org.mtl4j.core.TaskWeights;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The checks both contract kits make: JSON round trips, bit-for-bit resumption and training on a trunk. */
public final class ContractChecks {

    private ContractChecks() {
    }

    /**
     * Asserts that {@code config} comes back from DL4J's JSON mapper equal and of the same class, and that writing
     * it again gives the same JSON. Catches a {@code @JsonProperty} whose name does not match its creator's when
     * {@code config} sets that option away from its default (the mapper ignores unknown fields).
     */
    public static void assertJsonRoundTrip(Object config) {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        try {
            String json = mapper.writeValueAsString(config);
            Object back = mapper.readValue(json, config.getClass());
            assertEquals(config, back, "read back from " + json);
            assertEquals(json, mapper.writeValueAsString(back), "written again");
        } catch (IOException e) {
            fail(config + " does not round-trip through DL4J's JSON mapper: " + e.getMessage(), e);
        }
    }

    /**
     * Asserts what a combinator whose paper reads one representation's gradients does by default: {@code auto}
     * leaves its kind unset (it reads {@code paper} where every task reads one representation and
     * {@link SharedGradients#SHARED_PARAMETERS} otherwise), {@code explicit} keeps {@code paper} on any network,
     * and both survive DL4J's JSON mapper: an explicit kind stays explicit and a null kind comes back unset.
     *
     * @param auto     the combinator as its no-argument constructor makes it
     * @param explicit the same with its kind set to {@code paper} explicitly
     * @param paper    the paper's kind
     * @throws IOException when the JSON cannot be written or read
     */
    public static void assertDefaultGradientKindFollowsTheNetwork(LossCombinator auto, LossCombinator explicit,
                                                                  SharedGradients paper) throws IOException {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        Class<? extends LossCombinator> type = auto.getClass();
        assertEquals(auto, mapper.readValue(mapper.writeValueAsString(auto), type));
        assertEquals(explicit, mapper.readValue(mapper.writeValueAsString(explicit), type));
        assertNotEquals(auto, explicit);
        assertEquals(paper, auto.gradients(), "the paper's kind on one representation");
        assertEquals(paper, auto.gradients(true));
        assertEquals(SharedGradients.SHARED_PARAMETERS, auto.gradients(false), "any network serves the fallback");
        assertEquals(paper, explicit.gradients(false), "an explicit kind is kept");
        String json = mapper.writeValueAsString(explicit).replace("{", "{\"unknownField\":1,");
        assertEquals(explicit, mapper.readValue(json, type), "a saved explicit kind stays explicit");
        String unset = json.replaceAll("\"gradients\"\\s*:\\s*\"" + paper + "\"", "\"gradients\":null");
        assertNotEquals(json, unset);
        assertEquals(auto, mapper.readValue(unset, type), "a saved null kind is not set");
    }

    /**
     * Asserts {@link #assertResumesBitForBit} for every configuration of {@code c}, installed by {@code install}
     * in the dense fixture with Adam: four 3-step epochs, saved mid-epoch 1, at the boundary to epoch 2 and
     * mid-epoch 2 (when a history of two epochs is kept).
     */
    public static <T> void assertEveryConfigurationResumes(ContractCase<T> c,
                                                           BiFunction<MultiTaskNetwork.Builder, T, MultiTaskNetwork.Builder> install,
                                                           Path dir) throws IOException {
        List<MultiDataSet> epoch = TrunkFixtures.batches(TrunkFixtures.Trunk.DENSE, DataType.FLOAT, 5, 3, 8);
        for (int k = 0; k < c.size(); k++) {
            int config = k;
            Path folder = Files.createDirectories(dir.resolve("config" + k));
            for (int savedAfter : new int[]{4, 6, 7}) {
                assertResumesBitForBit(() -> install.apply(TrunkFixtures.dense(DataType.FLOAT, 3), c.configuration(config))
                        .updater(new Adam(0.01)).build(), epoch, 4, savedAfter, folder);
            }
        }
    }

    /** Asserts that the dense fixture, built with each of {@code c}'s refusals, fails with its message. */
    public static <T> void assertRefusals(ContractCase<T> c,
                                          BiFunction<MultiTaskNetwork.Builder, T, MultiTaskNetwork.Builder> install) {
        for (ContractCase.Refusal<T> r : c.refusals()) {
            String message = assertThrows(IllegalArgumentException.class, () -> install.apply(
                    TrunkFixtures.dense(DataType.FLOAT, 3), r.configuration().get()).build(), c + ": " + r.message())
                    .getMessage();
            assertTrue(message.contains(r.message()), "expected \"" + r.message() + "\" in: " + message);
        }
    }

    /** Every case paired with every trunk kind, as arguments of a parameterized test. */
    public static <T> Stream<Arguments> onEveryTrunk(Stream<ContractCase<T>> cases) {
        return cases.flatMap(c -> Arrays.stream(TrunkFixtures.Trunk.values()).map(t -> Arguments.of(c, t)));
    }

    /**
     * Trains one network for {@code epochs} epochs over {@code epoch} (closing each epoch as
     * {@code fit(iterator, epochs)} does) and another for its first {@code savedAfter} steps, saves and loads the
     * second and trains it on; asserts that loading keeps the configuration, parameters, updater state,
     * combinator state, iteration count and outputs bit for bit, and that the resumed network ends bit for bit
     * where the uninterrupted one did, with the same weights at every step.
     */
    public static void assertResumesBitForBit(Supplier<MultiTaskNetwork> build, List<MultiDataSet> epoch, int epochs,
                                              int savedAfter, Path dir) {
        int steps = epoch.size() * epochs;
        MultiTaskNetwork uninterrupted = build.get();
        List<TaskWeights> expected = train(uninterrupted, epoch, 0, steps);

        MultiTaskNetwork interrupted = build.get();
        List<TaskWeights> weights = train(interrupted, epoch, 0, savedAfter);
        File file = dir.resolve("resume-" + savedAfter + ".mtl4j").toFile();
        MultiTaskNetwork resumed;
        try {
            interrupted.save(file);
            resumed = MultiTaskNetwork.load(file);
        } catch (IOException e) {
            throw new AssertionError("save/load failed: " + e.getMessage(), e);
        }
        String when = " after load (saved after " + savedAfter + " steps)";
        assertEquals(interrupted.sharing(), resumed.sharing(), "sharing strategy" + when);
        assertEquals(interrupted.losses(), resumed.losses(), "combinator" + when);
        Exact.assertSameValues(interrupted.params(), resumed.params(), "parameters" + when);
        assertSameUpdaterState(interrupted, resumed, when);
        assertSameBits(interrupted.losses().state(), resumed.losses().state(), "combinator state" + when);
        assertEquals(interrupted.iterationCount(), resumed.iterationCount(), "iteration count" + when);
        assertEquals(interrupted.epochCount(), resumed.epochCount(), "epoch count" + when);
        INDArray x = epoch.get(0).getFeatures(0);
        Exact.assertSameOutputs(interrupted.output(x), resumed.output(x));

        weights.addAll(train(resumed, epoch, savedAfter, steps));
        String end = " at the end (saved after " + savedAfter + " steps)";
        assertEquals(expected, weights, "weights of every step" + end);
        Exact.assertSameValues(uninterrupted.params(), resumed.params(), "parameters" + end);
        assertSameUpdaterState(uninterrupted, resumed, end);
        assertSameBits(uninterrupted.losses().state(), resumed.losses().state(), "combinator state" + end);
    }

    /** Steps {@code from} (inclusive) to {@code to} (exclusive) of an epoch loop over {@code epoch}. */
    private static List<TaskWeights> train(MultiTaskNetwork net, List<MultiDataSet> epoch, int from, int to) {
        List<TaskWeights> weights = new ArrayList<>();
        for (int i = from; i < to; i++) {
            weights.add(net.fit(epoch.get(i % epoch.size())).weights());
            if ((i + 1) % epoch.size() == 0) {
                net.graph().incrementEpochCount();
            }
        }
        return weights;
    }

    /** Fits {@code data} and asserts finite losses, weights and penalties and that every step moved the parameters. */
    public static void assertTrains(MultiTaskNetwork net, List<MultiDataSet> data) {
        for (MultiDataSet batch : data) {
            INDArray before = net.params().dup();
            StepResult step = net.fit(batch);
            for (int t = 0; t < step.losses().size(); t++) {
                assertTrue(Double.isFinite(step.losses().loss(t)), "loss of task " + t + ": " + step);
                assertTrue(Double.isFinite(step.weights().weight(t)) && Double.isFinite(step.weights().headWeight(t)),
                        "weights of task " + t + ": " + step);
            }
            assertTrue(Double.isFinite(step.penalty()), "penalty: " + step);
            assertFalse(before.equalsWithEps(net.params(), 0.0), "a step changes the parameters");
            assertTrue(Double.isFinite(net.params().sumNumber().doubleValue()), "finite parameters");
        }
    }

    /** Asserts that two arrays hold the same values bit for bit. */
    public static void assertSameBits(double[] expected, double[] actual, String message) {
        assertEquals(expected.length, actual.length, message + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Double.doubleToRawLongBits(expected[i]) != Double.doubleToRawLongBits(actual[i])) {
                fail(message + ": value " + i + " differs: expected " + expected[i] + " but was " + actual[i]);
            }
        }
    }

    private static void assertSameUpdaterState(MultiTaskNetwork expected, MultiTaskNetwork actual, String when) {
        INDArray a = expected.graph().getUpdater(true).getStateViewArray();
        INDArray b = actual.graph().getUpdater(true).getStateViewArray();
        assertEquals(a == null, b == null, "updater state " + when);
        if (a != null) {
            Exact.assertSameValues(a, b, "updater state " + when);
        }
    }
}
