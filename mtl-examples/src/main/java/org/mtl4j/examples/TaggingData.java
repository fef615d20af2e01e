package org.mtl4j.examples;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.TestMultiDataSetIterator;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.function.IntUnaryOperator;

/**
 * The synthetic tagging data of {@link SluiceTagging}: sentences, their part-of-speech and chunk tags, the
 * minibatches a network reads, and reference taggers (most frequent tag, most frequent tag per token, and
 * the best any left-to-right tagger can do).
 *
 * <p>Sentences have 6 to 20 words from a 28-word lexicon; the word classes follow a small Markov chain
 * ({@link #NEXT_CLASS}), each word uniform within its class. Most words have one part of speech; the
 * noun-or-verb words are a noun after a determiner, adjective or preposition, otherwise a verb if their
 * clause (since the sentence start or the last conjunction) has no verb yet, else a noun. Chunks are BIO
 * spans computed from the tags alone. Each word reaches the network as an unknown-word token with
 * probability {@link #UNKNOWN_RATE}; its tags still follow the real word.
 */
final class TaggingData {

    /** Parts of speech, the low-level tags. */
    enum Pos { DET, ADJ, NOUN, VERB, ADP, CONJ }

    /** Chunk tags: BIO over noun phrases, verb groups and prepositional phrases; O outside any. */
    enum Chunk { O, B_NP, I_NP, B_VP, I_VP, B_PP, I_PP }

    /** Word classes of the lexicon: one per part of speech, and the words that are a noun or a verb by context. */
    enum WordClass {
        DET("the", "a", "this", "every"),
        ADJ("old", "red", "big", "quiet"),
        NOUN("dog", "cat", "house", "river", "idea"),
        VERB("sees", "eats", "sleeps", "finds"),
        ADP("in", "on", "with"),
        CONJ("and", "but"),
        NOUN_OR_VERB("fish", "walk", "play", "watch", "park", "ring");

        final List<String> words;

        WordClass(String... words) {
            this.words = List.of(words);
        }
    }

    /**
     * The class of the next word given the class of the previous one: row 0 at the sentence start, row
     * {@code 1 + c} after class c; columns in {@link WordClass} order.
     */
    static final double[][] NEXT_CLASS = {
            {0.30, 0.05, 0.15, 0.05, 0.10, 0.00, 0.35},
            {0.00, 0.30, 0.35, 0.00, 0.00, 0.00, 0.35},
            {0.00, 0.15, 0.45, 0.00, 0.00, 0.00, 0.40},
            {0.05, 0.05, 0.05, 0.30, 0.20, 0.10, 0.25},
            {0.35, 0.10, 0.10, 0.00, 0.20, 0.10, 0.15},
            {0.50, 0.10, 0.20, 0.00, 0.00, 0.00, 0.20},
            {0.40, 0.05, 0.15, 0.10, 0.00, 0.00, 0.30},
            {0.20, 0.05, 0.10, 0.10, 0.20, 0.10, 0.25},
    };

    /** Every word, by token id, in {@link WordClass} order. */
    static final List<String> WORDS;
    /** The input token that stands for an unknown word (the last feature). */
    static final int UNKNOWN;
    /** The width of the one-hot input: the words and the unknown-word token. */
    static final int INPUTS;
    static final int MIN_LENGTH = 6;
    static final int MAX_LENGTH = 20;
    static final double UNKNOWN_RATE = 0.2;
    static final int BATCH = 32;

    private static final WordClass[] CLASS_OF;
    private static final int[] FIRST_OF_CLASS = new int[WordClass.values().length];

    static {
        List<String> words = new ArrayList<>();
        List<WordClass> classOf = new ArrayList<>();
        for (WordClass c : WordClass.values()) {
            FIRST_OF_CLASS[c.ordinal()] = words.size();
            words.addAll(c.words);
            c.words.forEach(w -> classOf.add(c));
        }
        WORDS = List.copyOf(words);
        CLASS_OF = classOf.toArray(new WordClass[0]);
        UNKNOWN = WORDS.size();
        INPUTS = UNKNOWN + 1;
    }

