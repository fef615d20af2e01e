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
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MultiFashion builds its canvases as documented, says what is missing, and runs tiny on synthetic files. */
class MultiFashionTest {

    @TempDir
    Path dir;

    private static float at(float[] canvas, int row, int column) {
        return canvas[row * 36 + column];
    }

    @Test
    void canvasPlacesTopLeftAtOriginBottomRightAtEightAndTakesTheMaxWhereTheyOverlap() {
        byte[] topLeft = new byte[28 * 28];
        byte[] bottomRight = new byte[28 * 28];
        topLeft[0] = (byte) 255;                      // (0, 0): only the top-left item covers it
        topLeft[3 * 28 + 27] = (byte) 51;             // (3, 27): top-left only (bottom-right starts at row 8)
        bottomRight[27 * 28 + 27] = (byte) 102;       // lands at (35, 35): bottom-right only
        bottomRight[0] = (byte) 204;                  // lands at (8, 8), overlap: top-left has 0 there
        topLeft[10 * 28 + 12] = (byte) 153;           // (10, 12), overlap: bottom-right's (2, 4) is 51
        bottomRight[2 * 28 + 4] = (byte) 51;
        topLeft[27 * 28 + 27] = (byte) 51;            // (27, 27), overlap: bottom-right's (19, 19) is 255
        bottomRight[19 * 28 + 19] = (byte) 255;

        float[] canvas = MultiFashion.canvas(topLeft, bottomRight);
        assertEquals(36 * 36, canvas.length);
        assertEquals(1.0f, at(canvas, 0, 0));
        assertEquals(51 / 255f, at(canvas, 3, 27));
        assertEquals(102 / 255f, at(canvas, 35, 35));
        assertEquals(204 / 255f, at(canvas, 8, 8));
        assertEquals(153 / 255f, at(canvas, 10, 12));
        assertEquals(1.0f, at(canvas, 27, 27));
        assertEquals(0f, at(canvas, 0, 35), "top-right corner: neither item");
        assertEquals(0f, at(canvas, 35, 0), "bottom-left corner: neither item");
        float sum = 0;
        for (float v : canvas) {
            sum += v;
        }
        assertEquals((255 + 51 + 102 + 204 + 153 + 255) / 255f, sum, 1e-6f, "nothing else is drawn");
    }

    @Test
    void pairsAreDistinctReproducibleAndDrawnInOrder() {
        int[][] pairs = MultiFashion.pairs(500, 3, new Random(5));
        for (int[] p : pairs) {
            assertNotEquals(p[0], p[1]);
            assertTrue(p[0] >= 0 && p[0] < 3 && p[1] >= 0 && p[1] < 3);
        }
        Random r = new Random(5);
        int a = r.nextInt(3);
        int b = r.nextInt(3);
        while (b == a) {
            b = r.nextInt(3);
        }
        assertEquals(a, pairs[0][0]);
        assertEquals(b, pairs[0][1]);
        assertArrayEquals(pairs, MultiFashion.pairs(500, 3, new Random(5)), "same seed, same pairs");
    }

    @Test
    void missingFilesMessageNamesTheDirectoryEachMissingFileAndHowToGetThem() throws IOException {
        Files.writeString(dir.resolve("train-labels-idx1-ubyte.gz"), "present");
        List<String> missing = MultiFashion.missingFiles(dir);
        assertEquals(List.of("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
                missing);
        String message = MultiFashion.missingFilesMessage(dir, missing);
        assertTrue(message.contains(dir.toString()), message);
        for (String file : missing) {
            assertTrue(message.contains(file), file + " in\n" + message);
        }
        assertTrue(message.contains("apt-get install dataset-fashion-mnist"), message);
        assertTrue(message.contains("github.com/zalandoresearch/fashion-mnist"), message);
        assertTrue(message.contains("first argument"), message);

        Path absent = dir.resolve("nowhere");
        assertEquals(MultiFashion.FILES, MultiFashion.missingFiles(absent));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MultiFashion.run(absent, 10, 10, 1, 1, new PrintStream(new ByteArrayOutputStream()), null));
        assertEquals(MultiFashion.missingFilesMessage(absent, MultiFashion.FILES), e.getMessage());
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void runsTinyOnSyntheticFilesAndPrintsFourModels() throws IOException {
        IdxTestFiles.writeFashion(dir, 40, 20, 3);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Path histories = dir.resolve("histories");
        List<MultiFashion.Row> rows = MultiFashion.run(dir, 48, 16, 1, 2,
                new PrintStream(bytes, true, StandardCharsets.UTF_8), histories);
        String printed = bytes.toString(StandardCharsets.UTF_8);
        List<String> models = List.of("single-task L", "single-task R", "hard sharing", "cross-stitch");
        assertEquals(models, rows.stream().map(MultiFashion.Row::model).toList());
        for (String model : models) {
            assertEquals(1, printed.lines().filter(l -> l.startsWith(model + " ")).count(), model + " row in\n" + printed);
        }
        assertTrue(printed.contains("test acc L") && printed.contains("test acc R"), printed);
        assertEquals(3, printed.lines().filter(l -> l.trim().startsWith("after ")).count(), "alphas in\n" + printed);
        assertTrue(Double.isNaN(rows.get(0).accuracyR()) && Double.isNaN(rows.get(1).accuracyL()));
        for (MultiFashion.Row r : rows.subList(2, 4)) {
            assertTrue(r.accuracyL() >= 0 && r.accuracyL() <= 1 && r.accuracyR() >= 0 && r.accuracyR() <= 1,
                    r.toString());
        }
        assertEquals(rows.get(0).parameters(), rows.get(1).parameters());
        assertTrue(rows.get(3).parameters() > rows.get(2).parameters(), "cross-stitch has a column per task");
        assertTrue(printed.contains("charts of each model (per-epoch accuracy on 16 other test pairs): " + histories),
                printed);
        String csv = java.nio.file.Files.readString(histories.resolve("cross-stitch").resolve("history.csv"));
        assertTrue(csv.contains("valid_accuracy[L]") && csv.contains("alpha.s2[R<-L]"), csv);
        assertTrue(java.nio.file.Files.isRegularFile(histories.resolve("single-task-l").resolve("valid_accuracy.png")));
    }

    @Test
    void labelsThatDoNotMatchTheImagesAreRejectedNamingBothFiles() throws IOException {
        IdxTestFiles.writeFashion(dir, 10, 10, 4);
        IdxTestFiles.write(dir.resolve(MultiFashion.FILES.get(1)), 0x801, new int[]{9}, new byte[9]);
        IOException e = assertThrows(IOException.class,
                () -> MultiFashion.run(dir, 4, 4, 1, 1, new PrintStream(new ByteArrayOutputStream()), null));
        assertFalse(e.getMessage().isEmpty());
        assertEquals(dir.resolve(MultiFashion.FILES.get(1)) + " holds 9 labels, but "
                + dir.resolve(MultiFashion.FILES.get(0)) + " holds 10 images", e.getMessage());
    }
}
