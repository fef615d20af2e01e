package org.mtl4j.bench;

import org.mtl4j.core.MultiTaskNetwork;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The side-by-side timing harness: for each case, an mtl4j network and the equivalent plain DL4J side train
 * on the same fixed random minibatches in one JVM, from the same initial parameters, with Adam(1e-3) and
 * FLOAT. The mtl4j step is {@code net.fit(MultiDataSet)}.
 * <ul>
 *   <li>Hard-sharing cases ({@code hard-*}): the baseline is one {@code ComputationGraph} with the same layers
 *       and one {@code OutputLayer} per task, given the mtl4j parameters through {@code setParams}; its step
 *       is {@code graph.fit(MultiDataSet)}.</li>
 *   <li>Multi-column cases ({@code cross-stitch-T}, {@code soft-T}, {@code sluice-4}): the baseline is T
 *       independent single-task graphs (the trunk and one {@code OutputLayer}), graph t starting from column
 *       t's trunk and task t's head; its step is one {@code fit} of each graph, in task order, on the
 *       minibatch's features and that task's labels. It is the cost floor of T columns: the mtl4j side does
 *       the same work plus the mixing units (cross-stitch, sluice) or the distance penalty (soft sharing).
 *       These cases have a budget of {@value Cases#COLUMNS_BUDGET_S} s each unless {@code --budget-s} is
 *       given, so that {@code --cases all} stays under 10 minutes on 2 cores.</li>
 * </ul>
 *
 * <p><b>Timing.</b> Both sides warm up (30 steps each by default, fewer but at least 3 when that takes
 * more than 15% of the case's budget), then blocks of {@code k} steps (10 by default) alternate: mtl4j,
 * baseline, mtl4j, baseline, ... One sample is the mean ms/step of one block; a side gets 15 to 30 samples,
 * as many as fit the case's wall-time budget (90 s by default; below 15 samples the block shrinks, down to
 * one step). The report is the median sample of each side and their ratio. Steps are synchronous on
 * ND4J's CPU backend, so the wall time of a block is its compute. Both sides run in one thread and so share
 * that thread's DL4J workspaces, as two networks trained in turn by one application would.
 *
 * <p><b>Memory.</b> After the timing, each side is measured alone by {@link MemoryProbe}, by default in a
 * fresh JVM of its own that compiles with C1 only ({@link ForkedMemoryProbe} says why; {@code --memory inproc}
 * measures in this JVM instead).
 * The reference point is the resident set size ({@code VmRSS}) after the thread's DL4J workspaces are
 * destroyed and garbage is collected until the resident size is steady (so ND4J's deallocator threads have
 * freed dropped buffers); the side is built from the shared initial parameters and trains 10 steps
 * (workspaces reach their size); the kernel's resident high-water mark ({@code VmHWM}) is reset through
 * {@code /proc/self/clear_refs} and the side trains 20 more steps (fewer for slow cases); the peak is
 * {@code VmHWM} afterwards. The MEMORY line reports, per side, in MiB,
 * {@code (VmHWM - reference RSS) + (live JVM heap after GC with the side alive - live heap before)}; the
 * baseline side of a multi-column case is its T graphs together.
 * <ul>
 *   <li>It includes: ND4J's native buffers the side allocates (parameters, gradients, Adam state,
 *       workspaces, activations and other arrays a step creates, including transient arrays inside a
 *       step and arrays that wait for a JVM GC before ND4J frees them, so a side that allocates outside
 *       workspaces shows a peak that depends on how often the JVM collects), the JVM objects of the model,
 *       and any other growth of the process during the side's steps. That growth includes the code the JVM
 *       compiles for the side's step (a first instance of the side trains two steps before the reference, so
 *       most of it comes after): on {@code hard-mlp-small} about 1.5 MB for the DL4J graph and 3.4 MB for
 *       mtl4j, whose step runs its own classes besides DL4J's (measured against a JVM that compiles
 *       nothing).</li>
 *   <li>It excludes: the minibatches (made before the reference), ND4J's and the JVM's start-up footprint,
 *       and JVM heap pages: the probe JVM runs with {@code -Xms} equal to {@code -Xmx} and
 *       {@code -XX:+AlwaysPreTouch}, so the heap is resident before the reference and heap churn does not
 *       count as resident growth.</li>
 *   <li>JavaCPP's {@code Pointer.totalBytes()} is not used for the total: ND4J's CPU buffers and
 *       workspaces are allocated in libnd4j, not through JavaCPP, so it does not see them (a 1 GB array
 *       adds about 100 bytes to it). It is printed on the MEMORY-DETAIL line to show that.</li>
 *   <li>The probe JVM tells glibc to return freed memory to the kernel ({@link ForkedMemoryProbe#MALLOC_ENV});
 *       with glibc's defaults, as in this JVM ({@code --memory inproc}), the side measured second reuses
 *       pages the first one freed and can show almost no growth.</li>
 * </ul>
 * The MEMORY-DETAIL line adds the resident growth after GC with the side still built (what it keeps:
 * parameters, updater state, workspaces), what stayed resident after the side was dropped, and the bytes the
 * side's ND4J workspaces hold after its steps ({@code workspaces_mb}: DL4J's activations, errors and working
 * memory; the same in every run, where the resident sizes move by several MB). The T graphs of a multi-column
 * baseline train one after another on one thread and share DL4J's workspaces, so theirs is about one graph's.
 *
 * <p>Output, one case after another: {@code RESULT <case> mtl4j_ms=.. baseline_ms=.. ratio=..},
 * {@code MEMORY <case> mtl4j_mb=.. baseline_mb=..}, then TIMING, MEMORY-DETAIL and CHECK lines with the
 * sample spread, the median CPU ms/step of the timing thread over the same blocks (user and system time;
 * steadier than wall time when other processes compete for the cores; with {@code OMP_NUM_THREADS > 1} it
 * misses the OpenMP workers' share), minor page faults per timed step (first touches of fresh memory, from
 * {@code /proc/self/stat}), the memory breakdown, both sides' parameter counts and first-step loss (mtl4j's without
 * its sharing penalty, which is printed beside it; cross-stitch and sluice losses differ from the baseline's
 * because the units mix the columns from the first step). A parameter mismatch between the
 * sides is printed as an ERROR line and makes the exit status 3; bad arguments give status 2.
 */
