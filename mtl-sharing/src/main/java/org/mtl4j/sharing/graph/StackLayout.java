package org.mtl4j.sharing.graph;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * How one column's stage output {@code x} of shape {@code [B, F, ...]} maps to {@code K} columns of an
 * 'f'-ordered stacked matrix {@code [M, R]} ({@code M = x.length() / K}): column {@code k} holds subspace
 * {@code k} (features {@code [k F/K, (k+1) F/K)} along dimension 1) of every example, time step and pixel,
 * so that mixing all subspaces of all stage outputs is one matrix product. The element order inside a column
 * is any fixed order, the same for every stage output; a linear mix does not depend on it.
 *
 * <p>When the subspaces are contiguous blocks of {@code x}'s buffer (always for K = 1 on a dense array; for
 * K > 1 when dimension 1 varies slowest, as in an 'f'-ordered matrix) a block of K columns is read as a
 * stage output in {@code x}'s own order: stacking is one plain copy per stage output and a mixed output is a
 * view of the product. Otherwise the block is {@code [K, B, rest]} and written and read with a permuted copy.
 *
 * <p>Views are made once per stacked matrix ({@link Block}).
 */
final class StackLayout {

    private final long[] shape;
    private final char order;
    private final int k;
    private final long m;
    private final long rest;
    private final boolean blocks;
    private final DataType dataType;
    private INDArray scratch;
    private INDArray scratchPermuted;

    private StackLayout(long[] shape, char order, int k, boolean blocks, DataType dataType) {
        this.shape = shape;
        this.order = order;
        this.k = k;
        this.m = Arrays.stream(shape).reduce(1, (a, b) -> a * b) / k;
        this.rest = m / shape[0];
        this.blocks = blocks;
        this.dataType = dataType;
    }

    /** The layout for stage outputs shaped, ordered and typed like {@code x}, split into {@code k} subspaces. */
    static StackLayout of(INDArray x, int k) {
        if (x.rank() < 2) {
            throw new IllegalStateException("a mixing unit needs activations of rank >= 2, got shape "
                    + Arrays.toString(x.shape()));
        }
        if (x.size(1) % k != 0) {
            throw new IllegalStateException(x.size(1) + " features cannot be split into " + k + " equal subspaces");
        }
        boolean dense = Shape.hasDefaultStridesForShape(x) && x.length() > 0;
        char order = dense ? x.ordering() : 'c';
        boolean blocks = dense && (k == 1 || (order == 'f' && x.rank() == 2));
        return new StackLayout(x.shape(), order, k, blocks, x.dataType());
    }

    /** Whether {@code other} describes the same stage outputs (shape, type, order and subspace blocks). */
    boolean sameAs(StackLayout other) {
        return Arrays.equals(shape, other.shape) && dataType == other.dataType && order == other.order
                && k == other.k && blocks == other.blocks;
    }

    /** K, the subspaces per stage output (stacked columns per stage output). */
    int subspaces() {
        return k;
    }

    /** The stage outputs' shape. */
    long[] shape() {
        return shape.clone();
    }

    /** Whether a {@link Block#read} is a view of the stacked matrix (else a copy into its staging array). */
    boolean viewsBlocks() {
        return blocks;
    }

    /**
     * A new 'f'-ordered stacked matrix of {@code columns} columns: in the activation workspace of
     * {@code workspaces}, or, when it is null, wherever the caller's scope puts it.
     */
    INDArray stacked(long columns, LayerWorkspaceMgr workspaces) {
        long[] s = {m, columns};
        return workspaces == null ? Nd4j.create(dataType, s, 'f')
                : workspaces.createUninitialized(ArrayType.ACTIVATIONS, dataType, s, 'f');
    }

    /** A 'c'-ordered stage-output shaped array as {@code [K, B, rest]}: subspace first (a view). */
    private INDArray permuted(INDArray x) {
        return x.reshape('c', shape[0], k, rest).permute(1, 0, 2);
    }

    /** The block of K columns from column {@code first} of {@code stacked}. */
    Block block(INDArray stacked, long first) {
        return new Block(stacked, first);
    }

    /** Column {@code c} of {@code stacked} as an {@code [M, 1]} view. */
    INDArray column(INDArray stacked, long c) {
        long[] s = {m, 1};
        return Nd4j.create(stacked.data(), s, Nd4j.getStrides(s, 'f'), stacked.offset() + c * m, 'f');
    }

    /**
     * K columns of a stacked matrix, with the views to write a stage output (or error) into them and to read
     * them as one, made once. When the subspaces are not blocks of the stage output's buffer, the copies go
     * through stage-output shaped arrays (outside workspaces) and their permuted views: ND4J makes a view at
     * about the cost of three plain copies of 128 KB, and a permuted copy between prepared views costs about
     * four. Writes share one scratch array per layout; each block that is read has its own array, which holds
     * the last read.
     */
    final class Block {

        private final INDArray target;
        private INDArray staging;
        private INDArray stagingPermuted;

        private Block(INDArray stacked, long first) {
            long offset = stacked.offset() + first * m;
            if (blocks) {
                target = Nd4j.create(stacked.data(), shape, Nd4j.getStrides(shape, order), offset, order);
            } else {
                long[] s = {k, shape[0], rest};
                target = Nd4j.create(stacked.data(), s, Nd4j.getStrides(s, 'c'), offset, 'c');
            }
        }

        /** Writes the stage output (or error) {@code x} into the block. */
        void write(INDArray x) {
            if (blocks) {
                target.assign(x);
            } else {
                if (scratch == null) {
                    try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                        scratch = Nd4j.create(dataType, shape, 'c');
                        scratchPermuted = permuted(scratch);
                    }
                }
                scratch.assign(x);
                target.assign(scratchPermuted);
            }
        }

        /**
         * The block as a stage output: a view of the stacked matrix, or the staging array; either is overwritten
         * by the next {@link #write} or {@link #read}.
         */
        INDArray read() {
            if (blocks) {
                return target;
            }
            if (staging == null) {
                try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                    staging = Nd4j.create(dataType, shape, 'c');
                    stagingPermuted = permuted(staging);
                }
            }
            stagingPermuted.assign(target);
            return staging;
        }

        /** Copies the block into {@code out}, a new 'c'-ordered array of the stage outputs' shape. */
        INDArray readInto(INDArray out) {
            if (blocks) {
                out.assign(target);
            } else {
                permuted(out).assign(target);
            }
            return out;
        }

        /** Sets the block to zero. */
        void clear() {
            target.assign(0);
        }
    }
}
