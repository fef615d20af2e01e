package org.mtl4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Keeps the code blocks of README.md and docs/ identical to the examples' code between marker comments. */
final class ReadmeSnippets {

    private ReadmeSnippets() {
    }

    /**
     * Asserts that README.md holds the lines of {@code example}'s source between {@code // <marker>:begin} and
     * {@code // <marker>:end} (indentation aside).
     */
    static void assertInReadme(String example, String marker) throws IOException {
        assertInDoc(example, marker, "README.md");
    }

    /**
     * Asserts that {@code doc} (a path from the repository root, e.g. {@code docs/spark.md}) holds the lines of
     * {@code example}'s source between {@code // <marker>:begin} and {@code // <marker>:end} (indentation aside).
     */
    static void assertInDoc(String example, String marker, String doc) throws IOException {
        List<String> source = Files.readAllLines(Path.of("src/main/java/org/mtl4j/examples/" + example + ".java"));
        int begin = indexOf(source, "// " + marker + ":begin");
        int end = indexOf(source, "// " + marker + ":end");
        String code = source.subList(begin + 1, end).stream().map(String::strip).collect(Collectors.joining("\n"));
        String text = Files.readString(Path.of("..", doc)).lines().map(String::strip)
                .collect(Collectors.joining("\n"));
        assertTrue(text.contains(code), doc + " must contain the code of " + example + " between the " + marker
                + " markers:\n" + code);
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
