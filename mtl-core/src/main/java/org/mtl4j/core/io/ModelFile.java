package org.mtl4j.core.io;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.mtl4j.core.Head;
import org.mtl4j.core.LossCombinator;
import org.mtl4j.core.MultiTaskNetwork;
import org.mtl4j.core.SharingStrategy;
import org.mtl4j.core.Task;
import org.mtl4j.core.graph.MultiTaskGraph;
import org.mtl4j.core.TaskKind;
import org.mtl4j.core.TaskRole;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * The saved form of a {@link MultiTaskNetwork}: a zip archive holding
 * <ul>
 *   <li>{@code mtl4j.json}: format version, input type, the network's updater configuration, tasks (name, kind, role, labels index, output
 *       activation and loss, head layers), graph output and representation vertex names, sharing strategy
 *       and loss combinator
 *       (class, configuration, state);</li>
 *   <li>{@code graph.json}: the DL4J graph configuration, with iteration and epoch counts;</li>
 *   <li>{@code params.bin} and {@code updater.bin}: the flat parameter and updater-state vectors;</li>
 *   <li>{@code digests.sha256} (from format version 2): one line {@code <SHA-256 in hex>  <entry name>} for every
 *       other entry, extras included, then a last line with the SHA-256 of the lines above it and its own name.</li>
 * </ul>
 * Loading a version-2 file first checks every entry against its digest and refuses the file, naming the entry,
 * when one differs, is missing or is not listed; a zip archive keeps CRC-32s that {@link ZipFile} does not check,
 * so without the digests a changed byte would load as other parameters. Files of format version 1 have no
 * digests and load unchecked, as before. Saving writes a temporary file beside the target and moves it into
 * place, so a crash never leaves a half-written model under the target name.
 */
public final class ModelFile {

    /** The format version this code writes and the newest it reads. */
    public static final int FORMAT_VERSION = 2;

    private static final String FORMAT = "mtl4j-model";
    private static final String META = "mtl4j.json";
    private static final String GRAPH = "graph.json";
    private static final String PARAMS = "params.bin";
    private static final String UPDATER = "updater.bin";
    private static final String DIGESTS = EntryDigests.NAME;
    private static final List<String> MODEL_ENTRIES = List.of(META, GRAPH, PARAMS, UPDATER, DIGESTS);

    private ModelFile() {
    }

    /**
     * Saves {@code network} to {@code file}, replacing it.
     *
     * @param network the network to save, with its updater and combinator state and its counts
     * @param file    the model file to write
     * @throws IOException when the file cannot be written
     */
    public static void save(MultiTaskNetwork network, File file) throws IOException {
        save(network, file, Map.of());
    }