public final class SideBySide {

    private SideBySide() {
    }

    /** Runs the harness with the given arguments (see {@link BenchArgs}) and exits with its status. */
    public static void main(String[] args) {
        BenchArgs parsed;
        try {
            parsed = BenchArgs.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ERROR " + e.getMessage());
            System.err.println(BenchArgs.usage());
            System.exit(2);
            return;
        }
        if (parsed.help()) {
            System.out.println(BenchArgs.usage());
            return;
        }
        int status = run(parsed, System.out);
        System.out.flush();
        System.exit(status);
    }

    /**
     * Prints the header, then runs and reports each selected case.
     *
     * @return the exit status: 0, or 3 when some case's sides did not have the same parameters
     */
    public static int run(BenchArgs args, PrintStream out) {
        out.println(header());
        if (!MemoryProbe.exactPeakAvailable()) {
            out.println("NOTE the resident high-water mark cannot be reset here: memory peaks are sampled between steps");
        }
        if (!ManagementFactory.getRuntimeMXBean().getInputArguments().contains("-XX:+AlwaysPreTouch")) {
            out.println("NOTE the JVM heap is not pre-touched (-XX:+AlwaysPreTouch): heap growth may count as memory");
        }
        int status = 0;
        for (BenchCase c : Cases.select(args.cases())) {
            try {
                CaseResult r = new CaseRunner(args.settingsFor(c), args.seed(), args.memory()).run(c);
                out.println(r.resultLine());
                out.println(r.memoryLine());
                r.detailLines().forEach(out::println);
            } catch (IllegalStateException e) {
                out.println("ERROR " + c.name() + ": " + e.getMessage());
                status = 3;
            }
            out.flush();
        }
        return status;
    }

    /**
     * One line: date, CPU model, cores, OMP_NUM_THREADS, Java, ND4J backend facts, and JavaCPP's physical-memory
     * limit when it is set (0 switches off the resident-size check JavaCPP makes on every native allocation).
     */
    static String header() {
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        List<String> parts = new ArrayList<>();
        parts.add("HEADER date=" + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        parts.add("cpu=\"" + cpuModel() + "\"");
        parts.add("cores=" + Runtime.getRuntime().availableProcessors());
        String omp = System.getenv("OMP_NUM_THREADS");
        parts.add("OMP_NUM_THREADS=" + (omp == null ? "unset" : omp));
        parts.add("java=" + System.getProperty("java.version"));
        parts.add("backend=" + env.getProperty("backend", "?"));
        parts.add("blas=" + env.getProperty("blas.vendor", "?"));
        parts.add("omp_threads=" + env.getOrDefault("omp.threads", "?"));
        parts.add("blas_threads=" + env.getOrDefault("blas.threads", "?"));
        parts.add("natives=" + nativesClassifier());
        parts.add("max_heap_mb=" + Runtime.getRuntime().maxMemory() / (1L << 20));
        parts.add("javacpp_max_physical_bytes=" + System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes", "default"));
        parts.add("mtl_core=" + codeSource(MultiTaskNetwork.class));
        return String.join(" ", parts);
    }

    /** Where a class was loaded from, with the file's modification time (the mtl-core build being measured). */
    private static String codeSource(Class<?> type) {
        try {
            Path where = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path file = Files.isDirectory(where) ? where.resolve(type.getName().replace('.', '/') + ".class") : where;
            return where.getFileName() + "@" + Files.getLastModifiedTime(file).toInstant().truncatedTo(ChronoUnit.SECONDS);
        } catch (IOException | URISyntaxException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim().replace('"', '\'');
                }
            }
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch", "unknown");
        }
        return System.getProperty("os.arch", "unknown");
    }

    /**
     * The natives classifier on the classpath. The platform jar of {@code nd4j-native} always comes along; when an
     * extension build ({@code linux-x86_64-avx2}) is there too, JavaCPP loads that one, so the longest wins.
     */
    private static String nativesClassifier() {
        Matcher m = Pattern.compile("nd4j-native-[^/\\\\]*?-(linux[^/\\\\]*|windows[^/\\\\]*|macosx[^/\\\\]*)\\.jar")
                .matcher(System.getProperty("java.class.path", ""));
        String found = "unknown";
        while (m.find()) {
            if (found.equals("unknown") || m.group(1).length() > found.length()) {
                found = m.group(1);
            }
        }
        return found;
    }
}
