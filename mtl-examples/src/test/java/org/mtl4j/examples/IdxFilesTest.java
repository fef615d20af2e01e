package org.mtl4j.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The IDX reader gives back exactly what was written and names the file in every error. */
class IdxFilesTest {

    @TempDir
    Path dir;

    @Test
    void imagesAndLabelsReadBackExactly() throws IOException {
        byte[] pixels = new byte[2 * 3 * 4];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 11);
        }
        pixels[23] = (byte) 255;
        Path images = dir.resolve("images-idx3-ubyte.gz");
        Path labels = dir.resolve("labels-idx1-ubyte.gz");
        IdxTestFiles.write(images, 0x00000803, new int[]{2, 3, 4}, pixels);
        IdxTestFiles.write(labels, 0x00000801, new int[]{3}, new byte[]{7, 0, (byte) 200});

        IdxFiles.Images read = IdxFiles.readImages(images);
        assertEquals(2, read.count());
        assertEquals(3, read.rows());
        assertEquals(4, read.columns());
        assertArrayEquals(pixels, read.pixels());
        assertEquals(5 * 11, read.pixel(0, 1, 1));
        assertEquals(12 * 11, read.pixel(1, 0, 0));
        assertEquals(255, read.pixel(1, 2, 3), "unsigned");
        assertArrayEquals(new int[]{7, 0, 200}, IdxFiles.readLabels(labels));
    }

    @Test
    void wrongMagicNumberIsRejectedNamingTheFile() throws IOException {
        Path labels = dir.resolve("labels.gz");
        IdxTestFiles.write(labels, 0x00000803, new int[]{1, 1, 1}, new byte[1]);
        IOException e = assertThrows(IOException.class, () -> IdxFiles.readLabels(labels));
        assertEquals(labels + ": magic number 0x00000803 is not 0x00000801, that of an IDX file of unsigned bytes"
                + " with 1 dimension", e.getMessage());
    }

    @Test
    void truncatedDataIsRejectedWithTheCounts() throws IOException {
        Path images = dir.resolve("images.gz");
        IdxTestFiles.write(images, 0x00000803, new int[]{5, 2, 2}, new byte[13]);
        IOException e = assertThrows(IOException.class, () -> IdxFiles.readImages(images));
        assertEquals(images + " is truncated: its header sizes [5, 2, 2] promise 20 values, but it holds 13",
                e.getMessage());
    }

    @Test
    void truncatedGzipStreamIsRejectedNamingTheFile() throws IOException {
        Path whole = dir.resolve("whole.gz");
        IdxTestFiles.write(whole, 0x00000803, new int[]{4, 10, 10}, new byte[400]);
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = dir.resolve("cut.gz");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length / 2));
        IOException e = assertThrows(IOException.class, () -> IdxFiles.readImages(cut));
        assertTrue(e.getMessage().startsWith(cut + " is truncated or not gzip-compressed IDX data"), e.getMessage());
    }

    @Test
    void extraDataAndEmptySizesAreRejected() throws IOException {
        Path longer = dir.resolve("longer.gz");
        IdxTestFiles.write(longer, 0x00000801, new int[]{2}, new byte[3]);
        assertEquals(longer + " holds more values than its header sizes [2] promise (2)",
                assertThrows(IOException.class, () -> IdxFiles.readLabels(longer)).getMessage());
        Path empty = dir.resolve("empty.gz");
        IdxTestFiles.write(empty, 0x00000803, new int[]{3, 0, 28}, new byte[0]);
        assertEquals(empty + ": size 1 in the header is 0, must be at least 1",
                assertThrows(IOException.class, () -> IdxFiles.readImages(empty)).getMessage());
    }
}
