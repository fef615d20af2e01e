package org.mtl4j.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class StatsTest {

    @Test
    void medianOfOddSampleIsTheMiddleValue() {
        assertEquals(2.0, Stats.median(new double[]{3, 1, 2}));
        assertEquals(7.25, Stats.median(new double[]{7.25}));
        assertEquals(4.5, Stats.median(new double[]{9, 4.5, 1, 100, 2}));
    }

    @Test
    void medianOfEvenSampleIsTheMeanOfTheTwoMiddleValues() {
        assertEquals(2.5, Stats.median(new double[]{4, 1, 3, 2}));
        assertEquals(3.0, Stats.median(new double[]{1, 5}));
        assertEquals(1.5, Stats.median(new double[]{1, 1, 2, 2}));
    }

    @Test
    void medianLeavesTheSampleUnsorted() {
        double[] sample = {3, 1, 2};
        Stats.median(sample);
        assertArrayEquals(new double[]{3, 1, 2}, sample);
    }

    @Test
    void quantilesInterpolateBetweenOrderStatistics() {
        double[] five = {5, 1, 4, 2, 3};
        assertEquals(1.0, Stats.quantile(five, 0));
        assertEquals(2.0, Stats.quantile(five, 0.25));
        assertEquals(4.0, Stats.quantile(five, 0.75));
        assertEquals(5.0, Stats.quantile(five, 1));
        assertEquals(1.75, Stats.quantile(new double[]{1, 2, 3, 4}, 0.25));
        assertEquals(1.0, Stats.min(five));
    }

    @Test
    void emptyOrNaNSamplesAndBadLevelsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Stats.median(new double[0]));
        assertThrows(IllegalArgumentException.class, () -> Stats.median(new double[]{1, Double.NaN}));
        assertThrows(IllegalArgumentException.class, () -> Stats.quantile(new double[]{1}, 1.5));
    }
}
