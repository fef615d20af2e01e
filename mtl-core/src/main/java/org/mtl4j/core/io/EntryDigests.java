package org.mtl4j.core.io;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The {@code digests.sha256} entry of a model file (format version 2): a line {@code <SHA-256 in hex>  <entry name>}
 * for every other entry, then a last line with the SHA-256 of the lines above it and this entry's own name, so a
 * damaged manifest is refused like any other entry.
 */
final class EntryDigests {

    /** The entry's name. */
    static final String NAME = "digests.sha256";

    private final StringBuilder lines = new StringBuilder();

    /** Lists {@code name} with its SHA-256, in the order entries are written. */
    void add(String name, byte[] digest) {
        lines.append(hex(digest)).append("  ").append(name).append('\n');
    }

    /** The entry's content: the listed lines, then the line covering them. */
    byte[] manifest() {
        byte[] listed = lines.toString().getBytes(StandardCharsets.UTF_8);
        String own = hex(sha256().digest(listed)) + "  " + NAME + "\n";
        return (lines + own).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Checks every entry against {@link #NAME}, whose own last line covers the lines above it; returns false,
     * checking nothing, when the file has no such entry (format version 1).
     */
    static boolean verify(ZipFile zip, File file) throws IOException {
        if (zip.getEntry(NAME) == null) {
            return false;
        }
        Map<String, String> listed = readDigests(zip, file);
        Set<String> seen = new HashSet<>();
        Enumeration<? extends ZipEntry> entries = zip.entries();
        while (entries.hasMoreElements()) {
            ZipEntry entry = entries.nextElement();
            String name = entry.getName();
            if (name.equals(NAME)) {
                continue;
            }
            String expected = listed.get(name);
            if (expected == null || !seen.add(name)) {
                throw new IOException(file + ": entry \"" + name + "\" is not listed in " + NAME
                        + " (or appears twice); the file is damaged or was changed after saving");
            }
            MessageDigest digest = sha256();
            try (InputStream in = zip.getInputStream(entry)) {
                byte[] buf = new byte[8192];
                for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                    digest.update(buf, 0, n);
                }
            } catch (IOException | RuntimeException e) {
                throw new IOException(file + ": entry " + name + " is damaged: its zip data cannot be read ("
                        + e.getMessage() + ")", e);
            }
            if (!expected.equals(hex(digest.digest()))) {
                throw new IOException(file + ": entry " + name + " does not match its SHA-256 digest in " + NAME
                        + "; the file is damaged");
            }
        }
        for (String name : listed.keySet()) {
            if (!seen.contains(name)) {
                throw new IOException(file + ": entry " + name + ", listed in " + NAME + ", is missing; the file"
                        + " is damaged");
            }
        }
        return true;
    }

    private static Map<String, String> readDigests(ZipFile zip, File file) throws IOException {
        byte[] bytes;
        try {
            try (InputStream in = zip.getInputStream(zip.getEntry(NAME))) {
                bytes = in.readAllBytes();
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": entry " + NAME + " is damaged: its zip data cannot be read ("
                    + e.getMessage() + ")", e);
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        String damaged = file + ": entry " + NAME + " is damaged";
        int last = text.endsWith("\n") ? text.lastIndexOf('\n', text.length() - 2) + 1 : -1;
        if (last < 0 || !text.substring(last).equals(hex(sha256().digest(text.substring(0, last)
                .getBytes(StandardCharsets.UTF_8))) + "  " + NAME + "\n")) {
            throw new IOException(damaged + ": its last line is not the SHA-256 of the lines above it");
        }
        Map<String, String> listed = new LinkedHashMap<>();
        for (String line : text.substring(0, last).split("\n")) {
            if (line.length() < 67 || !line.startsWith("  ", 64) || listed.put(line.substring(66), line.substring(0, 64)) != null) {
                throw new IOException(damaged + ": line \"" + line + "\" is not <SHA-256>  <entry name>");
            }
        }
        return listed;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
