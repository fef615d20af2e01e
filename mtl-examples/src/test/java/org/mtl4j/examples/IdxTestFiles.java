package org.mtl4j.examples;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/** Writes small gzipped IDX files for the tests, so that they need no real data set. */
final class IdxTestFiles {

    private IdxTestFiles() {
    }

    /** Writes {@code magic}, the sizes and the values, gzipped, to {@code file}. */
    static void write(Path file, int magic, int[] sizes, byte[] values) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(file)))) {
            out.writeInt(magic);
            for (int s : sizes) {
                out.writeInt(s);
            }
            out.write(values);
        }
    }

    /** Writes {@code count} random 28x28 images and labels 0..9 as one Fashion-MNIST split into {@code dir}. */
    static void writeSplit(Path dir, String imagesFile, String labelsFile, int count, Random random) throws IOException {
        byte[] pixels = new byte[count * 28 * 28];
        random.nextBytes(pixels);
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) {
            labels[i] = (byte) random.nextInt(10);
        }
        write(dir.resolve(imagesFile), 0x803, new int[]{count, 28, 28}, pixels);
        write(dir.resolve(labelsFile), 0x801, new int[]{count}, labels);
    }

    /** Writes all four Fashion-MNIST files, with {@code train} and {@code test} random items, into {@code dir}. */
    static void writeFashion(Path dir, int train, int test, long seed) throws IOException {
        Random random = new Random(seed);
        writeSplit(dir, MultiFashion.FILES.get(0), MultiFashion.FILES.get(1), train, random);
        writeSplit(dir, MultiFashion.FILES.get(2), MultiFashion.FILES.get(3), test, random);
    }
}
