package org.mtl4j.examples;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FashionPairs draws pair i as (item i, item partner[i]) and shuffles each epoch from the seed and the epoch. */
class FashionPairsTest {

    /** Item k of the fixture is a constant image of value 10 (k + 1), label k. */
    private static MultiFashion.Split constantItems(int n) {
        byte[] pixels = new byte[n * 28 * 28];
        int[] labels = new int[n];
        for (int k = 0; k < n; k++) {
            Arrays.fill(pixels, k * 784, (k + 1) * 784, (byte) (10 * (k + 1)));
            labels[k] = k;
        }
        return new MultiFashion.Split(new IdxFiles.Images(n, 28, 28, pixels), labels);
    }

    private static int item(float pixel) {
        return Math.round(pixel * 255 / 10) - 1;
    }

    /** Reads one epoch as (top-left item, bottom-right item, L label, R label) per pair. */
    private static List<int[]> epoch(FashionPairs pairs) {
        List<int[]> seen = new ArrayList<>();
        pairs.reset();
        while (pairs.hasNext()) {
            MultiDataSet mb = pairs.next();
            INDArray x = mb.getFeatures(0);
            for (int i = 0; i < x.size(0); i++) {
                seen.add(new int[]{item(x.getFloat(i, 0, 0, 0)), item(x.getFloat(i, 0, 35, 35)),
                        mb.getLabels(0).getRow(i).argMax().getInt(0), mb.getLabels(1).getRow(i).argMax().getInt(0)});
            }
        }
        return seen;
    }

    @Test
    void pairsDrawItemIAtTopLeftAndItsPartnerAtBottomRightEachItemOncePerRole() {
        MultiFashion.Split split = constantItems(5);
        int[] partner = {2, 0, 4, 1, 3};
        List<int[]> inOrder = epoch(new FashionPairs(split, partner, 2, null));
        assertEquals(5, inOrder.size());
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(new int[]{i, partner[i], i, partner[i]}, inOrder.get(i), "pair " + i);
        }

        FashionPairs shuffled = new FashionPairs(split, partner, 2, 7L);
        List<int[]> first = epoch(shuffled);
        int[] order = shuffled.order();
        boolean[] left = new boolean[5];
        boolean[] right = new boolean[5];
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(new int[]{order[i], partner[order[i]], order[i], partner[order[i]]}, first.get(i));
            left[first.get(i)[0]] = true;
            right[first.get(i)[1]] = true;
        }
        for (int k = 0; k < 5; k++) {
            assertTrue(left[k] && right[k], "item " + k + " once top-left and once bottom-right");
        }
        assertArrayEquals(first.toArray(), epoch(new FashionPairs(split, partner, 2, 7L)).toArray(),
                "a fresh iterator with the same seed gives the same epoch");
    }

    @Test
    void shuffleOfEpochEIsFisherYatesWithSeedPlusE() {
        MultiFashion.Split split = constantItems(20);
        int[] partner = StandardMultiFashion.derangement(20, new Random(1));
        FashionPairs pairs = new FashionPairs(split, partner, 8, 3L);
        List<int[]> orders = new ArrayList<>();
        for (int e = 0; e < 3; e++) {
            pairs.onEpochStart(null, e);
            pairs.reset();
            orders.add(pairs.order());
            int[] expected = new int[20];
            for (int i = 0; i < 20; i++) {
                expected[i] = i;
            }
            Random r = new Random(3L + e);
            for (int i = 19; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = expected[i];
                expected[i] = expected[j];
                expected[j] = t;
            }
            assertArrayEquals(expected, pairs.order(), "epoch " + e);
        }
        assertFalse(Arrays.equals(orders.get(0), orders.get(1)), "a new order every epoch");
        pairs.onEpochStart(null, 1);
        pairs.reset();
        assertArrayEquals(orders.get(1), pairs.order(), "epoch 1 again: the same order (exact resume)");
    }
}
