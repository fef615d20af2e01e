package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.mtl4j.core.EpochRecord;
import org.mtl4j.core.FixedWeights;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.core.TrainingResult;
import org.mtl4j.losses.Mgda;
import org.mtl4j.losses.PcGrad;
import org.mtl4j.losses.UncertaintyWeighting;
import org.mtl4j.sharing.CrossStitch;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * MultiFashion at the standard scale ({@link MultiFashion#runStandard}): every item of each split paired once
 * with a partner, LibMTL's HPS encoder, seven models.
 *
 * <p>Pairs. Over the N items of a split, pair i (i = 0..N-1) puts item i top-left (task L) and item
 * {@code perm[i]} bottom-right (task R), so every item is drawn once in each role. {@code perm} is a seeded
 * uniformly random derangement: a Fisher-Yates shuffle of 0..N-1 ({@code for i = N-1 down to 1: swap(i,
 * r.nextInt(i + 1))}), drawn again from the same {@link Random} while some {@code perm[i] == i} (an item paired
 * with itself is one item drawn over itself; about e draws, as a shuffle is a derangement with probability
 * about 1/e). {@code r} is {@code new Random(seed)} for the training split, {@code new Random(seed + 1)} for the
 * test split. The training pairs are shuffled every epoch (LibMTL's loader shuffles): epoch e's order is a
 * Fisher-Yates shuffle with {@code new Random(seed + 2 + e)} ({@link FashionPairs}); the test pairs go in order.
 *
 * <p>Encoder (LibMTL's hard-parameter-sharing encoder for MultiMNIST): conv 5x5 (10 channels) - max-pool 2 -
 * ReLU - conv 5x5 (20) - max-pool 2 - ReLU - dense 50 - ReLU, the ReLUs as separate activation layers after
 * the pools (the order stated). On the 36x36 canvas: 36 - 5 + 1 = 32, pooled 16; 16 - 5 + 1 = 12, pooled 6;
 * so the dense layer reads 20 x 6 x 6 = 720 values. Parameters: 1*10*25 + 10 = 260, 10*20*25 + 20 = 5,020,
 * 720*50 + 50 = 36,050, in all 41,330; each task's head is linear (50*10 + 10 = 510) into softmax
 * cross-entropy ({@link Task#classification}). Adam (1e-3), minibatch 256, DL4J's default (Xavier)
 * initialisation from the seed.
 *
 * <p>Models, trained from the same seed on the same minibatches: single-task L, single-task R, hard sharing
 * with equal weights, uncertainty weighting, MGDA-UB (its default, the representation's gradients), PCGrad
 * (its default, the encoder parameters' gradients), and cross-stitch (a unit after each of the three stages,
 * equal weights). The time per epoch is the training's only (no evaluation between epochs); accuracy is on
 * all N test pairs after the last epoch; the parameters counted are the network's (uncertainty's two log
 * variances belong to its combinator).
 *
 * <p>Departures from LibMTL's setup: DL4J's Xavier initialisation instead of PyTorch's defaults; the pairs are
 * built by the construction above, not read from a pre-generated file; MGDA-UB flattens the representation
 * gradients over the minibatch as the paper does, where LibMTL sums them ({@link Mgda}); PCGrad visits the
 * other tasks only, as the paper does ({@link PcGrad}).
 */
final class StandardMultiFashion {

    static final int BATCH = 256;
    private static final int TEST_BATCH = 1_000;

    private StandardMultiFashion() {
    }

    /** See {@link MultiFashion#runStandard}. */
    static List<MultiFashion.Row> run(Path dir, int epochs, long seed, PrintStream out, Path historyRoot)
            throws IOException {
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be at least 1, got " + epochs);
        }
        List<String> missing = MultiFashion.missingFiles(dir);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(MultiFashion.missingFilesMessage(dir, missing));
        }
        MultiFashion.Split train = MultiFashion.readSplit(dir, MultiFashion.FILES.get(0), MultiFashion.FILES.get(1));
        MultiFashion.Split test = MultiFashion.readSplit(dir, MultiFashion.FILES.get(2), MultiFashion.FILES.get(3));
        int[] trainPartner = derangement(train.labels().length, new Random(seed));
        int[] testPartner = derangement(test.labels().length, new Random(seed + 1));
        FashionPairs testPairs = new FashionPairs(test, testPartner, TEST_BATCH, null);

        out.printf("MultiFashion, standard scale: pair i = (item i top-left, item perm[i] bottom-right), perm a seeded"
                + " derangement of each split%n");
        out.printf("%s: %d training pairs (shuffled each epoch), %d test pairs, %d epoch%s, minibatch %d, Adam 1e-3,"
                + " seed %d%n", dir, train.labels().length, test.labels().length, epochs, epochs == 1 ? "" : "s",
                BATCH, seed);
        out.printf("encoder: conv 5x5 (10) - max-pool 2 - ReLU - conv 5x5 (20) - max-pool 2 - ReLU - dense 50 - ReLU;"
                + " linear heads; ND4J %s, %d OpenMP threads%n", Nd4j.getBackend().getClass().getSimpleName(),
                Nd4j.getEnvironment().maxMasterThreads());
        out.printf("%-14s %11s %11s %11s %11s %11s%n", "model", "s / epoch", "test acc L", "test acc R", "parameters",
                "train time");
        Task l = task("L", 0);
        Task r = task("R", 1);
        List<MultiFashion.Row> rows = new ArrayList<>();
        Fit fit = new Fit(train, trainPartner, testPairs, epochs, seed, historyRoot, out);
        rows.add(fit.run("single-task L", network(new HardSharing(), FixedWeights.equal(), seed, l)));
        rows.add(fit.run("single-task R", network(new HardSharing(), FixedWeights.equal(), seed, r)));
        rows.add(fit.run("equal weights", network(new HardSharing(), FixedWeights.equal(), seed, l, r)));
        rows.add(fit.run("uncertainty", network(new HardSharing(), new UncertaintyWeighting(), seed, l, r)));
        rows.add(fit.run("MGDA-UB", network(new HardSharing(), new Mgda(), seed, l, r)));
        rows.add(fit.run("PCGrad", network(new HardSharing(), new PcGrad(), seed, l, r)));
        rows.add(fit.run("cross-stitch", network(new CrossStitch(), FixedWeights.equal(), seed, l, r)));
        out.printf("s / epoch: training only, mean over the %d epoch%s; train time: all epochs%n", epochs,
                epochs == 1 ? "" : "s");
        if (historyRoot != null) {
            out.printf("Training history (CSV) and charts of each model: %s%n", historyRoot);
        }
        return rows;
    }

    /** What every model is trained and tested on. */
    private record Fit(MultiFashion.Split train, int[] trainPartner, FashionPairs test, int epochs, long seed,
                       Path historyRoot, PrintStream out) {

        MultiFashion.Row run(String model, MultiTaskNetwork net) {
            FashionPairs pairs = new FashionPairs(train, trainPartner, BATCH, seed + 2);
            TrainingResult result = ExampleTraining.train(net, pairs, null, epochs, historyRoot, model, pairs);
            List<EpochRecord> records = result.history().records();
            double seconds = records.stream().mapToDouble(EpochRecord::seconds).sum();
            TaskEvaluations eval = net.evaluate(test);
            List<String> names = eval.taskNames();
            MultiFashion.Row row = new MultiFashion.Row(model,
                    names.contains("L") ? eval.classification("L").accuracy() : Double.NaN,
                    names.contains("R") ? eval.classification("R").accuracy() : Double.NaN, net.params().length(),
                    seconds, seconds / records.size());
            out.printf("%-14s %11.1f %11s %11s %,11d %9.1f s%n", row.model(), row.secondsPerEpoch(),
                    MultiFashion.accuracy(row.accuracyL()), MultiFashion.accuracy(row.accuracyR()), row.parameters(),
                    row.trainSeconds());
            return row;
        }
    }

    /**
     * A uniformly random derangement of 0..n-1: Fisher-Yates shuffles drawn from {@code random} until one has
     * no fixed point, as the class Javadoc says.
     */
    static int[] derangement(int n, Random random) {
        if (n < 2) {
            throw new IllegalArgumentException("a derangement needs at least 2 items, got " + n);
        }
        int[] perm = new int[n];
        boolean fixed;
        do {
            for (int i = 0; i < n; i++) {
                perm[i] = i;
            }
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            fixed = false;
            for (int i = 0; i < n && !fixed; i++) {
                fixed = perm[i] == i;
            }
        } while (fixed);
        return perm;
    }

    /** LibMTL's HPS encoder for MultiMNIST, in three stages (the cross-stitch units go after each). */
    static SharedTrunk encoder() {
        return SharedTrunk.builder(InputType.convolutional(MultiFashion.CANVAS, MultiFashion.CANVAS, 1))
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(10).activation(Activation.IDENTITY).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                                .build(),
                        new ActivationLayer.Builder().activation(Activation.RELU).build())
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(20).activation(Activation.IDENTITY).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                                .build(),
                        new ActivationLayer.Builder().activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(50).activation(Activation.RELU).build())
                .build();
    }

    private static Task task(String name, int labelsIndex) {
        return Task.classification(name, MultiFashion.CLASSES).withLabelsIndex(labelsIndex);
    }

    /** A network of {@link #encoder()} and linear heads for {@code tasks}, Adam 1e-3, initialised from {@code seed}. */
    static MultiTaskNetwork network(SharingStrategy sharing, LossCombinator losses, long seed, Task... tasks) {
        return MultiTaskNetwork.builder().trunk(encoder()).tasks(tasks).sharing(sharing).losses(losses)
                .updater(new Adam(1e-3)).seed(seed).build();
    }
}
