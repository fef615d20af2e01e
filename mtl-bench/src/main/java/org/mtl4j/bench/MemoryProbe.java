package org.mtl4j.bench;

import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Measures the memory one side of a case needs while it trains, in isolation: before the reference point
 * the current thread's DL4J workspaces are destroyed and garbage is collected, the side is built and trained,
 * then dropped, its workspaces destroyed and collected again before the next side is built.
 *
 * <p>ND4J's CPU backend allocates array buffers and workspaces in native code (libnd4j's
 * {@code OpaqueDataBuffer}, {@code mallocHost}), not through JavaCPP {@code Pointer} allocation, so
 * {@link Pointer#totalBytes()} stays near 0 whatever ND4J holds (checked: a 1 GB array adds 104 bytes to
 * it). The probe therefore reads the process's resident set from {@code /proc/self/status}: {@code VmRSS}
 * for the reference point, and {@code VmHWM}, the kernel's high-water mark, reset through
 * {@code /proc/self/clear_refs} right before the measured steps, for the peak. That peak includes the
 * transient arrays inside a step (activations, gradients, im2col buffers) and arrays that wait for a GC
 * before ND4J frees them, which sampling between steps would miss. Where the high-water mark cannot be
 * reset (not Linux), the peak is the largest resident size sampled after each step.
 *
 * <p>Resident size only follows what is in use when the C allocator gives freed memory back to the kernel;
 * with glibc's defaults it keeps most of it, and a side measured after another then reuses those pages
 * without growing the resident set. {@link ForkedMemoryProbe} therefore runs this probe in a fresh JVM with
 * glibc told to return freed memory.
 */
public final class MemoryProbe {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");
    private static final long MIB = 1L << 20;

    /**
     * One side's memory while training.
     *
     * @param baseRss      resident bytes before the side was built (after GC)
     * @param peakRss      the resident high-water mark over the measured steps
     * @param liveRss      resident bytes after GC with the side still built (parameters, updater state,
     *                     workspaces), minus {@code baseRss}
     * @param retainedRss  resident bytes after the side was dropped and collected, minus {@code baseRss}
     *                     (memory the allocator keeps, or a leak)
     * @param heapLive     live JVM heap bytes with the side built and trained, minus those before (after GC)
     * @param javacppTotal {@link Pointer#totalBytes()} at the end of the measured steps (JavaCPP-tracked)
     * @param workspaces   the bytes the current thread's ND4J workspaces hold at the end of the measured steps
     *                     (DL4J's activations, errors and working memory, and any workspace of the side's own):
     *                     unlike the resident sizes, the same in every run
     * @param exactPeak    whether {@code peakRss} is the kernel's high-water mark (else sampled between steps)
     */
    public record Footprint(long baseRss, long peakRss, long liveRss, long retainedRss, long heapLive,
                            long javacppTotal, long workspaces, boolean exactPeak) {

        /** Resident growth at the peak plus live heap growth, in MiB: the number the MEMORY line reports. */
        public double totalMb() {
            return (Math.max(0, peakRss - baseRss) + Math.max(0, heapLive)) / (double) MIB;
        }

        /** Resident growth at the peak, in MiB. */
        public double peakMb() {
            return Math.max(0, peakRss - baseRss) / (double) MIB;
        }

        /** Resident growth after GC with the side still built, in MiB. */
        public double liveMb() {
            return liveRss / (double) MIB;
        }

        /** Live heap growth, in MiB. */
        public double heapMb() {
            return heapLive / (double) MIB;
        }

        /** Resident bytes not given back after the side was dropped, in MiB. */
        public double retainedMb() {
            return retainedRss / (double) MIB;
        }

        /** The workspaces' bytes, in MiB. */
        public double workspacesMb() {
            return workspaces / (double) MIB;
        }

        /** This footprint as one line of {@code key=value} fields, read back by {@link #parse(String)}. */
        public String toLine() {
            return "base=" + baseRss + " peak=" + peakRss + " live=" + liveRss + " retained=" + retainedRss
                    + " heap=" + heapLive + " javacpp=" + javacppTotal + " workspaces=" + workspaces
                    + " exact=" + exactPeak;
        }

        /** Reads a footprint written by {@link #toLine()} (extra leading fields are ignored). */
        public static Footprint parse(String line) {
            Map<String, String> f = new HashMap<>();
            for (String part : line.trim().split("\\s+")) {
                int eq = part.indexOf('=');
                if (eq > 0) {
                    f.put(part.substring(0, eq), part.substring(eq + 1));
                }
            }
            try {
                return new Footprint(Long.parseLong(f.get("base")), Long.parseLong(f.get("peak")),
                        Long.parseLong(f.get("live")), Long.parseLong(f.get("retained")), Long.parseLong(f.get("heap")),
                        Long.parseLong(f.get("javacpp")), Long.parseLong(f.get("workspaces")),
                        Boolean.parseBoolean(f.get("exact")));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("not a footprint line: \"" + line + "\"", e);
            }
        }
    }