    /**
     * Saves {@code network} to {@code file} with extra entries stored beside the model in the same archive
     * (a trainer's state in a checkpoint), replacing the file in one move.
     *
     * @param network the network to save, with its updater and combinator state and its counts
     * @param file    the model file to write
     * @param extras  entry name to content; names must not be those of the model's own entries
     * @throws IOException              when the file cannot be written
     * @throws IllegalArgumentException when an extra entry's name is one of the model's own entries or holds a line
     *                                  break
     */
    public static void save(MultiTaskNetwork network, File file, Map<String, byte[]> extras) throws IOException {
        for (String name : extras.keySet()) {
            if (MODEL_ENTRIES.contains(name)) {
                throw new IllegalArgumentException("extra entry \"" + name + "\" would replace the model's own; the model uses "
                        + MODEL_ENTRIES);
            }
            if (name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("extra entry name \"" + name + "\" holds a line break");
            }
        }
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        ObjectNode meta = mapper.createObjectNode();
        meta.put("format", FORMAT);
        meta.put("version", FORMAT_VERSION);
        meta.set("inputType", mapper.valueToTree(network.inputType()));
        meta.set("updater", mapper.valueToTree(network.updater()));
        ArrayNode tasks = meta.putArray("tasks");
        for (Task task : network.tasks()) {
            tasks.add(taskToJson(mapper, task));
        }
        ArrayNode outputs = meta.putArray("outputs");
        network.outputNames().forEach(outputs::add);
        ArrayNode representations = meta.putArray("representations");
        network.representationNames().forEach(representations::add);
        ArrayNode sequence = meta.putArray("sequence");
        for (boolean s : network.sequenceOutputs()) {
            sequence.add(s);
        }
        meta.set("sharing", component(mapper, network.sharing()));
        ObjectNode losses = component(mapper, network.losses());
        ArrayNode state = losses.putArray("state");
        for (double v : network.losses().state()) {
            state.add(v);
        }
        meta.set("losses", losses);

        ComputationGraph graph = network.graph();
        Path target = file.toPath().toAbsolutePath();
        Path dir = target.getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = Files.createTempFile(dir, target.getFileName().toString(), ".tmp");
        try {
            try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
                EntryDigests digests = new EntryDigests();
                writeEntry(zip, META, mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta), digests);
                writeEntry(zip, GRAPH, graph.getConfiguration().toJson().getBytes(StandardCharsets.UTF_8), digests);
                writeArray(zip, PARAMS, graph.params(), digests);
                INDArray updaterState = graph.getUpdater(true).getStateViewArray();
                if (updaterState != null) {
                    writeArray(zip, UPDATER, updaterState, digests);
                }
                for (Map.Entry<String, byte[]> extra : extras.entrySet()) {
                    writeEntry(zip, extra.getKey(), extra.getValue(), digests);
                }
                zip.putNextEntry(new ZipEntry(DIGESTS));
                zip.write(digests.manifest());
                zip.closeEntry();
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads an extra entry saved with {@link #save(MultiTaskNetwork, File, Map)}.
     *
     * @param file a model file written with extra entries
     * @param name the extra entry's name
     * @return the entry's content
     * @throws IOException when the file cannot be read, has no such entry, or (format version 2) an entry does not
     *                     match its digest
     */
    public static byte[] readExtra(File file, String name) throws IOException {
        if (!file.isFile()) {
            throw new IOException("no model file at " + file);
        }
        try (ZipFile zip = openZip(file)) {
            EntryDigests.verify(zip, file);
            return readEntry(zip, name, file);
        }
    }

    /**
     * Loads a network saved by {@link #save(MultiTaskNetwork, File)}.
     *
     * @param file a model file of format version 1 up to this mtl4j's version
     * @return the network, with its updater and combinator state and its counts restored
     * @throws IOException when the file is missing or unreadable, is not an mtl4j model, was written by a newer
     *                     mtl4j, or (format version 2) lacks its digests or has an entry that does not match its digest
     */
    public static MultiTaskNetwork load(File file) throws IOException {
        if (!file.isFile()) {
            throw new IOException("no model file at " + file);
        }
        try (ZipFile zip = openZip(file)) {
            boolean verified = EntryDigests.verify(zip, file);
            ZipEntry metaEntry = zip.getEntry(META);
            if (metaEntry == null) {
                throw new IOException(file + " is a zip archive but not an mtl4j model: it has no " + META
                        + " entry (a plain DL4J model is loaded with DL4J's ModelSerializer)");
            }
            ObjectMapper mapper = NeuralNetConfiguration.mapper();
            JsonNode meta;
            try (InputStream in = zip.getInputStream(metaEntry)) {
                meta = mapper.readTree(in);
            }
            if (!FORMAT.equals(text(meta, "format", file))) {
                throw new IOException(file + ": " + META + " does not describe an mtl4j model");
            }
            int version = required(meta, "version", file).asInt();
            if (version > FORMAT_VERSION || version < 1) {
                throw new IOException(file + " has model format version " + version + ", but this mtl4j reads versions 1 to "
                        + FORMAT_VERSION + (version > FORMAT_VERSION ? "; it was written by a newer mtl4j" : ""));
            }
            if (version >= 2 && !verified) {
                throw new IOException(file + " has model format version " + version + " but no " + DIGESTS
                        + " entry; the file is damaged");
            }
            InputType inputType = mapper.treeToValue(required(meta, "inputType", file), InputType.class);
            IUpdater updater = mapper.treeToValue(required(meta, "updater", file), IUpdater.class);
            List<Task> tasks = new ArrayList<>();
            for (JsonNode t : required(meta, "tasks", file)) {
                tasks.add(taskFromJson(mapper, t, file));
            }
            List<String> outputs = new ArrayList<>();
            required(meta, "outputs", file).forEach(n -> outputs.add(n.asText()));
            List<String> representations = new ArrayList<>();
            required(meta, "representations", file).forEach(n -> representations.add(n.asText()));
            JsonNode seqNode = required(meta, "sequence", file);
            boolean[] sequence = new boolean[seqNode.size()];
            for (int i = 0; i < sequence.length; i++) {
                sequence[i] = seqNode.get(i).asBoolean();
            }
            SharingStrategy sharing = componentFromJson(mapper, required(meta, "sharing", file), SharingStrategy.class, file);
            JsonNode lossesNode = required(meta, "losses", file);
            LossCombinator losses = componentFromJson(mapper, lossesNode, LossCombinator.class, file);
            JsonNode stateNode = required(lossesNode, "state", file);
            double[] state = new double[stateNode.size()];
            for (int i = 0; i < state.length; i++) {
                state[i] = stateNode.get(i).asDouble();
            }

            String graphJson = new String(readEntry(zip, GRAPH, file), StandardCharsets.UTF_8);
            ComputationGraphConfiguration conf = ComputationGraphConfiguration.fromJson(graphJson);
            MultiTaskGraph graph = new MultiTaskGraph(conf);
            INDArray params = readArray(zip, PARAMS, file);
            graph.init();
            // ComputationGraph.numParams() counts layer parameters only; vertices with parameters count here
            long expected = graph.params().length();
            if (params.length() != expected) {
                throw new IOException(file + ": " + PARAMS + " holds " + params.length() + " values, but the configuration has "
                        + expected + " parameters; the file is damaged");
            }
            graph.params().assign(params.reshape(graph.params().shape()));
            ZipEntry updaterEntry = zip.getEntry(UPDATER);
            INDArray updaterView = graph.getUpdater(true).getStateViewArray();
            if (updaterEntry != null) {
                INDArray updaterState = readArray(zip, UPDATER, file);
                if (updaterView == null || updaterView.length() != updaterState.length()) {
                    throw new IOException(file + ": " + UPDATER + " holds " + updaterState.length() + " values, but the"
                            + " updater needs " + (updaterView == null ? 0 : updaterView.length()) + "; the file is damaged");
                }
                updaterView.assign(updaterState.reshape(updaterView.shape()));
            } else if (updaterView != null && updaterView.length() > 0) {
                throw new IOException(file + ": the updater has state but the file has no " + UPDATER + "; the file is damaged");
            }
            losses.init(tasks, updater);
            losses.restoreState(state);
            return new MultiTaskNetwork(inputType, tasks, sharing, losses, updater, graph, outputs, representations, sequence);
        } catch (RuntimeException e) {
            throw new IOException(file + " could not be read as an mtl4j model: " + e.getMessage(), e);
        }
    }

    private static ZipFile openZip(File file) throws IOException {
        try {
            return new ZipFile(file);
        } catch (ZipException | EOFException | IllegalArgumentException e) {
            throw new IOException(file + " is not an mtl4j model file: it is not a complete zip archive (truncated, or"
                    + " another format): " + e.getMessage(), e);
        }
    }

    private static ObjectNode taskToJson(ObjectMapper mapper, Task task) {
        ObjectNode n = mapper.createObjectNode();
        n.put("name", task.name());
        n.put("kind", task.kind().name());
        n.put("role", task.role().name());
        n.put("nOut", task.nOut());
        n.put("labelsIndex", task.labelsIndex());
        n.put("stage", task.stage());
        n.set("activation", mapper.valueToTree(task.activation()));
        n.set("loss", mapper.valueToTree(task.loss()));
        ObjectNode head = n.putObject("head");
        head.put("readout", task.head().readout().name());
        ArrayNode layers = head.putArray("layers");
        for (Layer l : task.head().layers()) {
            layers.add(mapper.valueToTree(l));
        }
        return n;
    }

    private static Task taskFromJson(ObjectMapper mapper, JsonNode n, File file) throws IOException {
        JsonNode head = required(n, "head", file);
        List<Layer> layers = new ArrayList<>();
        for (JsonNode l : required(head, "layers", file)) {
            layers.add(mapper.treeToValue(l, Layer.class));
        }
        Head h = Head.of(layers.toArray(new Layer[0])).withReadout(Head.Readout.valueOf(text(head, "readout", file)));
        return Task.restore(text(n, "name", file), h, required(n, "nOut", file).asInt(),
                mapper.treeToValue(required(n, "activation", file), IActivation.class),
                mapper.treeToValue(required(n, "loss", file), ILossFunction.class),
                TaskKind.valueOf(text(n, "kind", file)), TaskRole.valueOf(text(n, "role", file)),
                required(n, "labelsIndex", file).asInt(), required(n, "stage", file).asInt());
    }

    private static ObjectNode component(ObjectMapper mapper, Object component) {
        ObjectNode n = mapper.createObjectNode();
        n.put("class", component.getClass().getName());
        n.set("config", mapper.valueToTree(component));
        return n;
    }

    private static <T> T componentFromJson(ObjectMapper mapper, JsonNode n, Class<T> type, File file) throws IOException {
        String className = text(n, "class", file);
        Class<?> cls;
        try {
            cls = Class.forName(className);
        } catch (ClassNotFoundException e) {
            throw new IOException(file + " needs " + className + ", which is not on the classpath (a module missing?)", e);
        }
        if (!type.isAssignableFrom(cls)) {
            throw new IOException(file + ": " + className + " is not a " + type.getSimpleName());
        }
        return type.cast(mapper.treeToValue(required(n, "config", file), cls));
    }

    private static JsonNode required(JsonNode n, String field, File file) throws IOException {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            throw new IOException(file + ": the model description lacks \"" + field + "\"; the file is damaged");
        }
        return v;
    }

    private static String text(JsonNode n, String field, File file) throws IOException {
        return required(n, field, file).asText();
    }

    private static void writeEntry(ZipOutputStream zip, String name, byte[] bytes, EntryDigests digests)
            throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
        digests.add(name, EntryDigests.sha256().digest(bytes));
    }

    private static void writeArray(ZipOutputStream zip, String name, INDArray array, EntryDigests digests)
            throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        DigestOutputStream digesting = new DigestOutputStream(new UnclosableStream(zip), EntryDigests.sha256());
        DataOutputStream out = new DataOutputStream(digesting);
        Nd4j.write(array, out);
        out.flush();
        zip.closeEntry();
        digests.add(name, digesting.getMessageDigest().digest());
    }

    private static byte[] readEntry(ZipFile zip, String name, File file) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            throw new IOException(file + " has no " + name + " entry; the file is damaged");
        }
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        }
    }

    private static INDArray readArray(ZipFile zip, String name, File file) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            throw new IOException(file + " has no " + name + " entry; the file is damaged");
        }
        try (DataInputStream in = new DataInputStream(zip.getInputStream(e))) {
            return Nd4j.read(in);
        }
    }

    /** Keeps {@code Nd4j.write} from closing the zip stream. */
    private static final class UnclosableStream extends java.io.FilterOutputStream {
        UnclosableStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
