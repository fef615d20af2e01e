package org.mtl4j.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mtl4j.core.MultiTaskNetwork;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SideBySideTest {

    private static final Pattern RESULT =
            Pattern.compile("RESULT \\S+ mtl4j_ms=\\d+\\.\\d{3} baseline_ms=\\d+\\.\\d{3} ratio=\\d+\\.\\d{3}");
    private static final Pattern MEMORY = Pattern.compile("MEMORY \\S+ mtl4j_mb=\\d+\\.\\d baseline_mb=\\d+\\.\\d");
    private static final Pattern CHECK = Pattern.compile("first_step_loss mtl4j=(\\S+) baseline=(\\S+)");

    static List<String> caseNames() {
        return Cases.names();
    }

    @ParameterizedTest
    @MethodSource("caseNames")
    void baselineHasTheSameParametersAsTheMtl4jNetwork(String name) {
        BenchCase c = Cases.named(name);
        MultiTaskNetwork net = c.buildMtl(1);
        Baseline baseline = c.buildBaseline(2);
        baseline.copyParameters(name, net);
        c.checkSameParameters(net, baseline);
    }

    @Test
    void differentModelsAreReportedAsAParameterMismatch() {
        MultiTaskNetwork net = Cases.named("hard-mlp-small").buildMtl(1);
        Baseline other = Cases.named("hard-lstm").buildBaseline(1);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Cases.named("hard-mlp-small").checkSameParameters(net, other));
        assertTrue(e.getMessage().contains("parameters"), e.getMessage());
    }

    @Test
    void quickRunOfTheSmallMlpPrintsResultAndMemoryLines() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int status = SideBySide.run(BenchArgs.parse("--cases", "hard-mlp-small", "--quick", "--budget-s", "5"), out);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text);
        List<String> lines = text.lines().toList();
        assertTrue(lines.get(0).startsWith("HEADER date="), text);
        assertTrue(lines.get(0).contains("cores="), text);
        assertTrue(lines.get(0).contains(" javacpp_max_physical_bytes=" + System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes", "default") + " "), text);
        assertEquals(1, lines.stream().filter(l -> RESULT.matcher(l).matches()).count(), text);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("RESULT hard-mlp-small ")), text);
        assertEquals(1, lines.stream().filter(l -> MEMORY.matcher(l).matches()).count(), text);
        Matcher check = CHECK.matcher(text);
        assertTrue(check.find(), text);
        assertEquals(Double.parseDouble(check.group(2)), Double.parseDouble(check.group(1)), 1e-4, text);
    }
}
