package org.mtl4j.spark;

import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.io.ModelFile;
import org.mtl4j.core.io.NetworkState;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The networks of one executor JVM, rebuilt from the broadcast model file once and then reused across
 * rounds: a task borrows one, sets the round's {@link NetworkState} into it, and gives it back. Networks are
 * not thread-safe, so concurrent tasks of the executor each borrow their own. Only the networks of the
 * newest training run are kept.
 */
final class WorkerNetworks {

    private static final Map<String, Queue<MultiTaskNetwork>> POOLS = new ConcurrentHashMap<>();

    private WorkerNetworks() {
    }

    /** A network of run {@code runId}, built from {@code modelBytes} unless an idle one is pooled. */
    static MultiTaskNetwork borrow(String runId, byte[] modelBytes) {
        Queue<MultiTaskNetwork> pool = POOLS.get(runId);
        if (pool == null) {
            POOLS.keySet().removeIf(other -> !other.equals(runId));
            pool = POOLS.computeIfAbsent(runId, id -> new ConcurrentLinkedQueue<>());
        }
        MultiTaskNetwork idle = pool.poll();
        return idle != null ? idle : fromBytes(modelBytes);
    }

    /** Gives a network back for the next task of the same run. */
    static void giveBack(String runId, MultiTaskNetwork network) {
        Queue<MultiTaskNetwork> pool = POOLS.get(runId);
        if (pool != null) {
            pool.add(network);
        }
    }

    /** The network saved in {@code bytes} (a {@link ModelFile} archive). */
    static MultiTaskNetwork fromBytes(byte[] bytes) {
        try {
            File tmp = Files.createTempFile("mtl4j-spark", ".zip").toFile();
            try {
                Files.write(tmp.toPath(), bytes);
                return ModelFile.load(tmp);
            } finally {
                Files.deleteIfExists(tmp.toPath());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not rebuild the network from the broadcast model", e);
        }
    }

    /** The {@link ModelFile} archive of {@code network}, as bytes. */
    static byte[] toBytes(MultiTaskNetwork network) {
        try {
            File tmp = Files.createTempFile("mtl4j-spark", ".zip").toFile();
            try {
                ModelFile.save(network, tmp);
                return Files.readAllBytes(tmp.toPath());
            } finally {
                Files.deleteIfExists(tmp.toPath());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not serialise the network for broadcasting", e);
        }
    }
}
