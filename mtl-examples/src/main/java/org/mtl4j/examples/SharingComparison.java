package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.sharing.CrossStitch;
import org.mtl4j.sharing.Sluice;
import org.mtl4j.sharing.SoftSharing;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Sharing strategies side by side on two regression tasks of controllable relatedness.
 *
 * <p>Data (made here, seeded): features {@code x ~ N(0, I_16)}; task t's target is
 * {@code y_t = sin(x . w_t) + 0.5 x . w_t + noise (sd 0.1)}, with unit vectors {@code w_2 = rho w_1 +
 * sqrt(1 - rho^2) u} and u orthogonal to {@code w_1}: rho is the fraction of generating weights the tasks
 * share (rho = 1: the same task; rho = 0: unrelated tasks). With few training examples, sharing helps
 * exactly when the tasks are related. Each strategy (single-task networks, hard sharing, soft sharing,
 * cross-stitch, sluice) trains the same trunk for the same epochs; the table gives each task's test MSE.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.SharingComparison}
 */
public final class SharingComparison {

    private static final int FEATURES = 16;

    /** One strategy's test MSE per task at one rho. */
    public record Row(double rho, String strategy, double mseA, double mseB) {
    }

    private SharingComparison() {
    }

    /** 200 training examples, 60 epochs, rho in {0, 0.5, 0.9}. */
    public static void main(String[] args) {
        int examples = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        run(examples, epochs, new double[]{0, 0.5, 0.9}, 7, System.out, ExampleTraining.outputFolder("SharingComparison"));
    }

    /**
     * Trains every strategy at every rho, prints the table and the learned cross-stitch alphas, returns the rows.
     *
     * @param historyRoot null, or the folder where each model's training history and charts are written
     */
    public static List<Row> run(int trainExamples, int epochs, double[] rhos, long seed, PrintStream out,
                                Path historyRoot) {
        List<Row> rows = new ArrayList<>();
        out.printf("mtl4j sharing comparison: %d training examples, %d epochs, test MSE per task (lower is better)%n",
                trainExamples, epochs);
        out.printf("%-6s %-14s %10s %10s%n", "rho", "strategy", "task A", "task B");
        for (double rho : rhos) {
            Random random = new Random(seed);
            double[][] w = directions(rho, random);
            MultiDataSetIterator train = batches(trainExamples, 25, w, random);
            MultiDataSetIterator test = batches(2000, 500, w, random);
            Map<String, Supplier<SharingStrategy>> strategies = new LinkedHashMap<>();
            strategies.put("hard", HardSharing::new);
            strategies.put("soft", () -> SoftSharing.of(1e-2));
            strategies.put("cross-stitch", CrossStitch::new);
            strategies.put("sluice", Sluice::new);
            rows.add(single(rho, train, test, epochs, seed));
            MultiTaskNetwork stitched = null;
            for (Map.Entry<String, Supplier<SharingStrategy>> e : strategies.entrySet()) {
                MultiTaskNetwork net = network(e.getValue().get(), seed,
                        Task.regression("A"), Task.regression("B"));
                ExampleTraining.train(net, train, null, epochs, historyRoot, String.format(Locale.ROOT, "rho %.2f %s", rho, e.getKey()));
                TaskEvaluations eval = net.evaluate(test);
                rows.add(new Row(rho, e.getKey(), eval.regression("A").averageMeanSquaredError(),
                        eval.regression("B").averageMeanSquaredError()));
                if (net.sharing() instanceof CrossStitch) {
                    stitched = net;
                }
            }
            for (Row r : rows.subList(rows.size() - strategies.size() - 1, rows.size())) {
                out.printf("%-6.2f %-14s %10.4f %10.4f%n", r.rho(), r.strategy(), r.mseA(), r.mseB());
            }
            List<INDArray> alphas = CrossStitch.alphas(stitched);
            INDArray last = alphas.get(alphas.size() - 1);
            out.printf("       cross-stitch alpha, last stage: [[%.3f %.3f] [%.3f %.3f]]%n", last.getDouble(0, 0),
                    last.getDouble(0, 1), last.getDouble(1, 0), last.getDouble(1, 1));
        }
        if (historyRoot != null) {
            out.println("Training history (CSV) and charts of each multi-task model: " + historyRoot);
        }
        return rows;
    }

    private static Row single(double rho, MultiDataSetIterator train, MultiDataSetIterator test, int epochs, long seed) {
        double[] mse = new double[2];
        for (int t = 0; t < 2; t++) {
            String name = t == 0 ? "A" : "B";
            MultiTaskNetwork net = network(new HardSharing(), seed, Task.regression(name).withLabelsIndex(t));
            net.fit(train, epochs);
            mse[t] = net.evaluate(test).regression(name).averageMeanSquaredError();
        }
        return new Row(rho, "single-task", mse[0], mse[1]);
    }

    private static MultiTaskNetwork network(SharingStrategy sharing, long seed, Task... tasks) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.feedForward(FEATURES))
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.TANH).build())
                .build();
        return MultiTaskNetwork.builder().trunk(trunk).tasks(tasks).sharing(sharing)
                .updater(new Adam(3e-3)).seed(seed).build();
    }

    /** Unit vectors w_1 and w_2 = rho w_1 + sqrt(1 - rho^2) u, u a unit vector orthogonal to w_1. */
    static double[][] directions(double rho, Random random) {
        double[] w1 = unit(gaussian(random));
        double[] u = gaussian(random);
        double dot = 0;
        for (int i = 0; i < FEATURES; i++) {
            dot += u[i] * w1[i];
        }
        for (int i = 0; i < FEATURES; i++) {
            u[i] -= dot * w1[i];
        }
        u = unit(u);
        double[] w2 = new double[FEATURES];
        for (int i = 0; i < FEATURES; i++) {
            w2[i] = rho * w1[i] + Math.sqrt(1 - rho * rho) * u[i];
        }
        return new double[][]{w1, w2};
    }

    private static double[] gaussian(Random random) {
        double[] v = new double[FEATURES];
        for (int i = 0; i < FEATURES; i++) {
            v[i] = random.nextGaussian();
        }
        return v;
    }

    private static double[] unit(double[] v) {
        double norm = 0;
        for (double x : v) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] / norm;
        }
        return out;
    }

    private static MultiDataSetIterator batches(int n, int batch, double[][] w, Random random) {
        List<MultiDataSet> list = new ArrayList<>();
        for (int start = 0; start < n; start += batch) {
            int mb = Math.min(batch, n - start);
            INDArray x = Nd4j.create(DataType.FLOAT, mb, FEATURES);
            INDArray[] y = {Nd4j.create(DataType.FLOAT, mb, 1), Nd4j.create(DataType.FLOAT, mb, 1)};
            for (int i = 0; i < mb; i++) {
                double[] xi = gaussian(random);
                for (int j = 0; j < FEATURES; j++) {
                    x.putScalar(i, j, xi[j]);
                }
                for (int t = 0; t < 2; t++) {
                    double p = 0;
                    for (int j = 0; j < FEATURES; j++) {
                        p += xi[j] * w[t][j];
                    }
                    y[t].putScalar(i, 0, Math.sin(p) + 0.5 * p + 0.1 * random.nextGaussian());
                }
            }
            list.add(new MultiDataSet(new INDArray[]{x}, y));
        }
        return new TestMultiDataSetIterator(1, list.toArray(new MultiDataSet[0]));
    }
}
