package org.mtl4j.examples;

import org.junit.jupiter.api.Test;

import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loss-weighting example runs tiny and prints every combinator with its weights per epoch. */
class LossWeightingTest {

    @TempDir
    Path dir;

    @Test
    void runsTinyAndPrintsEveryCombinator() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<LossWeighting.Row> rows = LossWeighting.run(64, 2, 3, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                dir);
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
        assertTrue(printed.contains("charts of each network (losses, weights, sigmas): " + dir), printed);
        String csv = Files.readString(dir.resolve("uncertainty").resolve("history.csv"));
        assertTrue(csv.startsWith("epoch,iteration,steps,seconds,penalty,train_loss[tier],train_loss[price],weight[tier],"
                + "weight[price],sigma[tier],sigma[price]\n"), csv);
        assertEquals(3, csv.lines().count(), "a header and two epochs");
        for (String chart : List.of("loss.png", "weights.png", "learned_sigma.png")) {
            assertTrue(Files.size(dir.resolve("uncertainty").resolve(chart)) > 1000, chart);
        }
        assertTrue(Files.isRegularFile(dir.resolve("mgda-ub").resolve("weights.png")));
    }
}
