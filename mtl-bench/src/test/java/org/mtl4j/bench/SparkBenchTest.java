package org.mtl4j.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparkBenchTest {

    private static final Pattern LINE = Pattern.compile(
            "SPARK \\S+ ms_per_epoch=\\d+\\.\\d ratio=\\d+\\.\\d{3} rounds_per_epoch=\\d+ samples=1 min=\\S+ max=\\S+");

    @Test
    void quickRunPrintsEveryConfigurationAndTheRoundCost() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SparkBench.Result r = SparkBench.run(SparkBench.Sizes.parse("--quick"),
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        assertTrue(lines.get(0).startsWith("HEADER date="), text);
        assertEquals(6, lines.stream().filter(l -> LINE.matcher(l).matches()).count(), text);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("ROUND ms_per_round=")), text);
        // 8 minibatches: one worker averaging every 5 takes 2 rounds, two workers 1, every minibatch 8
        assertEquals(List.of(0, 2, 1, 1, 1, 8), List.copyOf(r.roundsPerEpoch().values()), text);
        assertTrue(r.msPerEpoch().values().stream().allMatch(ms -> ms > 0), text);
    }

    @Test
    void rejectsUnknownArgumentsAndTooFewEpochs() {
        assertThrows(IllegalArgumentException.class, () -> SparkBench.Sizes.parse("--fast"));
        assertThrows(IllegalArgumentException.class, () -> SparkBench.Sizes.parse("--epochs", "1"));
        assertThrows(IllegalArgumentException.class, () -> SparkBench.Sizes.parse("--threads", "0"));
        assertEquals("local[1]", SparkBench.Sizes.parse("--threads", "1").master());
    }
}