    private MemoryProbe() {
    }

    /**
     * Builds a side, trains it for {@code warmup} steps (workspaces reach their size), then for {@code steps}
     * steps over which the peak is taken, cycling through {@code batches}.
     *
     * @param build makes the side and returns its training step; nothing else may keep the side reachable
     */
    public static Footprint measure(Supplier<Consumer<MultiDataSet>> build, List<? extends MultiDataSet> batches,
                                    int warmup, int steps) {
        release();
        long baseRss = rss();
        long baseHeap = heapUsed();
        Consumer<MultiDataSet> side = build.get();
        int i = 0;
        for (; i < warmup; i++) {
            side.accept(batches.get(i % batches.size()));
        }
        boolean exact = resetPeak();
        long sampledPeak = rss();
        for (int s = 0; s < steps; s++, i++) {
            side.accept(batches.get(i % batches.size()));
            sampledPeak = Math.max(sampledPeak, rss());
        }
        long peak = exact ? Math.max(highWaterMark(), sampledPeak) : sampledPeak;
        long javacpp = Pointer.totalBytes();
        long workspaces = workspaceBytes();
        settle();
        long live = rss() - baseRss;
        long heapLive = heapUsed() - baseHeap;
        Reference.reachabilityFence(side);
        side = null;
        release();
        long retained = rss() - baseRss;
        return new Footprint(baseRss, peak, live, retained, heapLive, javacpp, workspaces, exact);
    }

    /** The bytes the current thread's ND4J workspaces hold now (their current sizes, not what is in use). */
    static long workspaceBytes() {
        long total = 0;
        for (MemoryWorkspace ws : Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread()) {
            total += ws.getCurrentSize();
        }
        return total;
    }

    /** Whether the resident high-water mark can be reset here (Linux with a writable clear_refs). */
    public static boolean exactPeakAvailable() {
        return resetPeak();
    }

    /**
     * Frees what a dropped side left behind: the current thread's DL4J workspaces (which outlive the network
     * that sized them and would be reused by the next one), then garbage until the resident size is steady.
     */
    static void release() {
        Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
        settle();
    }

    /** Collects garbage until the resident size is steady, so ND4J's deallocator threads free dropped buffers. */
    static void settle() {
        long previous = -1;
        for (int round = 0; round < 20; round++) {
            System.gc();
            try {
                Thread.sleep(round < 2 ? 100 : 50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = rss();
            if (round >= 2 && Math.abs(now - previous) < MIB / 4) {
                return;
            }
            previous = now;
        }
    }

    /**
     * The minor page faults of this process so far ({@code /proc/self/stat} field 10), or -1 off Linux: each
     * is a first touch of a page the process had not used, so a step that keeps allocating fresh memory
     * shows many per step.
     */
    static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return Long.parseLong(fields[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The resident set size in bytes ({@code VmRSS}), or JavaCPP's reading of it off Linux. */
    static long rss() {
        long kb = statusKb("VmRSS:");
        return kb >= 0 ? kb * 1024 : Pointer.physicalBytes();
    }

    private static long highWaterMark() {
        long kb = statusKb("VmHWM:");
        return kb >= 0 ? kb * 1024 : -1;
    }

    private static boolean resetPeak() {
        try {
            Files.writeString(CLEAR_REFS, "5", StandardCharsets.US_ASCII);
            return highWaterMark() >= 0;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    private static long heapUsed() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    private static long statusKb(String key) {
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
                if (line.startsWith(key)) {
                    String[] parts = line.substring(key.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
