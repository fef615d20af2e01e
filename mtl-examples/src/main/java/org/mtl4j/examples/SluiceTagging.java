package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.examples.TaggingData.Accuracy;
import org.mtl4j.examples.TaggingData.Chunk;
import org.mtl4j.examples.TaggingData.Pos;
import org.mtl4j.examples.TaggingData.Sentence;
import org.mtl4j.sharing.Sluice;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Sequence labelling with a task hierarchy: a low-level tagger ("pos", part of speech) and a higher-level
 * one ("chunk", phrase spans computed from the part-of-speech tags), on a two-stage LSTM trunk. Compares
 * hard sharing with both tasks on the top stage, hard sharing with "pos" supervised at the first stage
 * ({@link Task#withStage(int)}, Sogaard and Goldberg 2016), and sluice networks ({@link Sluice}, two
 * subspaces, learned alphas and betas) with "pos" at the first stage and at the top. Every network starts
 * from the same seed and sees the same minibatches.
 *
 * <p>Data ({@link TaggingData}, made here, seeded): sentences of 6 to 20 words from a 28-word lexicon, the
 * word classes drawn from a small Markov chain. Most words have one part of speech; six ("fish", "walk",
 * "play", "watch", "park", "ring") are a noun or a verb by context: a noun after a determiner, adjective or
 * preposition; otherwise a verb if their clause (since the sentence start or the last conjunction) has no
 * verb yet, else a noun. Chunks are BIO spans over the tags: verb groups (VP), a preposition with the noun
 * phrase after it (PP), noun phrases (NP, a new one at every determiner and at an adjective after a noun),
 * and O for conjunctions. One word in five reaches the network as an unknown-word token, as
 * out-of-vocabulary words do in real corpora: its tags, and the chunk tags that depend on them, must be
 * guessed from the context, so no tagger reaches 100%.
 *
 * <p>Prints per-task token accuracy on the test sentences (padding masked out) for each network and three
 * references: the training set's most frequent tag, the most frequent tag of each input token, and the
 * best any left-to-right tagger can do (exact inference with the generator's own probabilities). Then what
 * the sluice networks learned: each alpha matrix, the share of each column's mixing weight taken from the
 * other task's subspaces, and the layer-stitching betas.
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.SluiceTagging}
 * (about 2 minutes on 2 cores with {@code OMP_NUM_THREADS=1} set; several times longer with one OpenMP thread per
 * core when other processes compete for the cores).
 */
public final class SluiceTagging {

    private static final int HIDDEN = 32;

    /** A network's (or reference tagger's) token accuracy per task on the test sentences, and its training time. */
    public record Row(String model, double posAccuracy, double chunkAccuracy, double trainSeconds) {
    }

    /**
     * What a sluice network learned: one alpha matrix per trunk stage before and after training, and each
     * task's betas over its stages after training.
     */
    public record SluiceWeights(String model, List<double[][]> initialAlphas, List<double[][]> alphas,
                                List<double[]> betas) {
    }

    /** The reference taggers, the networks in the order trained, and the sluice networks' learned weights. */
    public record Result(List<Row> references, List<Row> models, List<SluiceWeights> sluice) {
    }

    private SluiceTagging() {
    }

    /**
     * Trains on 300 sentences (or {@code args[0]}) for 15 epochs (or {@code args[1]}), tests on 1000 sentences,
     * and prints the comparison.
     */
    public static void main(String[] args) {
        int sentences = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        run(sentences, 1000, epochs, 7, System.out, ExampleTraining.outputFolder("SluiceTagging"));
    }

    /** Makes the data, trains every network, prints the tables and returns what they measured. */
    public static Result run(int trainSentences, int testSentences, int epochs, long seed, PrintStream out,
                             Path historyRoot) {
        Random random = new Random(seed);
        List<Sentence> trainSet = TaggingData.sentences(trainSentences, random);
        List<Sentence> testSet = TaggingData.sentences(testSentences, random);
        MultiDataSetIterator train = TaggingData.batches(trainSet);
        MultiDataSetIterator test = TaggingData.batches(testSet);

        out.printf("mtl4j sluice tagging: %d training sentences, %d test sentences (%d to %d words, %.0f%% unknown),"
                        + " %d epochs, LSTM %d + %d%n", trainSentences, testSentences, TaggingData.MIN_LENGTH,
                TaggingData.MAX_LENGTH, 100 * TaggingData.UNKNOWN_RATE, epochs, HIDDEN, HIDDEN);
        out.printf("token accuracy on the test sentences%n");
        out.printf("%-40s %7s %7s %8s%n", "model", "pos", "chunk", "train s");
        List<Row> references = List.of(
                reference("most frequent tag", TaggingData.mostFrequentTag(trainSet, testSet)),
                reference("most frequent tag per token", TaggingData.mostFrequentTagOfToken(trainSet, testSet)),
                reference("best left-to-right (exact)", TaggingData.bestLeftToRight(testSet)));
        for (Row r : references) {
            out.printf("%-40s %7.4f %7.4f %8s%n", r.model(), r.posAccuracy(), r.chunkAccuracy(), "-");
        }

        Map<String, MultiTaskNetwork> networks = new LinkedHashMap<>();
        networks.put("hard, both at the top", network(new HardSharing(), false, seed));
        networks.put("hard, pos at stage 0", network(new HardSharing(), true, seed));
        networks.put("sluice, pos at stage 0", network(new Sluice(), true, seed));
        networks.put("sluice, both at the top", network(new Sluice(), false, seed));
        List<Row> models = new ArrayList<>();
        List<SluiceWeights> sluice = new ArrayList<>();
        for (Map.Entry<String, MultiTaskNetwork> e : networks.entrySet()) {
            MultiTaskNetwork net = e.getValue();
            List<double[][]> initialAlphas = net.sharing() instanceof Sluice ? alphas(net) : null;
            long start = System.nanoTime();
            ExampleTraining.train(net, train, null, epochs, historyRoot, e.getKey());
            double seconds = (System.nanoTime() - start) / 1e9;
            TaskEvaluations eval = net.evaluate(test);
            Row row = new Row(e.getKey(), eval.classification("pos").accuracy(),
                    eval.classification("chunk").accuracy(), seconds);
            models.add(row);
            out.printf("%-40s %7.4f %7.4f %8.1f%n", row.model(), row.posAccuracy(), row.chunkAccuracy(),
                    row.trainSeconds());
            if (net.sharing() instanceof Sluice) {
                sluice.add(new SluiceWeights(e.getKey(), initialAlphas, alphas(net), Sluice.betas(net)));
            }
        }
        sluice.forEach(w -> print(w, out));
        if (historyRoot != null) {
            out.println("Training history (CSV) and charts of each model (sluice alphas and betas per epoch): "
                    + historyRoot);
        }
        return new Result(references, models, sluice);
    }

    private static Row reference(String name, Accuracy accuracy) {
        return new Row("reference: " + name, accuracy.pos(), accuracy.chunk(), 0);
    }

    /** A two-stage LSTM trunk with "pos" (labels[0]) on the first stage or the top, and "chunk" (labels[1]) on top. */
    private static MultiTaskNetwork network(SharingStrategy sharing, boolean posLow, long seed) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.recurrent(TaggingData.INPUTS))
                .stage(new LSTM.Builder().nOut(HIDDEN).activation(Activation.TANH).build())
                .stage(new LSTM.Builder().nOut(HIDDEN).activation(Activation.TANH).build())
                .build();
        Task pos = Task.classification("pos", Pos.values().length);
        return MultiTaskNetwork.builder()
                .trunk(trunk)
                .task(posLow ? pos.withStage(0) : pos)
                .task(Task.classification("chunk", Chunk.values().length))
                .sharing(sharing)
                .updater(new Adam(1e-2))
                .seed(seed)
                .build();
    }

    // ---------------------------------------------------------------- sluice weights

    private static List<double[][]> alphas(MultiTaskNetwork net) {
        List<double[][]> alphas = new ArrayList<>();
        for (INDArray a : Sluice.alphas(net)) {
            alphas.add(a.toDoubleMatrix());
        }
        return alphas;
    }

    /**
     * Prints each stage's alpha (rows: the subspaces of the columns that reach the stage, pos's before chunk's)
     * with, per column, the share of its absolute mixing weight that comes from the other column's subspaces
     * (after and before training), then each task's betas over its stages.
     */
    private static void print(SluiceWeights w, PrintStream out) {
        out.printf("%n%s: learned sluice weights%n", w.model());
        for (int stage = 0; stage < w.alphas().size(); stage++) {
            double[][] a = w.alphas().get(stage);
            int columns = a.length / 2;
            out.printf("  alpha, stage %d (%s):%n", stage, columns == 2 ? "rows and columns pos k0, pos k1, chunk k0,"
                    + " chunk k1" : "the chunk column's subspaces k0, k1");
            for (double[] row : a) {
                StringBuilder sb = new StringBuilder("    ");
                for (double v : row) {
                    sb.append(String.format("%7.3f", v));
                }
                out.println(sb);
            }
            if (columns == 2) {
                double[][] initial = w.initialAlphas().get(stage);
                out.printf("    weight from the other task's subspaces: pos %.1f%%, chunk %.1f%% (before training %.1f%%,"
                                + " %.1f%%)%n", 100 * otherShare(a, 0), 100 * otherShare(a, 1),
                        100 * otherShare(initial, 0), 100 * otherShare(initial, 1));
            }
        }
        for (int t = 0; t < w.betas().size(); t++) {
            double[] b = w.betas().get(t);
            String name = t == 0 ? "pos" : "chunk";
            out.printf("  beta, %s: %s%n", name, b.length == 0 ? "none (one stage)" : format(b));
        }
    }

    /** The share of column {@code column}'s absolute alpha weight (rows 2c, 2c+1) on the other column's entries. */
    static double otherShare(double[][] alpha, int column) {
        double other = 0;
        double total = 0;
        for (int r = 2 * column; r < 2 * column + 2; r++) {
            for (int c = 0; c < alpha[r].length; c++) {
                double v = Math.abs(alpha[r][c]);
                total += v;
                other += c / 2 == column ? 0 : v;
            }
        }
        return other / total;
    }

    private static String format(double[] values) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format("stage %d %.3f", i, values[i]));
        }
        return sb.append(']').toString();
    }
}
