package org.mtl4j.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The quickstart runs tiny and prints its table, and the README shows its code verbatim. */
class QuickstartTest {

    @Test
    void runsTinyAndPrintsBothTasks() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Quickstart.Result r = Quickstart.run(64, 3, 1, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String printed = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("segment (accuracy)"), printed);
        assertTrue(printed.contains("spend (MSE)"), printed);
        assertTrue(r.mtlAccuracy() > 1.0 / 3 && r.mtlAccuracy() <= 1, "accuracy " + r.mtlAccuracy());
        assertTrue(Double.isFinite(r.mtlMse()) && Double.isFinite(r.singleMse()));
    }

    @Test
    void readmeQuickstartIsTheExamplesCode() throws IOException {
        List<String> source = Files.readAllLines(Path.of("src/main/java/org/mtl4j/examples/Quickstart.java"));
        int begin = indexOf(source, "// README:begin");
        int end = indexOf(source, "// README:end");
        String code = source.subList(begin + 1, end).stream().map(String::strip).collect(Collectors.joining("\n"));
        String readme = Files.readString(Path.of("../README.md")).lines().map(String::strip)
                .collect(Collectors.joining("\n"));
        assertTrue(readme.contains(code), "README.md must contain the quickstart code between the README markers:\n"
                + code);
    }

    private static int indexOf(List<String> lines, String marker) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().equals(marker)) {
                return i;
            }
        }
        assertEquals(marker, "(missing)");
        return -1;
    }
}
