package org.mtl4j.examples;

import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

import java.util.NoSuchElementException;
import java.util.Random;

/**
 * The pairs (item i, item partner[i]) of one Fashion-MNIST split as minibatches of MultiFashion canvases, drawn
 * when asked for (the split's pixels stay bytes; a canvas costs about 2,000 operations), in pair order or, when
 * shuffled, in an order drawn for each epoch.
 *
 * <p>Shuffled, epoch e's order (e = the network's epoch count before the epoch, 0 for the first) is a
 * Fisher-Yates shuffle of 0..n-1 with {@code new Random(shuffleSeed + e)}, drawn at {@link #reset()}; the
 * epoch comes from {@link #onEpochStart}, so register the iterator as a listener of the trainer that uses it.
 * Every model trained with a fresh iterator of the same seed sees the same minibatches in the same order, and
 * a resumed run sees what an uninterrupted one saw.
 */
final class FashionPairs implements MultiDataSetIterator, TrainingListener {

    private final MultiFashion.Split split;
    private final int[] partner;
    private final int batch;
    private final Long shuffleSeed;
    private final int[] order;
    private int epoch;
    private int cursor;

    /**
     * Pairs over one split, reset to the first epoch's order.
     *
     * @param split       the split's images and labels
     * @param partner     partner[i] is the item drawn bottom-right (R) with item i top-left (L)
     * @param batch       the minibatch size (the last one may be smaller)
     * @param shuffleSeed null for pair order in every epoch, or the seed of the per-epoch orders
     */
    FashionPairs(MultiFashion.Split split, int[] partner, int batch, Long shuffleSeed) {
        if (partner.length != split.labels().length) {
            throw new IllegalArgumentException("partner has " + partner.length + " entries, but the split holds "
                    + split.labels().length + " items");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }
        this.split = split;
        this.partner = partner.clone();
        this.batch = batch;
        this.shuffleSeed = shuffleSeed;
        this.order = new int[partner.length];
        reset();
    }

    /** The pair indices in the order the current epoch visits them. */
    int[] order() {
        return order.clone();
    }

    @Override
    public void onEpochStart(MultiTaskNetwork network, int epochsCompleted) {
        epoch = epochsCompleted;
    }

    @Override
    public void reset() {
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (shuffleSeed != null) {
            Random r = new Random(shuffleSeed + epoch);
            for (int i = order.length - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        cursor = 0;
    }

    @Override
    public boolean hasNext() {
        return cursor < order.length;
    }

    @Override
    public MultiDataSet next() {
        return next(batch);
    }

    @Override
    public MultiDataSet next(int num) {
        if (!hasNext()) {
            throw new NoSuchElementException("all " + order.length + " pairs were given; reset() starts again");
        }
        int mb = Math.min(num, order.length - cursor);
        int pixels = MultiFashion.CANVAS * MultiFashion.CANVAS;
        int classes = MultiFashion.CLASSES;
        float[] x = new float[mb * pixels];
        float[] left = new float[mb * classes];
        float[] right = new float[mb * classes];
        int[] labels = split.labels();
        for (int i = 0; i < mb; i++) {
            int a = order[cursor + i];
            int b = partner[a];
            MultiFashion.drawPair(split.images().pixels(), a, b, x, i * pixels);
            left[i * classes + labels[a]] = 1;
            right[i * classes + labels[b]] = 1;
        }
        cursor += mb;
        INDArray features = Nd4j.create(x, new long[]{mb, 1, MultiFashion.CANVAS, MultiFashion.CANVAS}, DataType.FLOAT);
        return new MultiDataSet(new INDArray[]{features}, new INDArray[]{
                Nd4j.create(left, new long[]{mb, classes}, DataType.FLOAT),
                Nd4j.create(right, new long[]{mb, classes}, DataType.FLOAT)});
    }

    @Override
    public void setPreProcessor(MultiDataSetPreProcessor preProcessor) {
        throw new UnsupportedOperationException("FashionPairs takes no preprocessor");
    }

    @Override
    public MultiDataSetPreProcessor getPreProcessor() {
        return null;
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    @Override
    public boolean asyncSupported() {
        return false;
    }
}
