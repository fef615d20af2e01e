package org.mtl4j.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where and how often a {@link Trainer} saves checkpoints: every {@code every} epochs (and after the last
 * epoch), one file {@code checkpoint-<epoch>.mtl} per checkpoint in a folder, keeping the newest
 * {@code keepLast}. A checkpoint is a saved model ({@link MultiTaskNetwork#save}) that also holds the
 * trainer's state (the run's last epoch, the history so far, early stopping's best), so that
 * {@link Trainer#resume} after a crash continues exactly where the checkpoint left off. Early stopping's best
 * network is kept beside them as {@code best.mtl}. Immutable; defaults: every epoch, keep the last 3.
 */
public final class Checkpoints {

    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)\\.mtl");

    private final Path directory;
    private final int every;
    private final int keepLast;

    private Checkpoints(Path directory, int every, int keepLast) {
        if (every < 1) {
            throw new IllegalArgumentException("checkpoints every " + every + " epochs: must be >= 1");
        }
        if (keepLast < 1) {
            throw new IllegalArgumentException("keeping the last " + keepLast + " checkpoints: must be >= 1");
        }
        this.directory = directory;
        this.every = every;
        this.keepLast = keepLast;
    }

    /**
     * Checkpoints in {@code directory} (created when needed), every epoch, keeping the last 3.
     *
     * @param directory the folder of the checkpoint files; one run's checkpoints per folder
     * @return the checkpoint settings with the defaults
     */
    public static Checkpoints in(Path directory) {
        return new Checkpoints(Objects.requireNonNull(directory, "directory"), 1, 3);
    }

    /**
     * A copy that saves every {@code epochs} epochs.
     *
     * @param epochs the interval in epochs, at least 1 (the last epoch of a run is always saved)
     * @return a copy with this interval
     * @throws IllegalArgumentException if {@code epochs < 1}
     */
    public Checkpoints every(int epochs) {
        return new Checkpoints(directory, epochs, keepLast);
    }

    /**
     * A copy that keeps the newest {@code count} checkpoints and deletes older ones.
     *
     * @param count how many checkpoints to keep, at least 1
     * @return a copy that keeps {@code count}
     * @throws IllegalArgumentException if {@code count < 1}
     */
    public Checkpoints keepLast(int count) {
        return new Checkpoints(directory, every, count);
    }

    /** {@return the folder} */
    public Path directory() {
        return directory;
    }

    /** {@return the interval in epochs} */
    public int interval() {
        return every;
    }

    /** {@return how many checkpoints are kept} */
    public int kept() {
        return keepLast;
    }

    /**
     * The file of the checkpoint after {@code epoch} completed epochs.
     *
     * @param epoch the number of completed epochs
     * @return {@code checkpoint-<epoch>.mtl} in the folder, the epoch padded to six digits
     */
    public Path file(int epoch) {
        return directory.resolve(String.format("checkpoint-%06d.mtl", epoch));
    }

    /** {@return the file holding early stopping's best network, {@code best.mtl} in the folder} */
    public Path bestFile() {
        return directory.resolve("best.mtl");
    }

    /**
     * The checkpoint files in the folder, oldest first (none when the folder does not exist).
     *
     * @return the checkpoint files, by epoch
     * @throws UncheckedIOException when the folder cannot be listed
     */
    public List<Path> list() {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingInt(Checkpoints::epochOf)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the checkpoints in " + directory, e);
        }
    }

    /** {@return the newest checkpoint file, if any} */
    public Optional<Path> latest() {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** {@return the epoch count of the newest checkpoint, if any} */
    public OptionalInt latestEpoch() {
        return latest().map(p -> OptionalInt.of(epochOf(p))).orElse(OptionalInt.empty());
    }

    /** Whether a checkpoint is due after {@code epoch} completed epochs of a run that ends at {@code lastEpoch}. */
    boolean due(int epoch, int lastEpoch) {
        return epoch % every == 0 || epoch == lastEpoch;
    }

    /** Deletes all but the newest {@link #kept()} checkpoints. */
    void prune() throws IOException {
        List<Path> all = list();
        for (int i = 0; i < all.size() - keepLast; i++) {
            Files.deleteIfExists(all.get(i));
        }
    }

    private static int epochOf(Path file) {
        Matcher m = NAME.matcher(file.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(file + " is not a checkpoint file");
        }
        return Integer.parseInt(m.group(1));
    }

    @Override
    public String toString() {
        return "checkpoints in " + directory + " every " + every + " epoch(s), keeping the last " + keepLast;
    }
}
