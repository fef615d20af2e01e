package org.mtl4j.examples;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.mtl4j.core.HardSharing;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharedTrunk;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.TaskEvaluations;
import org.mtl4j.sharing.CrossStitch;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * MultiFashion: the MultiMNIST construction of Sener and Koltun ("Multi-Task Learning as Multi-Objective
 * Optimization", NeurIPS 2018) applied to Fashion-MNIST, as in Lin et al. ("Pareto Multi-Task Learning",
 * NeurIPS 2019). Each input is a 36x36 canvas holding two Fashion-MNIST items that overlap; task "L" names
 * the class of the top-left item, task "R" that of the bottom-right one (10 classes each). Single-task
 * baselines for L and for R, hard sharing and cross-stitch train the same small CNN from the same seed on
 * the same minibatches, in the same order; the table gives each task's test accuracy and the training time.
 *
 * <p>Construction (reproducible from the seed):
 * <ul>
 *   <li>Pairs. A set of n pairs over the N items of one split (training pairs from the 60,000 training items,
 *       test pairs from the 10,000 test items) is drawn with one {@link Random}: {@code new Random(seed)} for
 *       the training pairs, {@code new Random(seed + 1)} for the test pairs. Pair i, in order, takes
 *       {@code a = r.nextInt(N)}, then {@code b = r.nextInt(N)}, b redrawn while {@code b == a}; items may
 *       recur across pairs. Item a goes top-left and gives L's label, item b bottom-right and gives R's.</li>
 *   <li>Canvas. Pixels are scaled from 0..255 to [0, 1] ({@code v / 255}). Item a covers rows and columns
 *       0..27, item b rows and columns 8..35 (its pixel (r, c) lands at (r + 8, c + 8)); where both cover a
 *       pixel (rows and columns 8..27) the canvas takes the larger value, elsewhere the one item's value, and
 *       0 in the two 8x8 corners that neither covers.</li>
 *   <li>Arrays. Features {@code [n, 1, 36, 36]} (NCHW, one channel), labels[0] = L and labels[1] = R one-hot
 *       {@code [n, 10]}; training minibatches of 64 in pair order, no shuffling.</li>
 * </ul>
 *
 * <p>Network (LeNet-like): trunk stages conv 5x5 (6 channels, ReLU) + max-pool 2x2, conv 5x5 (16 channels,
 * ReLU) + max-pool 2x2, dense 50 (ReLU); each task's head is its softmax projection. Adam (learning rate 1e-3).
 * Cross-stitch puts a unit after every stage (the paper's initialisation, 0.9 self and 0.1 other) and its
 * learned alphas are printed.
 *
 * <p>History: after every epoch each model is evaluated on 2,000 further test pairs (drawn with
 * {@code new Random(seed + 2)}), only for the history's curves (nothing is chosen on them); each model's
 * history and charts go to {@code target/mtl4j-examples/MultiFashion/<model>}.
 *
 * <p>Data: the four gzipped IDX files of Fashion-MNIST in the directory given as the first argument, by default
 * {@value #DEFAULT_DIR} (Debian and Ubuntu package {@code dataset-fashion-mnist}).
 *
 * <p>Run: {@code mvn -q -pl mtl-examples -am test-compile exec:java -Dexec.mainClass=org.mtl4j.examples.MultiFashion}
 * (arguments: {@code -Dexec.args="DIR TRAIN_PAIRS TEST_PAIRS EPOCHS"}).
 *
 * <p>Standard scale: {@code -Dexec.args="--standard [DIR [EPOCHS]]"} ({@link #runStandard}) pairs every item of
 * each split once (60,000 training and 10,000 test pairs), trains LibMTL's HPS encoder for 10 epochs with seven
 * models (single-task L and R, equal weights, uncertainty, MGDA-UB, PCGrad, cross-stitch) and prints each one's
 * training seconds per epoch and test accuracies.
 */
public final class MultiFashion {

    /** Where Debian's {@code dataset-fashion-mnist} package puts the files. */
    public static final String DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";

    /** The four files read, in the order training images, training labels, test images, test labels. */
    public static final List<String> FILES = List.of("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");

    static final int ITEM = 28;
    static final int CANVAS = 36;
    static final int OFFSET = CANVAS - ITEM;
    static final int CLASSES = 10;
    private static final int BATCH = 64;
    private static final int TEST_BATCH = 500;
    /** Pairs of test items, drawn with {@code seed + 2}, evaluated after every epoch for the history's curves. */
    private static final int VALIDATION_PAIRS = 2_000;

    /**
     * One model's result: test accuracy per task (NaN for a task it does not learn), size and training time.
     *
     * @param model           the model's name, as printed
     * @param accuracyL       the test accuracy of task L, NaN when the model does not learn L
     * @param accuracyR       the test accuracy of task R, NaN when the model does not learn R
     * @param parameters      the number of trained parameters
     * @param trainSeconds    the wall-clock seconds of all epochs (with the per-epoch curve evaluation in the small
     *                        run, without any evaluation in the standard run)
     * @param secondsPerEpoch {@code trainSeconds} per epoch
     */
    public record Row(String model, double accuracyL, double accuracyR, long parameters, double trainSeconds,
                      double secondsPerEpoch) {
    }

    private MultiFashion() {
    }

    /**
     * Trains on 4,000 training pairs (or {@code args[1]}) for 3 epochs (or {@code args[3]}), tests on 10,000
     * test pairs (or {@code args[2]}), seed 1, reading the data from {@code args[0]} (default {@value #DEFAULT_DIR}).
     * With {@code --standard} first, runs the standard scale instead ({@link #runStandard}; arguments
     * {@code --standard [DIR [EPOCHS]]}, 10 epochs by default). When files are missing, prints which and how to
     * get them, and exits with status 2.
     *
     * @param args {@code [DIR [TRAIN_PAIRS [TEST_PAIRS [EPOCHS]]]]} or {@code --standard [DIR [EPOCHS]]}
     * @throws IOException when a file cannot be read or is not a valid IDX file
     */
    public static void main(String[] args) throws IOException {
        if (args.length > 0 && args[0].equals("--standard")) {
            Path dir = Path.of(args.length > 1 ? args[1] : DEFAULT_DIR);
            int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 10;
            List<String> missing = missingFiles(dir);
            if (!missing.isEmpty()) {
                System.err.println(missingFilesMessage(dir, missing));
                System.exit(2);
            }
            runStandard(dir, epochs, 1, System.out, ExampleTraining.outputFolder("MultiFashion-standard"));
            return;
        }
        Path dir = Path.of(args.length > 0 ? args[0] : DEFAULT_DIR);
        int trainPairs = args.length > 1 ? Integer.parseInt(args[1]) : 4_000;
        int testPairs = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        int epochs = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        List<String> missing = missingFiles(dir);
        if (!missing.isEmpty()) {
            System.err.println(missingFilesMessage(dir, missing));
            System.exit(2);
        }
        run(dir, trainPairs, testPairs, epochs, 1, System.out, ExampleTraining.outputFolder("MultiFashion"));
    }

    /**
     * Reads the data from {@code dir}, builds the pairs, trains the four models, prints the table and the
     * cross-stitch alphas, and returns the rows in the order printed.
     *
     * @throws IllegalArgumentException when files are missing (the message names them and says how to get them)
     *                                  or the sizes are not positive
     * @param historyRoot null, or the folder where each model's training history and charts are written
     * @throws IOException              when a file cannot be read or is not a valid IDX file
     */
    public static List<Row> run(Path dir, int trainPairs, int testPairs, int epochs, long seed, PrintStream out,
                                Path historyRoot) throws IOException {
        if (trainPairs < 1 || testPairs < 1 || epochs < 1) {
            throw new IllegalArgumentException("training pairs, test pairs and epochs must be at least 1, got "
                    + trainPairs + ", " + testPairs + " and " + epochs);
        }
        List<String> missing = missingFiles(dir);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(missingFilesMessage(dir, missing));
        }
        MultiDataSetIterator train = split(dir, FILES.get(0), FILES.get(1), trainPairs, BATCH, new Random(seed));
        MultiDataSetIterator test = split(dir, FILES.get(2), FILES.get(3), testPairs, TEST_BATCH, new Random(seed + 1));
        MultiDataSetIterator curves = split(dir, FILES.get(2), FILES.get(3), Math.min(VALIDATION_PAIRS, testPairs),
                TEST_BATCH, new Random(seed + 2));

        out.printf("MultiFashion: two Fashion-MNIST items on a 36x36 canvas; L = top-left item, R = bottom-right item%n");
        out.printf("%s: %d training pairs, %d test pairs, %d epoch%s, minibatch %d, Adam 1e-3, seed %d%n", dir,
                trainPairs, testPairs, epochs, epochs == 1 ? "" : "s", BATCH, seed);
        out.printf("%-14s %11s %11s %11s %11s%n", "model", "test acc L", "test acc R", "parameters", "train time");
        List<Row> rows = new ArrayList<>();
        Data data = new Data(train, curves, test, epochs, historyRoot);
        rows.add(fitAndTest("single-task L", network(new HardSharing(), seed, task("L", 0)), data, out));
        rows.add(fitAndTest("single-task R", network(new HardSharing(), seed, task("R", 1)), data, out));
        rows.add(fitAndTest("hard sharing", network(new HardSharing(), seed, task("L", 0), task("R", 1)), data, out));
        MultiTaskNetwork stitched = network(new CrossStitch(), seed, task("L", 0), task("R", 1));
        rows.add(fitAndTest("cross-stitch", stitched, data, out));

        out.printf("learned cross-stitch alphas, row i = the weights of columns (L, R) in column i's output:%n");
        String[] stages = {"conv 1 + pool", "conv 2 + pool", "dense"};
        List<INDArray> alphas = CrossStitch.alphas(stitched);
        for (int s = 0; s < alphas.size(); s++) {
            INDArray a = alphas.get(s);
            out.printf("  after %-14s L: [%.3f %.3f]   R: [%.3f %.3f]%n", stages[s] + ":", a.getDouble(0, 0),
                    a.getDouble(0, 1), a.getDouble(1, 0), a.getDouble(1, 1));
        }
        if (historyRoot != null) {
            out.printf("Training history (CSV) and charts of each model (per-epoch accuracy on %d other test pairs): %s%n",
                    Math.min(VALIDATION_PAIRS, testPairs), historyRoot);
        }
        return rows;
    }

    /**
     * MultiFashion at the standard scale (Sener and Koltun's construction over every item of both splits,
     * LibMTL's HPS encoder, Adam 1e-3, minibatch 256): trains single-task L, single-task R, equal weights,
     * uncertainty, MGDA-UB, PCGrad and cross-stitch, prints each one's training seconds per epoch, test
     * accuracies and parameter count, and returns the rows in the order printed. {@link StandardMultiFashion}
     * documents the pairing (a seeded derangement per split), the per-epoch shuffle and the encoder.
     *
     * @param dir         the directory of the four gzipped IDX files
     * @param epochs      the number of epochs (the benchmark's is 10)
     * @param seed        the seed of the pairs, the shuffles and every network's initialisation
     * @param out         where the table is printed
     * @param historyRoot null, or the folder where each model's training history and charts are written
     * @return one row per model, in the order printed
     * @throws IllegalArgumentException when files are missing or {@code epochs} is not positive
     * @throws IOException              when a file cannot be read or is not a valid IDX file
     */
    public static List<Row> runStandard(Path dir, int epochs, long seed, PrintStream out, Path historyRoot)
            throws IOException {
        return StandardMultiFashion.run(dir, epochs, seed, out, historyRoot);
    }

    /** The names of the data files absent from {@code dir} (all four when it does not exist), in {@link #FILES} order. */
    static List<String> missingFiles(Path dir) {
        return FILES.stream().filter(f -> !Files.isRegularFile(dir.resolve(f))).toList();
    }

    /** Says which files {@code dir} lacks and how to get them. */
    static String missingFilesMessage(Path dir, List<String> missing) {
        String what = Files.isDirectory(dir) ? dir + " lacks " + String.join(", ", missing)
                : "the directory " + dir + " does not exist (it should hold " + String.join(", ", missing) + ")";
        return "Fashion-MNIST not found: " + what + ".\n"
                + "Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; it puts the files in "
                + DEFAULT_DIR + "),\n"
                + "or download the four files " + String.join(", ", FILES) + "\n"
                + "from the Fashion-MNIST repository, https://github.com/zalandoresearch/fashion-mnist (folder"
                + " data/fashion),\n"
                + "and pass the directory holding them as the first argument.";
    }

    /** The data every model sees, and where its history goes. */
    private record Data(MultiDataSetIterator train, MultiDataSetIterator curves, MultiDataSetIterator test, int epochs,
                        Path historyRoot) {
    }

    private static Row fitAndTest(String model, MultiTaskNetwork net, Data data, PrintStream out) {
        double seconds = train(net, data, model);
        TaskEvaluations eval = net.evaluate(data.test());
        List<String> names = eval.taskNames();
        Row row = new Row(model, names.contains("L") ? eval.classification("L").accuracy() : Double.NaN,
                names.contains("R") ? eval.classification("R").accuracy() : Double.NaN, net.params().length(), seconds,
                seconds / data.epochs());
        out.printf("%-14s %11s %11s %,11d %9.1f s%n", row.model(), accuracy(row.accuracyL()),
                accuracy(row.accuracyR()), row.parameters(), row.trainSeconds());
        return row;
    }

    /**
     * Trains {@code net} over the training pairs, evaluating the curve pairs after every epoch and writing the
     * history, and returns the seconds it took (the per-epoch evaluations included).
     */
    private static double train(MultiTaskNetwork net, Data data, String model) {
        long start = System.nanoTime();
        ExampleTraining.train(net, data.train(), data.curves(), data.epochs(), data.historyRoot(), model);
        return (System.nanoTime() - start) / 1e9;
    }

    static String accuracy(double a) {
        return Double.isNaN(a) ? "-" : String.format("%.4f", a);
    }

    private static Task task(String name, int labelsIndex) {
        return Task.classification(name, CLASSES).withLabelsIndex(labelsIndex);
    }

    private static MultiTaskNetwork network(SharingStrategy sharing, long seed, Task... tasks) {
        SharedTrunk trunk = SharedTrunk.builder(InputType.convolutional(CANVAS, CANVAS, 1))
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(6).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                                .build())
                .stage(new ConvolutionLayer.Builder(5, 5).nOut(16).activation(Activation.RELU).build(),
                        new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                                .build())
                .layer(new DenseLayer.Builder().nOut(50).activation(Activation.RELU).build())
                .build();
        return MultiTaskNetwork.builder().trunk(trunk).tasks(tasks).sharing(sharing).updater(new Adam(1e-3))
                .seed(seed).build();
    }

    /** One split of Fashion-MNIST: its 28x28 images and their labels 0..9, as many of each. */
    record Split(IdxFiles.Images images, int[] labels) {
    }

    /**
     * Reads one split's images and labels, checking that the images are 28x28, that there are as many labels
     * as images and at least 2 of each, and that every label is a class 0..9.
     */
    static Split readSplit(Path dir, String imagesFile, String labelsFile) throws IOException {
        IdxFiles.Images images = IdxFiles.readImages(dir.resolve(imagesFile));
        int[] labels = IdxFiles.readLabels(dir.resolve(labelsFile));
        if (images.rows() != ITEM || images.columns() != ITEM) {
            throw new IOException(dir.resolve(imagesFile) + " holds " + images.rows() + "x" + images.columns()
                    + " images, but MultiFashion needs Fashion-MNIST's " + ITEM + "x" + ITEM);
        }
        if (labels.length != images.count()) {
            throw new IOException(dir.resolve(labelsFile) + " holds " + labels.length + " labels, but "
                    + dir.resolve(imagesFile) + " holds " + images.count() + " images");
        }
        if (images.count() < 2) {
            throw new IOException(dir.resolve(imagesFile) + " holds " + images.count()
                    + " image(s); pairs need at least 2");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] >= CLASSES) {
                throw new IOException(dir.resolve(labelsFile) + ": label " + i + " is " + labels[i] + ", not a class 0.."
                        + (CLASSES - 1));
            }
        }
        return new Split(images, labels);
    }

    /** Reads one split's images and labels and returns {@code n} pairs drawn with {@code random}, in minibatches. */
    private static MultiDataSetIterator split(Path dir, String imagesFile, String labelsFile, int n, int batch,
                                              Random random) throws IOException {
        Split split = readSplit(dir, imagesFile, labelsFile);
        IdxFiles.Images images = split.images();
        int[] labels = split.labels();
        int[][] pairs = pairs(n, images.count(), random);
        List<MultiDataSet> batches = new ArrayList<>();
        int pixels = CANVAS * CANVAS;
        for (int start = 0; start < n; start += batch) {
            int mb = Math.min(batch, n - start);
            float[] x = new float[mb * pixels];
            float[] left = new float[mb * CLASSES];
            float[] right = new float[mb * CLASSES];
            for (int i = 0; i < mb; i++) {
                int[] p = pairs[start + i];
                drawPair(images.pixels(), p[0], p[1], x, i * pixels);
                left[i * CLASSES + labels[p[0]]] = 1;
                right[i * CLASSES + labels[p[1]]] = 1;
            }
            batches.add(new MultiDataSet(new INDArray[]{Nd4j.create(x, new long[]{mb, 1, CANVAS, CANVAS}, DataType.FLOAT)},
                    new INDArray[]{Nd4j.create(left, new long[]{mb, CLASSES}, DataType.FLOAT),
                            Nd4j.create(right, new long[]{mb, CLASSES}, DataType.FLOAT)}));
        }
        return new TestMultiDataSetIterator(1, batches.toArray(new MultiDataSet[0]));
    }

    /** {@code n} pairs {a, b} of distinct item indices below {@code items}, drawn as the class Javadoc says. */
    static int[][] pairs(int n, int items, Random random) {
        int[][] pairs = new int[n][];
        for (int i = 0; i < n; i++) {
            int a = random.nextInt(items);
            int b = random.nextInt(items);
            while (b == a) {
                b = random.nextInt(items);
            }
            pairs[i] = new int[]{a, b};
        }
        return pairs;
    }

    /**
     * Draws items {@code a} (top-left) and {@code b} (bottom-right) of {@code pixels} (28x28 unsigned bytes per
     * item, item after item) onto the 36x36 canvas at {@code canvas[offset..offset + 1296)}, row-major: values
     * scaled to [0, 1], the larger where the items overlap, 0 where neither covers.
     */
    static void drawPair(byte[] pixels, int a, int b, float[] canvas, int offset) {
        int itemPixels = ITEM * ITEM;
        Arrays.fill(canvas, offset, offset + CANVAS * CANVAS, 0f);
        for (int r = 0; r < ITEM; r++) {
            for (int c = 0; c < ITEM; c++) {
                canvas[offset + r * CANVAS + c] = (pixels[a * itemPixels + r * ITEM + c] & 0xFF) / 255f;
            }
        }
        for (int r = 0; r < ITEM; r++) {
            for (int c = 0; c < ITEM; c++) {
                int at = offset + (r + OFFSET) * CANVAS + c + OFFSET;
                canvas[at] = Math.max(canvas[at], (pixels[b * itemPixels + r * ITEM + c] & 0xFF) / 255f);
            }
        }
    }

    /** The 36x36 canvas (row-major, [0, 1]) of one 28x28 top-left and one 28x28 bottom-right item. */
    static float[] canvas(byte[] topLeft, byte[] bottomRight) {
        if (topLeft.length != ITEM * ITEM || bottomRight.length != ITEM * ITEM) {
            throw new IllegalArgumentException("items must be 28x28 = 784 bytes, got " + topLeft.length + " and "
                    + bottomRight.length);
        }
        byte[] both = new byte[2 * ITEM * ITEM];
        System.arraycopy(topLeft, 0, both, 0, ITEM * ITEM);
        System.arraycopy(bottomRight, 0, both, ITEM * ITEM, ITEM * ITEM);
        float[] canvas = new float[CANVAS * CANVAS];
        drawPair(both, 0, 1, canvas, 0);
        return canvas;
    }
}
