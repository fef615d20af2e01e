package org.mtl4j.bench;

import org.mtl4j.core.MultiTaskNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs {@link MemoryProbe} for each side of a case in a fresh JVM of its own, so that the memory numbers do not
 * depend on what the timing JVM allocated before, on which side is measured first, or on glibc keeping freed
 * memory.
 *
 * <p>Each child JVM gets the parent's classpath, maximum heap and JavaCPP physical-memory limit (when set), with
 * {@code -Xms} equal to {@code -Xmx} and
 * {@code -XX:+AlwaysPreTouch} (heap pages resident from the start, so resident growth is off-heap), and
 * {@code MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072}, which make glibc map each block of
 * 128 KiB or more separately and unmap it when freed, and trim freed heap memory, so that the resident size
 * follows the bytes in use. (These settings change allocation cost, which is why the timing JVM runs with
 * glibc's defaults.) A child builds both sides' parameters (the classes both load are loaded before anything is
 * measured), trains a first instance of its side two steps and drops it, then measures a new one.
 *
 * <p>The two children run at the same time (each process's resident size is its own; each runs one thread, and
 * the probe times nothing).
 *
 * <p>Why a JVM per side: a JVM's resident size also grows with the code it compiles and the memory it keeps
 * for that, and whichever side ran first in a shared child was charged with most of it. Measured on
 * {@code mgda-ub} (the same small network on both sides): 7.5 MB for the side measured first against 3.1 MB
 * for the second, and 8.3 against 2.0 with the order swapped; in a JVM each, 7.6-7.7 against 8.5-8.6 in two runs.
 * Both sides now pay for the code they run (for mtl4j, its own classes' too), so the small cases' figures
 * include compiled code that is not arrays: with no compiler at all ({@code -Xint}) {@code hard-mlp-small}
 * measured 3.6 MB (mtl4j) against 3.9, with C1 6.8-7.3 against 5.4.
 *
 * <p>The children compile with C1 only ({@code -XX:TieredStopAtLevel=1}): C2 compiles the step's hot methods
 * for hundreds of steps, and its compiler memory (several MB, kept by glibc's per-thread arenas) landed inside
 * the measured steps at random: the mtl4j side of {@code sluice-4} (then measured second in a shared child)
 * measured 13-15 MB in six of 13 runs and 23-26 MB in the other seven; with C1 only, 12.0-13.5 MB in five of
 * five. The probe measures memory only
 * (the parent times the steps), and which compiler runs a method does not change what ND4J allocates.
 */
public final class ForkedMemoryProbe {

    /** The glibc settings of the child JVM. */
    public static final Map<String, String> MALLOC_ENV = Map.of(
            "MALLOC_MMAP_THRESHOLD_", "131072",
            "MALLOC_TRIM_THRESHOLD_", "131072");

    private static final String PREFIX = "FOOTPRINT ";
    private static final String MTL = "mtl4j";
    private static final String BASELINE = "baseline";
    /** JavaCPP's physical-memory limit, passed on to the child when the benchmark JVM sets it. */
    /** The system properties of the bench's JVM that the probe JVMs get too: they change what a step runs. */
    private static final List<String> FORWARDED = List.of("org.bytedeco.javacpp.maxPhysicalBytes",
            "mtl4j.acceleration");
    private static final long CHILD_TIMEOUT_S = 600;

    /**
     * The footprints of both sides.
     *
     * @param mtl      the mtl4j side
     * @param baseline the plain DL4J side
     */
    public record Footprints(MemoryProbe.Footprint mtl, MemoryProbe.Footprint baseline) {
    }

    private ForkedMemoryProbe() {
    }

    /**
     * Measures each side of {@code c} in a child JVM of its own, the two children at the same time (each
     * measures its own process): {@code warmup} steps, then the peak over {@code steps}.
     *
     * @throws IllegalStateException when a child fails or prints no footprint
     */
    public static Footprints measure(BenchCase c, long seed, int batches, int warmup, int steps) {
        try (Child baseline = Child.start(c, BASELINE, seed, batches, warmup, steps);
             Child mtl = Child.start(c, MTL, seed, batches, warmup, steps)) {
            return new Footprints(mtl.footprint(), baseline.footprint());
        }
    }

    /** A running child JVM measuring one side, its output going to a temporary file. */
    private static final class Child implements AutoCloseable {

        private final BenchCase c;
        private final String side;
        private final Process process;
        private final Path output;

        private Child(BenchCase c, String side, Process process, Path output) {
            this.c = c;
            this.side = side;
            this.process = process;
            this.output = output;
        }

        static Child start(BenchCase c, String side, long seed, int batches, int warmup, int steps) {
            long heapMb = Runtime.getRuntime().maxMemory() >> 20;
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xms" + heapMb + "m", "-Xmx" + heapMb + "m", "-XX:+AlwaysPreTouch", "-XX:TieredStopAtLevel=1",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
            for (String property : FORWARDED) {
                String value = System.getProperty(property);
                if (value != null) {
                    command.add("-D" + property + "=" + value);
                }
            }
            command.addAll(List.of(
                    "-cp", System.getProperty("java.class.path"),
                    ForkedMemoryProbe.class.getName(),
                    c.name(), side, Long.toString(seed), Integer.toString(batches), Integer.toString(warmup),
                    Integer.toString(steps)));
            Path output = null;
            try {
                output = Files.createTempFile("mtl4j-memory-" + c.name() + "-" + side, ".txt");
                ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(output.toFile());
                builder.environment().putAll(MALLOC_ENV);
                return new Child(c, side, builder.start(), output);
            } catch (IOException e) {
                deleteQuietly(output);
                throw new IllegalStateException("cannot start the memory probe JVM " + command.get(0) + ": "
                        + e.getMessage(), e);
            }
        }

        /** Waits for the child and reads its footprint. */
        MemoryProbe.Footprint footprint() {
            String what = "the memory probe of case " + c.name() + " (" + side + ")";
            try {
                if (!process.waitFor(CHILD_TIMEOUT_S, TimeUnit.SECONDS)) {
                    throw new IllegalStateException(what + " ran over " + CHILD_TIMEOUT_S + " s");
                }
                List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
                MemoryProbe.Footprint footprint = null;
                for (String line : lines) {
                    if (line.startsWith(PREFIX + side + " ")) {
                        footprint = MemoryProbe.Footprint.parse(line);
                    }
                }
                if (process.exitValue() != 0 || footprint == null) {
                    throw new IllegalStateException(what + " failed (exit " + process.exitValue()
                            + "); its output ends:\n  "
                            + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 15), lines.size())));
                }
                return footprint;
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the output of " + what + ": " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while " + what + " ran", e);
            }
        }

        /** Stops the child if it still runs and deletes its output file. */
        @Override
        public void close() {
            process.destroyForcibly();
            deleteQuietly(output);
        }

        private static void deleteQuietly(Path file) {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a temporary file left behind is harmless
                }
            }
        }
    }

    /**
     * The child: {@code <case> <side> <seed> <batches> <warmup steps> <measured steps>}, side {@value #MTL} or
     * {@value #BASELINE}; prints one {@code FOOTPRINT <side> ...} line.
     */
    public static void main(String[] args) {
        if (args.length != 6 || !args[1].equals(MTL) && !args[1].equals(BASELINE)) {
            System.err.println("usage: ForkedMemoryProbe <case> mtl4j|baseline <seed> <batches> <warmup steps>"
                    + " <measured steps>");
            System.exit(2);
        }
        BenchCase c = Cases.named(args[0]);
        String side = args[1];
        long seed = Long.parseLong(args[2]);
        int warmup = Integer.parseInt(args[4]);
        int steps = Integer.parseInt(args[5]);
        List<? extends MultiDataSet> batches = c.batches(Integer.parseInt(args[3]), seed + 1);
        MultiTaskNetwork built = c.buildMtl(seed);
        INDArray initial = built.params().dup();
        INDArray baseInitial = c.baselineParams(seed, built);
        built = null;
        Supplier<Consumer<MultiDataSet>> measured = side.equals(MTL) ? () -> c.mtlStep(seed, initial)
                : () -> c.baselineStep(seed, baseInitial);
        MemoryProbe.measure(measured, batches, 1, 1);
        MemoryProbe.Footprint f = MemoryProbe.measure(measured, batches, warmup, steps);
        System.out.println(PREFIX + side + " " + f.toLine());
        System.out.flush();
        System.exit(0);
    }
}
