package org.mtl4j.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.core.MultiTaskNetwork;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A damaged model file never loads to other values: every single-byte change and every truncation either is
 * refused with a message naming the file and the damaged entry (or the damaged zip structure), or loads to the
 * same parameters, updater state and combinator state, bit for bit.
 */
class ModelFileIntegrityTest {

    private static final String DIGESTS = "digests.sha256";

    @TempDir
    File dir;

    /** Where each entry's stored (compressed) data lies in the file: name to {offset, length}. */
    private static Map<String, long[]> dataRegions(File file, byte[] bytes) throws IOException {
        Map<String, long[]> regions = new LinkedHashMap<>();
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int pos = 0;
        try (ZipFile zip = new ZipFile(file)) {
            while (pos + 30 <= bytes.length && buf.getInt(pos) == 0x04034b50) {
                int nameLength = Short.toUnsignedInt(buf.getShort(pos + 26));
                int extraLength = Short.toUnsignedInt(buf.getShort(pos + 28));
                String name = new String(bytes, pos + 30, nameLength, StandardCharsets.UTF_8);
                long start = pos + 30L + nameLength + extraLength;
                ZipEntry e = zip.getEntry(name);
                regions.put(name, new long[]{start, e.getCompressedSize()});
                pos = (int) (start + e.getCompressedSize());
                if (pos + 4 <= bytes.length && buf.getInt(pos) == 0x08074b50) {
                    pos += 16;
                }
            }
        }
        return regions;
    }

    private String outcome(File damaged, List<String> expected, List<String> entries) {
        try {
            MultiTaskNetwork loaded = MultiTaskNetwork.load(damaged);
            assertEquals(expected, SavedModelFormatsTest.describe(loaded),
                    damaged.getName() + " loaded without error but to other values");
            return "identical";
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            assertTrue(m.contains(damaged.toString()), "message names the file: " + m);
            assertTrue(entries.stream().anyMatch(m::contains) || m.contains("zip archive"),
                    "message names the damaged entry or the zip structure: " + m);
            return "refused";
        }
    }

    @Test
    void everySingleByteChangeIsRefusedByEntryOrLoadsIdentical() throws IOException {
        MultiTaskNetwork net = SavedModelFormatsTest.trainedNetwork();
        File file = new File(dir, "model.mtl4j");
        net.save(file);
        List<String> expected = SavedModelFormatsTest.describe(net);
        byte[] bytes = Files.readAllBytes(file.toPath());
        Map<String, long[]> regions = dataRegions(file, bytes);
        List<String> entries = new ArrayList<>(regions.keySet());
        assertTrue(entries.containsAll(List.of("mtl4j.json", "graph.json", "params.bin", "updater.bin")),
                entries.toString());
        long smallest = regions.values().stream().mapToLong(r -> r[1]).min().orElseThrow();
        int stride = (int) Math.max(1, smallest / 30);

        Map<String, Integer> hits = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        File damaged = new File(dir, "damaged.mtl4j");
        for (int i = 0; i < bytes.length; i += stride) {
            byte[] copy = bytes.clone();
            copy[i] ^= (byte) 0xFF;
            Files.write(damaged.toPath(), copy);
            String result = outcome(damaged, expected, entries);
            counts.merge(result, 1, Integer::sum);
            for (Map.Entry<String, long[]> r : regions.entrySet()) {
                if (i >= r.getValue()[0] && i < r.getValue()[0] + r.getValue()[1]) {
                    hits.merge(r.getKey(), 1, Integer::sum);
                    assertEquals("refused", result, "a changed byte " + i + " in " + r.getKey() + "'s data");
                }
            }
        }
        for (String entry : entries) {
            assertTrue(hits.getOrDefault(entry, 0) >= 20, entry + "'s data hit " + hits.get(entry) + " times; stride "
                    + stride + ", regions " + regions.keySet());
        }
        assertTrue(counts.getOrDefault("refused", 0) > 0, counts.toString());
    }

    @Test
    void everyTruncationIsRefusedWithAClearMessage() throws IOException {
        MultiTaskNetwork net = SavedModelFormatsTest.trainedNetwork();
        File file = new File(dir, "model.mtl4j");
        net.save(file);
        List<String> expected = SavedModelFormatsTest.describe(net);
        byte[] bytes = Files.readAllBytes(file.toPath());
        List<String> entries = new ArrayList<>(dataRegions(file, bytes).keySet());
        File truncated = new File(dir, "truncated.mtl4j");
        for (int length = 0; length < bytes.length; length += 13) {
            Files.write(truncated.toPath(), Arrays.copyOf(bytes, length));
            assertEquals("refused", outcome(truncated, expected, entries), "truncated to " + length + " bytes");
        }
    }

    @Test
    void aVersion2FileWithoutItsDigestsIsRefused() throws IOException {
        File file = new File(dir, "model.mtl4j");
        SavedModelFormatsTest.trainedNetwork().save(file);
        File stripped = new File(dir, "stripped.mtl4j");
        try (ZipFile zip = new ZipFile(file);
             ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(stripped.toPath()))) {
            Enumeration<? extends ZipEntry> all = zip.entries();
            while (all.hasMoreElements()) {
                ZipEntry e = all.nextElement();
                if (!e.getName().equals(DIGESTS)) {
                    out.putNextEntry(new ZipEntry(e.getName()));
                    try (InputStream in = zip.getInputStream(e)) {
                        in.transferTo(out);
                    }
                    out.closeEntry();
                }
            }
        }
        IOException e = assertThrows(IOException.class, () -> MultiTaskNetwork.load(stripped));
        assertTrue(e.getMessage().contains("stripped.mtl4j has model format version 2 but no " + DIGESTS + " entry"),
                e.getMessage());
    }

    @Test
    void aDamagedExtraEntryIsRefusedWhenRead() throws IOException {
        File file = new File(dir, "checkpoint.mtl4j");
        ModelFile.save(SavedModelFormatsTest.trainedNetwork(), file, Map.of("trainer.json", "{\"epoch\":3}".getBytes()));
        assertEquals("{\"epoch\":3}", new String(ModelFile.readExtra(file, "trainer.json")));
        byte[] bytes = Files.readAllBytes(file.toPath());
        long[] region = dataRegions(file, bytes).get("trainer.json");
        bytes[(int) region[0]] ^= (byte) 0xFF;
        Files.write(file.toPath(), bytes);
        IOException e = assertThrows(IOException.class, () -> ModelFile.readExtra(file, "trainer.json"));
        assertTrue(e.getMessage().contains("checkpoint.mtl4j") && e.getMessage().contains("trainer.json"), e.getMessage());
    }
}