    /** One sentence: its words (which the tags follow) and the tokens the network reads (some unknown). */
    record Sentence(int[] words, int[] input) {
    }

    private TaggingData() {
    }

    // ---------------------------------------------------------------- sentences and tags

    /** {@code n} sentences, lengths uniform in [MIN_LENGTH, MAX_LENGTH], word classes from {@link #NEXT_CLASS}. */
    static List<Sentence> sentences(int n, Random random) {
        List<Sentence> list = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            int length = MIN_LENGTH + random.nextInt(MAX_LENGTH - MIN_LENGTH + 1);
            int[] words = new int[length];
            int[] input = new int[length];
            int previous = -1;
            for (int t = 0; t < length; t++) {
                double[] p = NEXT_CLASS[previous + 1];
                double u = random.nextDouble();
                int c = 0;
                while (c < p.length - 1 && u >= p[c]) {
                    u -= p[c];
                    c++;
                }
                words[t] = FIRST_OF_CLASS[c] + random.nextInt(WordClass.values()[c].words.size());
                input[t] = random.nextDouble() < UNKNOWN_RATE ? UNKNOWN : words[t];
                previous = c;
            }
            list.add(new Sentence(words, input));
        }
        return list;
    }

    /** Token ids of space-separated words of the lexicon. */
    static int[] tokens(String words) {
        return Arrays.stream(words.trim().split("\\s+")).mapToInt(w -> {
            int id = WORDS.indexOf(w);
            if (id < 0) {
                throw new IllegalArgumentException("\"" + w + "\" is not in the lexicon " + WORDS);
            }
            return id;
        }).toArray();
    }

    /** The part of speech of each word (see {@link #pos}). */
    static Pos[] posTags(int[] words) {
        Pos[] tags = new Pos[words.length];
        boolean clauseHasVerb = false;
        for (int t = 0; t < words.length; t++) {
            tags[t] = pos(CLASS_OF[words[t]], t == 0 ? null : tags[t - 1], clauseHasVerb);
            clauseHasVerb = hasVerb(tags[t], clauseHasVerb);
        }
        return tags;
    }

    /**
     * A word's part of speech: its class's, except that a noun-or-verb word is a noun after a determiner,
     * adjective or preposition, otherwise a verb when its clause has no verb yet, and a noun when it has.
     */
    static Pos pos(WordClass c, Pos previous, boolean clauseHasVerb) {
        if (c != WordClass.NOUN_OR_VERB) {
            return Pos.valueOf(c.name());
        }
        boolean nominalContext = previous == Pos.DET || previous == Pos.ADJ || previous == Pos.ADP;
        return nominalContext || clauseHasVerb ? Pos.NOUN : Pos.VERB;
    }

    /** Whether the clause has a verb after a word tagged {@code tag}: a conjunction starts a new clause. */
    static boolean hasVerb(Pos tag, boolean clauseHadVerb) {
        return tag == Pos.VERB || (clauseHadVerb && tag != Pos.CONJ);
    }

    /** The chunk tag of each position, from the parts of speech alone (see {@link #chunk}). */
    static Chunk[] chunkTags(Pos[] pos) {
        Chunk[] tags = new Chunk[pos.length];
        for (int t = 0; t < pos.length; t++) {
            tags[t] = t == 0 ? chunk(null, null, pos[0]) : chunk(pos[t - 1], tags[t - 1], pos[t]);
        }
        return tags;
    }

    /**
     * A chunk tag from this and the previous position's tags. A verb begins a VP unless it follows a verb; a
     * preposition begins a PP; a determiner, adjective or noun continues the phrase before it when that
     * phrase is a PP just opened or a noun phrase it can extend (not at a determiner, nor at an adjective
     * after a noun), and begins an NP otherwise; a conjunction is O.
     */
    static Chunk chunk(Pos previous, Chunk previousChunk, Pos pos) {
        return switch (pos) {
            case CONJ -> Chunk.O;
            case VERB -> previous == Pos.VERB ? Chunk.I_VP : Chunk.B_VP;
            case ADP -> Chunk.B_PP;
            case DET, ADJ, NOUN -> {
                boolean afterNominal = previous == Pos.DET || previous == Pos.ADJ || previous == Pos.NOUN;
                boolean continues = previous == Pos.ADP
                        || afterNominal && pos != Pos.DET && !(previous == Pos.NOUN && pos == Pos.ADJ);
                if (!continues) {
                    yield Chunk.B_NP;
                }
                yield previousChunk == Chunk.B_PP || previousChunk == Chunk.I_PP ? Chunk.I_PP : Chunk.I_NP;
            }
        };
    }

    // ---------------------------------------------------------------- minibatches

    /**
     * The sentences in minibatches of {@link #BATCH}, each padded to its longest sentence: one-hot input
     * tokens {@code [mb, 29, time]} (the 28 words and the unknown-word token), labels[0] "pos"
     * {@code [mb, 6, time]}, labels[1] "chunk" {@code [mb, 7, time]}, and one mask {@code [mb, time]}, 1 up to
     * each sentence's length, for the features and both labels: the labels masks keep the padding out of losses
     * and accuracies, the features mask keeps it out of the network's outputs.
     */
    static MultiDataSetIterator batches(List<Sentence> sentences) {
        List<MultiDataSet> list = new ArrayList<>();
        for (int start = 0; start < sentences.size(); start += BATCH) {
            list.add(batch(sentences.subList(start, Math.min(sentences.size(), start + BATCH))));
        }
        return new TestMultiDataSetIterator(1, list.toArray(new MultiDataSet[0]));
    }

    /** One minibatch of {@link #batches}. */
    static MultiDataSet batch(List<Sentence> sentences) {
        int mb = sentences.size();
        int steps = sentences.stream().mapToInt(s -> s.words().length).max().orElse(1);
        INDArray x = Nd4j.create(DataType.FLOAT, mb, INPUTS, steps);
        INDArray pos = Nd4j.create(DataType.FLOAT, mb, Pos.values().length, steps);
        INDArray chunk = Nd4j.create(DataType.FLOAT, mb, Chunk.values().length, steps);
        INDArray mask = Nd4j.create(DataType.FLOAT, mb, steps);
        for (int i = 0; i < mb; i++) {
            Sentence s = sentences.get(i);
            Pos[] p = posTags(s.words());
            Chunk[] c = chunkTags(p);
            for (int t = 0; t < p.length; t++) {
                x.putScalar(i, s.input()[t], t, 1.0);
                pos.putScalar(i, p[t].ordinal(), t, 1.0);
                chunk.putScalar(i, c[t].ordinal(), t, 1.0);
                mask.putScalar(i, t, 1.0);
            }
        }
        return new MultiDataSet(new INDArray[]{x}, new INDArray[]{pos, chunk}, new INDArray[]{mask},
                new INDArray[]{mask, mask});
    }

    // ---------------------------------------------------------------- reference taggers

    /** A tagger's token accuracy per task. */
    record Accuracy(double pos, double chunk) {
    }

    /** Tags every test word with the training set's most frequent tag of each task. */
    static Accuracy mostFrequentTag(List<Sentence> train, List<Sentence> test) {
        int[][][] counts = count(train, 1, token -> 0);
        int pos = argmax(counts[0][0]);
        int chunk = argmax(counts[1][0]);
        return accuracy(test, s -> {
            int[][] tags = new int[2][s.words().length];
            Arrays.fill(tags[0], pos);
            Arrays.fill(tags[1], chunk);
            return tags;
        });
    }

    /** Tags every test word with the most frequent tag of its input token (a word, or unknown) in the training set. */
    static Accuracy mostFrequentTagOfToken(List<Sentence> train, List<Sentence> test) {
        int[][][] counts = count(train, INPUTS, token -> token);
        return accuracy(test, s -> {
            int[][] tags = new int[2][s.words().length];
            for (int t = 0; t < tags[0].length; t++) {
                tags[0][t] = argmax(counts[0][s.input()[t]]);
                tags[1][t] = argmax(counts[1][s.input()[t]]);
            }
            return tags;
        });
    }

    /**
     * The best possible left-to-right tagger: at each word, the most probable tag given the input tokens so
     * far, computed exactly by filtering over the hidden state (word class, tags and whether the clause has
     * a verb) with the generator's own probabilities. No network reading left to right can beat it in
     * expectation.
     */
    static Accuracy bestLeftToRight(List<Sentence> test) {
        return accuracy(test, TaggingData::filter);
    }

    /** The hidden state after a word: its class, its tags, and whether its clause has a verb. */
    private record State(int wordClass, Pos pos, Chunk chunk, boolean clauseHasVerb) {
    }

    /** Per position, the most probable pos and chunk tag given the inputs up to it. */
    private static int[][] filter(Sentence s) {
        int[][] tags = new int[2][s.input().length];
        Map<State, Double> belief = Map.of(new State(-1, null, null, false), 1.0);
        for (int t = 0; t < s.input().length; t++) {
            int token = s.input()[t];
            Map<State, Double> next = new HashMap<>();
            for (Map.Entry<State, Double> e : belief.entrySet()) {
                State from = e.getKey();
                for (WordClass c : WordClass.values()) {
                    double likelihood = token == UNKNOWN ? UNKNOWN_RATE
                            : CLASS_OF[token] == c ? (1 - UNKNOWN_RATE) / c.words.size() : 0;
                    double p = e.getValue() * NEXT_CLASS[from.wordClass() + 1][c.ordinal()] * likelihood;
                    if (p > 0) {
                        Pos pos = pos(c, from.pos(), from.clauseHasVerb());
                        State to = new State(c.ordinal(), pos, chunk(from.pos(), from.chunk(), pos),
                                hasVerb(pos, from.clauseHasVerb()));
                        next.merge(to, p, Double::sum);
                    }
                }
            }
            double total = next.values().stream().mapToDouble(Double::doubleValue).sum();
            double[] posMass = new double[Pos.values().length];
            double[] chunkMass = new double[Chunk.values().length];
            Map<State, Double> normalised = new HashMap<>();
            next.forEach((state, p) -> {
                normalised.put(state, p / total);
                posMass[state.pos().ordinal()] += p;
                chunkMass[state.chunk().ordinal()] += p;
            });
            tags[0][t] = argmax(posMass);
            tags[1][t] = argmax(chunkMass);
            belief = normalised;
        }
        return tags;
    }

    /** Per task, per key of the input token, the count of each tag in the sentences. */
    private static int[][][] count(List<Sentence> sentences, int keys, IntUnaryOperator key) {
        int[][][] counts = {new int[keys][Pos.values().length], new int[keys][Chunk.values().length]};
        for (Sentence s : sentences) {
            Pos[] p = posTags(s.words());
            Chunk[] c = chunkTags(p);
            for (int t = 0; t < p.length; t++) {
                int k = key.applyAsInt(s.input()[t]);
                counts[0][k][p[t].ordinal()]++;
                counts[1][k][c[t].ordinal()]++;
            }
        }
        return counts;
    }

    /** The token accuracy of a tagger that gives, per sentence, {@code [pos ordinals, chunk ordinals]}. */
    static Accuracy accuracy(List<Sentence> test, Function<Sentence, int[][]> tagger) {
        long words = 0;
        long posRight = 0;
        long chunkRight = 0;
        for (Sentence s : test) {
            Pos[] p = posTags(s.words());
            Chunk[] c = chunkTags(p);
            int[][] guess = tagger.apply(s);
            for (int t = 0; t < p.length; t++) {
                words++;
                posRight += guess[0][t] == p[t].ordinal() ? 1 : 0;
                chunkRight += guess[1][t] == c[t].ordinal() ? 1 : 0;
            }
        }
        return new Accuracy((double) posRight / words, (double) chunkRight / words);
    }

    private static int argmax(int[] counts) {
        int best = 0;
        for (int i = 1; i < counts.length; i++) {
            best = counts[i] > counts[best] ? i : best;
        }
        return best;
    }

    private static int argmax(double[] mass) {
        int best = 0;
        for (int i = 1; i < mass.length; i++) {
            best = mass[i] > mass[best] ? i : best;
        }
        return best;
    }
}
