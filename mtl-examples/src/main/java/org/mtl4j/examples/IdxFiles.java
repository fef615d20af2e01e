package org.mtl4j.examples;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads gzipped IDX files of unsigned bytes, the format of MNIST and Fashion-MNIST: a 4-byte magic number
 * {@code 0x0000 0x08 d} (two zero bytes, data type 0x08 = unsigned byte, d = number of dimensions), d
 * big-endian 32-bit sizes, then the values, one byte each, last dimension fastest.
 *
 * <p>Every check names the file: a wrong magic number, a non-positive size, data shorter or longer than the
 * sizes promise, and a broken gzip stream are {@link IOException}s saying what was found and what was expected.
 */
public final class IdxFiles {

    /** The IDX data-type byte of unsigned 8-bit values. */
    static final int UNSIGNED_BYTE = 0x08;

    /** Images: {@code count} images of {@code rows x columns} unsigned bytes, image after image, row-major. */
    public record Images(int count, int rows, int columns, byte[] pixels) {
        /** Checks that the pixel array holds exactly {@code count * rows * columns} values. */
        public Images {
            if (count < 0 || rows < 1 || columns < 1 || (long) count * rows * columns != pixels.length) {
                throw new IllegalArgumentException(count + " images of " + rows + "x" + columns + " need "
                        + (long) count * rows * columns + " pixels, got " + pixels.length);
            }
        }

        /** The pixel of image {@code image} at ({@code row}, {@code column}), 0 to 255. */
        public int pixel(int image, int row, int column) {
            return pixels[(image * rows + row) * columns + column] & 0xFF;
        }
    }

    private IdxFiles() {
    }

    /** Reads a gzipped {@code idx3-ubyte} file of images. */
    public static Images readImages(Path file) throws IOException {
        Raw raw = read(file, 3);
        return new Images(raw.dims[0], raw.dims[1], raw.dims[2], raw.data);
    }

    /** Reads a gzipped {@code idx1-ubyte} file of labels, each 0 to 255. */
    public static int[] readLabels(Path file) throws IOException {
        byte[] data = read(file, 1).data;
        int[] labels = new int[data.length];
        for (int i = 0; i < data.length; i++) {
            labels[i] = data[i] & 0xFF;
        }
        return labels;
    }

    /** The magic number of an IDX file of unsigned bytes with {@code dims} dimensions. */
    static int magic(int dims) {
        return UNSIGNED_BYTE << 8 | dims;
    }

    private record Raw(int[] dims, byte[] data) {
    }

    private static Raw read(Path file, int dims) throws IOException {
        try (DataInputStream data = new DataInputStream(new BufferedInputStream(
                new GZIPInputStream(Files.newInputStream(file), 1 << 16), 1 << 16))) {
            int magic = data.readInt();
            if (magic != magic(dims)) {
                throw new IOException(String.format("%s: magic number 0x%08X is not 0x%08X, that of an IDX file of"
                        + " unsigned bytes with %d dimension%s", file, magic, magic(dims), dims, dims == 1 ? "" : "s"));
            }
            int[] sizes = new int[dims];
            long total = 1;
            for (int d = 0; d < dims; d++) {
                sizes[d] = data.readInt();
                if (sizes[d] < 1) {
                    throw new IOException(file + ": size " + d + " in the header is " + sizes[d] + ", must be at least 1");
                }
                total *= sizes[d];
                if (total > Integer.MAX_VALUE - 8) {
                    throw new IOException(file + ": header sizes " + Arrays.toString(Arrays.copyOf(sizes, d + 1))
                            + " describe more than 2^31 values, too many to read into one array");
                }
            }
            byte[] values = data.readNBytes((int) total);
            if (values.length < total) {
                throw new IOException(file + " is truncated: its header sizes " + Arrays.toString(sizes) + " promise "
                        + total + " values, but it holds " + values.length);
            }
            if (data.read() != -1) {
                throw new IOException(file + " holds more values than its header sizes " + Arrays.toString(sizes)
                        + " promise (" + total + ")");
            }
            return new Raw(sizes, values);
        } catch (EOFException | ZipException e) {
            throw new IOException(file + " is truncated or not gzip-compressed IDX data: " + e.getMessage(), e);
        }
    }
}
