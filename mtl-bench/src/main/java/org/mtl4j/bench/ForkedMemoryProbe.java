package org.mtl4j.bench;

import org.mtl4j.core.MultiTaskNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs {@link MemoryProbe} for both sides of a case in a fresh JVM, so the memory numbers do not depend on
 * what the timing JVM allocated before, on which side is measured first, or on glibc keeping freed memory.
 *
 * <p>The child JVM gets the parent's classpath, maximum heap and JavaCPP physical-memory limit (when set), with
 * {@code -Xms} equal to {@code -Xmx} and
 * {@code -XX:+AlwaysPreTouch} (heap pages resident from the start, so resident growth is off-heap), and
 * {@code MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072}, which make glibc map each block of
 * 128 KiB or more separately and unmap it when freed, and trim freed heap memory, so that the resident size
 * follows the bytes in use. (These settings change allocation cost, which is why the timing JVM runs with
 * glibc's defaults.) In the child both sides first train a few steps and are dropped, so that JIT-compiled
 * code and compiler memory are not charged to either side; then the baseline and then the mtl4j side are
 * measured, each alone.
 */
public final class ForkedMemoryProbe {

    /** The glibc settings of the child JVM. */
    public static final Map<String, String> MALLOC_ENV = Map.of(
            "MALLOC_MMAP_THRESHOLD_", "131072",
            "MALLOC_TRIM_THRESHOLD_", "131072");

    private static final String PREFIX = "FOOTPRINT ";
    /** JavaCPP's physical-memory limit, passed on to the child when the benchmark JVM sets it. */
    private static final String PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";
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
     * Measures both sides of {@code c} in a child JVM: {@code warmup} steps, then the peak over {@code steps}.
     *
     * @throws IllegalStateException when the child fails or prints no footprints
     */
    public static Footprints measure(BenchCase c, long seed, int batches, int warmup, int steps) {
        long heapMb = Runtime.getRuntime().maxMemory() >> 20;
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms" + heapMb + "m", "-Xmx" + heapMb + "m", "-XX:+AlwaysPreTouch",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        String physical = System.getProperty(PHYSICAL_BYTES);
        if (physical != null) {
            command.add("-D" + PHYSICAL_BYTES + "=" + physical);
        }
        command.addAll(List.of(
                "-cp", System.getProperty("java.class.path"),
                ForkedMemoryProbe.class.getName(),
                c.name(), Long.toString(seed), Integer.toString(batches), Integer.toString(warmup),
                Integer.toString(steps)));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(MALLOC_ENV);
        List<String> output = new ArrayList<>();
        MemoryProbe.Footprint mtl = null;
        MemoryProbe.Footprint baseline = null;
        try {
            Process child = builder.start();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    output.add(line);
                    if (line.startsWith(PREFIX + "mtl4j ")) {
                        mtl = MemoryProbe.Footprint.parse(line);
                    } else if (line.startsWith(PREFIX + "baseline ")) {
                        baseline = MemoryProbe.Footprint.parse(line);
                    }
                }
            }
            if (!child.waitFor(CHILD_TIMEOUT_S, TimeUnit.SECONDS)) {
                child.destroyForcibly();
                throw new IllegalStateException("the memory probe of case " + c.name() + " ran over "
                        + CHILD_TIMEOUT_S + " s");
            }
            if (child.exitValue() != 0 || mtl == null || baseline == null) {
                throw new IllegalStateException("the memory probe of case " + c.name() + " failed (exit "
                        + child.exitValue() + "); its output ends:\n  "
                        + String.join("\n  ", output.subList(Math.max(0, output.size() - 15), output.size())));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the memory probe JVM " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the memory probe of case " + c.name() + " ran", e);
        }
        return new Footprints(mtl, baseline);
    }

    /**
     * The child: {@code <case> <seed> <batches> <warmup steps> <measured steps>}; prints one
     * {@code FOOTPRINT <side> ...} line per side.
     */
    public static void main(String[] args) {
        if (args.length != 5) {
            System.err.println("usage: ForkedMemoryProbe <case> <seed> <batches> <warmup steps> <measured steps>");
            System.exit(2);
        }
        BenchCase c = Cases.named(args[0]);
        long seed = Long.parseLong(args[1]);
        int warmup = Integer.parseInt(args[3]);
        int steps = Integer.parseInt(args[4]);
        List<? extends MultiDataSet> batches = c.batches(Integer.parseInt(args[2]), seed + 1);
        MultiTaskNetwork built = c.buildMtl(seed);
        INDArray initial = built.params().dup();
        INDArray baseInitial = c.baselineParams(seed, built);
        built = null;
        Supplier<Consumer<MultiDataSet>> baseline = () -> c.baselineStep(seed, baseInitial);
        Supplier<Consumer<MultiDataSet>> mtl = () -> c.mtlStep(seed, initial);
        MemoryProbe.measure(baseline, batches, 1, 1);
        MemoryProbe.measure(mtl, batches, 1, 1);
        MemoryProbe.Footprint b = MemoryProbe.measure(baseline, batches, warmup, steps);
        MemoryProbe.Footprint m = MemoryProbe.measure(mtl, batches, warmup, steps);
        System.out.println(PREFIX + "baseline " + b.toLine());
        System.out.println(PREFIX + "mtl4j " + m.toLine());
        System.out.flush();
        System.exit(0);
    }
}
