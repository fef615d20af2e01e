package org.mtl4j.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

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
        ReadmeSnippets.assertInReadme("Quickstart", "README");
    }
}
