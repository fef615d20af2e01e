package org.mtl4j.core;

import org.mtl4j.core.io.NetworkState;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One {@link Trainer} run's state: what a checkpoint saves beside the network (as {@code trainer.json}). */
final class TrainerRun {

    final MultiTaskNetwork network;
    final int lastEpoch;
    final TrainingHistory history;
    final Map<String, Double> reference = new LinkedHashMap<>();
    double bestScore = Double.NaN;
    int bestEpoch;
    int sinceBest;
    boolean stopped;
    String divergence;
    Path bestFile;
    final Map<String, double[]> firstLoss = new LinkedHashMap<>();
    NetworkState lowest;
    double lowestLoss = Double.POSITIVE_INFINITY;

    TrainerRun(MultiTaskNetwork network, int lastEpoch) {
        this(network, lastEpoch, new TrainingHistory());
    }

    TrainerRun(MultiTaskNetwork network, int lastEpoch, TrainingHistory history) {
        this.network = network;
        this.lastEpoch = lastEpoch;
        this.history = history;
        this.bestEpoch = network.epochCount();
    }

    int bestEpoch() {
        return bestEpoch;
    }

    byte[] toJson() throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode n = mapper.createObjectNode();
        n.put("lastEpoch", lastEpoch);
        n.put("bestScore", Double.toString(bestScore));
        n.put("bestEpoch", bestEpoch);
        n.put("sinceBest", sinceBest);
        n.put("stopped", stopped);
        if (divergence != null) {
            n.put("divergence", divergence);
        }
        ObjectNode first = n.putObject("firstLoss");
        firstLoss.forEach((task, v) -> first.putArray(task).add(Double.toString(v[0])).add(Double.toString(v[1])));
        ObjectNode ref = n.putObject("reference");
        reference.forEach((task, v) -> ref.put(task, Double.toString(v)));
        n.put("history", history.toCsv());
        return mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(n);
    }

    static TrainerRun fromJson(MultiTaskNetwork network, byte[] json, File file) throws IOException {
        JsonNode n = new ObjectMapper().readTree(new String(json, StandardCharsets.UTF_8));
        for (String field : List.of("lastEpoch", "bestScore", "bestEpoch", "sinceBest", "stopped", "history")) {
            if (!n.has(field)) {
                throw new IOException(file + ": the trainer state has no \"" + field + "\"; the checkpoint is damaged");
            }
        }
        TrainerRun run = new TrainerRun(network, n.get("lastEpoch").asInt(), TrainingHistory.fromCsv(n.get("history").asText()));
        run.bestScore = Double.parseDouble(n.get("bestScore").asText());
        run.bestEpoch = n.get("bestEpoch").asInt();
        run.sinceBest = n.get("sinceBest").asInt();
        run.stopped = n.get("stopped").asBoolean();
        run.divergence = n.has("divergence") ? n.get("divergence").asText() : null;
        if (n.has("firstLoss")) {
            n.get("firstLoss").fields().forEachRemaining(e -> run.firstLoss.put(e.getKey(), new double[]{
                    Double.parseDouble(e.getValue().get(0).asText()), Double.parseDouble(e.getValue().get(1).asText())}));
        }
        n.get("reference").fields().forEachRemaining(e -> run.reference.put(e.getKey(),
                Double.parseDouble(e.getValue().asText())));
        return run;
    }
}
