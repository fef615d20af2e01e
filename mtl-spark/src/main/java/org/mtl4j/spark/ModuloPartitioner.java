package org.mtl4j.spark;

import org.apache.spark.Partitioner;

/** Sends the minibatch with index {@code i} to worker {@code i mod workers}: equal shares, differing by at most one. */
final class ModuloPartitioner extends Partitioner {

    private static final long serialVersionUID = 1L;

    private final int workers;

    ModuloPartitioner(int workers) {
        this.workers = workers;
    }

    @Override
    public int numPartitions() {
        return workers;
    }

    @Override
    public int getPartition(Object key) {
        return (int) Math.floorMod((Long) key, (long) workers);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModuloPartitioner p && p.workers == workers;
    }

    @Override
    public int hashCode() {
        return workers;
    }
}
