package org.mtl4j.bench;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.spark.SparkTrainer;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Time per epoch of local training ({@code net.fit(MultiDataSet)} on each minibatch in turn) against
 * {@link SparkTrainer} in Spark's local mode, on the same minibatches and the same model ({@code hard-mlp-small}
 * of {@link Cases}: input 64, dense 256-256 ReLU, a 10-way and a regression head, batch 128, Adam, float), and
 * the cost of one averaging round.
 *
 * <p>Configurations, all in one JVM and one {@code local[2]} Spark context ({@code --threads 1}: {@code local[1]},
 * where two workers take turns on one thread):
 * <ul>
 *   <li>{@code local}: the network trained in this thread;</li>
 *   <li>{@code spark-1w}: one worker (one partition, so one Spark task at a time), averaging every {@code F}
 *       minibatches ({@code --freq}, default 5, SparkTrainer's default);</li>
 *   <li>{@code spark-2w}: two workers, each training half the minibatches in parallel, averaging every
 *       {@code F};</li>
 *   <li>{@code spark-2w-epoch}: two workers, one round per epoch (each trains its half, then one averaging);</li>
 *   <li>{@code spark-1w-epoch}: one worker, one round per epoch (averaging frequency = the minibatches);</li>
 *   <li>{@code spark-1w-every}: one worker, averaging after every minibatch.</li>
 * </ul>
 * Each configuration trains a fresh network for {@code --epochs} epochs (4 by default) per repetition; the first
 * epoch of every run is warm-up (on Spark it includes the workers' first deserialisation of the model) and is
 * not counted. The repetitions ({@code --reps}, 3 by default) go round the configurations in turn (A B C D E F A
 * B ...) after one uncounted warm-up repetition, so that the machine's load changes touch all alike. A Spark epoch's
 * time is {@link EpochRecord#seconds()} of the trainer's history: the rounds (broadcast of the state, the
 * workers' steps, {@code treeAggregate}, the driver's averaging), without the run's one-off partitioning of the
 * data. Reported: the median ms per epoch of each configuration and its ratio to {@code local}, and the cost of
 * one round: {@code (every - epoch) / (rounds of every - 1)} with one worker.
 *
 * <pre>
 * --batches N   minibatches of 128 per epoch (default 64, i.e. 8192 examples)
 * --epochs N    epochs per run, the first uncounted (default 4)
 * --reps N      counted repetitions (default 3)
 * --freq N      averaging frequency of spark-1w and spark-2w (default 5)
 * --threads N   the Spark master local[N] (default 2)
 * --quick       a smoke run: 8 minibatches, 2 epochs, 1 repetition, no warm-up repetition
 * </pre>
 *
 * Output: a HEADER line (as {@link SideBySide}'s), a SPARK-SETUP line with the sizes, one {@code SPARK <config>
 * ms_per_epoch=.. ratio=.. rounds_per_epoch=.. samples=.. min=.. max=..} line per configuration, and a
 * {@code ROUND ms_per_round=..} line.
 *
 * <p>Run (no install needed; {@code -Dbench.args=} replaces SideBySide's default arguments):
 * {@code mvn -B -q -pl mtl-bench -am test-compile exec:exec -Dbench.main=org.mtl4j.bench.SparkBench -Dbench.args=}
 */
public final class SparkBench {

    /** The case whose model and minibatches are trained. */
    static final String CASE = "hard-mlp-small";

    /** One configuration: {@code workers == 0} is local training. */
    record Config(String name, int workers, int frequency) {
    }

    /** The sizes of a run. */
    record Sizes(int batches, int epochs, int reps, int frequency, boolean warmUp, int threads) {

        Sizes {
            if (batches < 2 || epochs < 2 || reps < 1 || frequency < 1 || threads < 1) {
                throw new IllegalArgumentException("need --batches >= 2, --epochs >= 2, --reps >= 1, --freq >= 1 and"
                        + " --threads >= 1, got " + batches + ", " + epochs + ", " + reps + ", " + frequency + ", "
                        + threads);
            }
        }

        /** The Spark master: {@code local[threads]}. */
        String master() {
            return "local[" + threads + "]";
        }

        static Sizes parse(String... args) {
            int batches = 64;
            int epochs = 4;
            int reps = 3;
            int frequency = 5;
            boolean warmUp = true;
            int threads = 2;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--batches" -> batches = Integer.parseInt(value(args, ++i));
                    case "--epochs" -> epochs = Integer.parseInt(value(args, ++i));
                    case "--reps" -> reps = Integer.parseInt(value(args, ++i));
                    case "--freq" -> frequency = Integer.parseInt(value(args, ++i));
                    case "--threads" -> threads = Integer.parseInt(value(args, ++i));
                    case "--quick" -> {
                        batches = 8;
                        epochs = 2;
                        reps = 1;
                        warmUp = false;
                    }
                    default -> throw new IllegalArgumentException("unknown argument \"" + args[i]
                            + "\"; usage: SparkBench [--batches N] [--epochs N] [--reps N] [--freq N] [--threads N] [--quick]");
                }
            }
            return new Sizes(batches, epochs, reps, frequency, warmUp, threads);
        }

        private static String value(String[] args, int i) {
            if (i >= args.length) {
                throw new IllegalArgumentException(args[i - 1] + " needs a value");
            }
            return args[i];
        }
    }

    /** The median ms per epoch of each configuration, and the cost of one round in ms. */
    record Result(Map<String, Double> msPerEpoch, Map<String, Integer> roundsPerEpoch, double msPerRound) {
    }

    private SparkBench() {
    }

    /** Runs the bench with the given arguments and prints its lines. */
    public static void main(String[] args) {
        Sizes sizes;
        try {
            sizes = Sizes.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ERROR " + e.getMessage());
            System.exit(2);
            return;
        }
        run(sizes, System.out);
        System.out.flush();
        System.exit(0);
    }

    /** Starts a {@code local[threads]} context, measures every configuration, prints the report and stops the context. */
    static Result run(Sizes sizes, PrintStream out) {
        out.println(SideBySide.header());
        out.printf(Locale.ROOT, "SPARK-SETUP case=%s batches=%d batch_size=%d epochs_per_run=%d reps=%d freq=%d master=%s%n",
                CASE, sizes.batches(), Cases.named(CASE).batchSize(), sizes.epochs(), sizes.reps(), sizes.frequency(),
                sizes.master());
        List<Config> configs = List.of(new Config("local", 0, 0),
                new Config("spark-1w", 1, sizes.frequency()),
                new Config("spark-2w", 2, sizes.frequency()),
                new Config("spark-2w-epoch", 2, (sizes.batches() + 1) / 2),
                new Config("spark-1w-epoch", 1, sizes.batches()),
                new Config("spark-1w-every", 1, 1));
        BenchCase c = Cases.named(CASE);
        List<MultiDataSet> batches = new ArrayList<>(c.batches(sizes.batches(), BenchArgs.DEFAULT_SEED + 1));
        SparkConf conf = new SparkConf().setMaster(sizes.master()).setAppName("mtl4j-spark-bench")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1");
        Map<String, List<Double>> samples = new LinkedHashMap<>();
        configs.forEach(k -> samples.put(k.name(), new ArrayList<>()));
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            JavaRDD<MultiDataSet> rdd = sc.parallelize(batches, 2).cache();
            rdd.count();
            for (int rep = sizes.warmUp() ? 0 : 1; rep <= sizes.reps(); rep++) {
                for (Config k : configs) {
                    List<Double> ms = epochs(k, c, batches, rdd, sizes.epochs());
                    if (rep > 0) {
                        samples.get(k.name()).addAll(ms.subList(1, ms.size()));
                    }
                }
            }
        }
        Map<String, Double> median = new LinkedHashMap<>();
        Map<String, Integer> rounds = new LinkedHashMap<>();
        for (Config k : configs) {
            median.put(k.name(), Stats.median(samples.get(k.name()).stream().mapToDouble(Double::doubleValue).toArray()));
            int perWorker = k.workers() == 0 ? 0 : (sizes.batches() + k.workers() - 1) / k.workers();
            rounds.put(k.name(), k.workers() == 0 ? 0 : (perWorker + k.frequency() - 1) / k.frequency());
        }
        double local = median.get("local");
        for (Config k : configs) {
            List<Double> s = samples.get(k.name());
            out.printf(Locale.ROOT, "SPARK %s ms_per_epoch=%.1f ratio=%.3f rounds_per_epoch=%d samples=%d min=%.1f max=%.1f%n",
                    k.name(), median.get(k.name()), median.get(k.name()) / local, rounds.get(k.name()), s.size(),
                    s.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN),
                    s.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
        }
        double perRound = (median.get("spark-1w-every") - median.get("spark-1w-epoch"))
                / (rounds.get("spark-1w-every") - rounds.get("spark-1w-epoch"));
        double stepMs = local / sizes.batches();
        out.printf(Locale.ROOT, "ROUND ms_per_round=%.2f local_ms_per_step=%.2f (spark-1w-every minus spark-1w-epoch,"
                + " per extra round)%n", perRound, stepMs);
        return new Result(median, rounds, perRound);
    }

    /** Trains a fresh network of the case for {@code epochs} epochs in configuration {@code k}; ms of each epoch. */
    private static List<Double> epochs(Config k, BenchCase c, List<MultiDataSet> batches, JavaRDD<MultiDataSet> rdd,
                                       int epochs) {
        MultiTaskNetwork net = c.buildMtl(BenchArgs.DEFAULT_SEED);
        List<Double> ms = new ArrayList<>();
        if (k.workers() == 0) {
            for (int e = 0; e < epochs; e++) {
                long start = System.nanoTime();
                for (MultiDataSet b : batches) {
                    net.fit(b);
                }
                ms.add((System.nanoTime() - start) / 1e6);
            }
            return ms;
        }
        SparkTrainer trainer = SparkTrainer.builder().epochs(epochs).workers(k.workers())
                .averagingFrequency(k.frequency()).seed(BenchArgs.DEFAULT_SEED).build();
        for (EpochRecord r : trainer.fit(net, rdd).history().records()) {
            ms.add(r.seconds() * 1e3);
        }
        return ms;
    }
}
