package org.mtl4j.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loss-weighting example runs tiny and prints every combinator with its weights per epoch. */
class LossWeightingTest {

    @Test
    void runsTinyAndPrintsEveryCombinator() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<LossWeighting.Row> rows = LossWeighting.run(64, 2, 3, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String printed = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(LossWeighting.combinators().size(), rows.size());
        for (String name : LossWeighting.combinators().keySet()) {
            assertTrue(printed.contains(name), name + " in\n" + printed);
        }
        assertTrue(printed.contains("losses before training"), printed);
        for (LossWeighting.Row r : rows) {
            assertEquals(2, r.weightsPerEpoch().length, r.combinator());
            assertTrue(r.tierAccuracy() >= 0 && r.tierAccuracy() <= 1, r.combinator());
            assertTrue(Double.isFinite(r.priceRmse()), r.combinator());
        }
        assertEquals(1.0, rows.get(0).weightsPerEpoch()[1][1], 0.0, "equal weights stay 1");
    }
}
