package org.mtl4j.spark;

import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

import java.util.Iterator;
import java.util.List;

/** The minibatches of one partition as a one-pass {@link MultiDataSetIterator} (no reset, no preprocessor). */
final class Batches implements MultiDataSetIterator {

    private final Iterator<MultiDataSet> batches;

    Batches(List<MultiDataSet> batches) {
        this.batches = batches.iterator();
    }

    @Override
    public MultiDataSet next(int num) {
        throw new UnsupportedOperationException("a partition's minibatches are given as they are");
    }

    @Override
    public void setPreProcessor(MultiDataSetPreProcessor preProcessor) {
        throw new UnsupportedOperationException("a partition's minibatches are given as they are");
    }

    @Override
    public MultiDataSetPreProcessor getPreProcessor() {
        return null;
    }

    @Override
    public boolean resetSupported() {
        return false;
    }

    @Override
    public boolean asyncSupported() {
        return false;
    }

    @Override
    public void reset() {
        throw new UnsupportedOperationException("a partition's minibatches are read once");
    }

    @Override
    public boolean hasNext() {
        return batches.hasNext();
    }

    @Override
    public MultiDataSet next() {
        return batches.next();
    }
}
