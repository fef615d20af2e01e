package org.mtl4j.examples;

import org.deeplearning4j.nn.api.Layer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.Task;
import org.mtl4j.sharing.CrossStitch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MultiFashion at the standard scale: the derangement pairing, LibMTL's encoder, seven models on a tiny fixture. */
class StandardMultiFashionTest {

    /** conv 5x5 1 -> 10, conv 5x5 10 -> 20, dense 20 x 6 x 6 -> 50 (36 -> 32 -> 16 -> 12 -> 6). */
    private static final long ENCODER = (1 * 10 * 25 + 10) + (10 * 20 * 25 + 20) + (20 * 6 * 6 * 50 + 50);
    /** A linear head: 50 -> 10. */
    private static final long HEAD = 50 * 10 + 10;

    @TempDir
    Path dir;

    @Test
    void derangementIsAReproduciblePermutationWithoutFixedPoints() {
        for (int n : new int[]{2, 3, 7, 100, 1_000}) {
            for (long seed = 0; seed < 20; seed++) {
                int[] perm = StandardMultiFashion.derangement(n, new Random(seed));
                int[] sorted = perm.clone();
                Arrays.sort(sorted);
                for (int i = 0; i < n; i++) {
                    assertEquals(i, sorted[i], "a permutation of 0.." + (n - 1) + ": " + Arrays.toString(perm));
                    assertNotEquals(i, perm[i], "no item paired with itself");
                }
                assertArrayEquals(perm, StandardMultiFashion.derangement(n, new Random(seed)), "same seed, same pairs");
            }
        }
        assertArrayEquals(new int[]{1, 0}, StandardMultiFashion.derangement(2, new Random(9)), "the only one of 2");
        assertThrows(IllegalArgumentException.class, () -> StandardMultiFashion.derangement(1, new Random(1)));
    }

    @Test
    void derangementIsTheFirstFisherYatesShuffleWithoutFixedPoint() {
        Random r = new Random(4);
        int draws = 0;
        int[] expected;
        boolean fixed;
        do {
            draws++;
            expected = new int[]{0, 1, 2, 3, 4, 5};
            for (int i = 5; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = expected[i];
                expected[i] = expected[j];
                expected[j] = t;
            }
            fixed = false;
            for (int i = 0; i < 6; i++) {
                fixed |= expected[i] == i;
            }
        } while (fixed);
        assertArrayEquals(expected, StandardMultiFashion.derangement(6, new Random(4)));
        assertArrayEquals(new int[]{5, 2, 0, 4, 1, 3}, StandardMultiFashion.derangement(6, new Random(4)),
                "pinned: the pairs of seed 4 do not change (" + draws + " draw(s))");
    }

    @Test
    void encoderHasLibMtlShapesAndHandCountedParameters() {
        Task l = Task.classification("L", 10);
        MultiTaskNetwork single = StandardMultiFashion.network(new HardSharing(), FixedWeights.equal(), 1, l);
        List<Long> counts = new ArrayList<>();
        for (Layer layer : single.graph().getLayers()) {
            if (layer.numParams() > 0) {
                counts.add(layer.numParams());
            }
        }
        assertEquals(List.of(260L, 5_020L, 36_050L, 510L), counts, "conv 1, conv 2, dense, head");
        assertEquals(ENCODER + HEAD, single.params().length());

        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 1, 36, 36);
        Map<String, INDArray> acts = single.graph().feedForward(x, false);
        List<List<Long>> shapes = new ArrayList<>();
        for (Layer layer : single.graph().getLayers()) {
            INDArray a = acts.get(layer.getConfig().getLayerName());
            shapes.add(Arrays.stream(a.shape()).boxed().toList());
        }
        assertEquals(List.of(List.of(2L, 10L, 32L, 32L), List.of(2L, 10L, 16L, 16L), List.of(2L, 10L, 16L, 16L),
                List.of(2L, 20L, 12L, 12L), List.of(2L, 20L, 6L, 6L), List.of(2L, 20L, 6L, 6L), List.of(2L, 50L),
                List.of(2L, 10L)), shapes, "conv, pool, ReLU, conv, pool, ReLU, dense, head");
    }

    @Test
    void standardRunTrainsSevenModelsOnATinyFixture() throws IOException {
        IdxTestFiles.writeFashion(dir, 40, 20, 3);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<MultiFashion.Row> rows = MultiFashion.runStandard(dir, 1, 2,
                new PrintStream(bytes, true, StandardCharsets.UTF_8), dir.resolve("histories"));
        String printed = bytes.toString(StandardCharsets.UTF_8);
        List<String> models = List.of("single-task L", "single-task R", "equal weights", "uncertainty", "MGDA-UB",
                "PCGrad", "cross-stitch");
        assertEquals(models, rows.stream().map(MultiFashion.Row::model).toList());
        for (String model : models) {
            assertEquals(1, printed.lines().filter(s -> s.startsWith(model + " ")).count(), model + " in\n" + printed);
        }
        assertTrue(printed.contains("40 training pairs (shuffled each epoch), 20 test pairs, 1 epoch, minibatch 256"),
                printed);
        assertTrue(Double.isNaN(rows.get(0).accuracyR()) && Double.isNaN(rows.get(1).accuracyL()));
        for (MultiFashion.Row r : rows) {
            assertTrue(r.secondsPerEpoch() > 0 && r.secondsPerEpoch() == r.trainSeconds(), r.toString());
            if (!r.model().startsWith("single-task")) {
                assertTrue(r.accuracyL() >= 0 && r.accuracyL() <= 1 && r.accuracyR() >= 0 && r.accuracyR() <= 1,
                        r.toString());
            }
        }
        long stitchUnits = 3 * 2 * 2; // a 2x2 unit after each stage
        // uncertainty's two log variances belong to its combinator, not to the network's parameters
        long[] expected = {ENCODER + HEAD, ENCODER + HEAD, ENCODER + 2 * HEAD, ENCODER + 2 * HEAD,
                ENCODER + 2 * HEAD, ENCODER + 2 * HEAD, 2 * ENCODER + 2 * HEAD + stitchUnits};
        assertArrayEquals(expected, rows.stream().mapToLong(MultiFashion.Row::parameters).toArray());
        assertEquals(3, CrossStitch.alphas(StandardMultiFashion.network(new CrossStitch(), FixedWeights.equal(), 1,
                Task.classification("L", 10), Task.classification("R", 10).withLabelsIndex(1))).size());
    }
}
