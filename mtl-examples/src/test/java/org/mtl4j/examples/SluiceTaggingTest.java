package org.mtl4j.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtl4j.examples.TaggingData.Chunk;
import org.mtl4j.examples.TaggingData.Pos;
import org.mtl4j.examples.TaggingData.Sentence;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mtl4j.examples.TaggingData.Chunk.B_NP;
import static org.mtl4j.examples.TaggingData.Chunk.B_PP;
import static org.mtl4j.examples.TaggingData.Chunk.B_VP;
import static org.mtl4j.examples.TaggingData.Chunk.I_NP;
import static org.mtl4j.examples.TaggingData.Chunk.I_PP;
import static org.mtl4j.examples.TaggingData.Chunk.I_VP;
import static org.mtl4j.examples.TaggingData.Chunk.O;
import static org.mtl4j.examples.TaggingData.Pos.ADJ;
import static org.mtl4j.examples.TaggingData.Pos.ADP;
import static org.mtl4j.examples.TaggingData.Pos.CONJ;
import static org.mtl4j.examples.TaggingData.Pos.DET;
import static org.mtl4j.examples.TaggingData.Pos.NOUN;
import static org.mtl4j.examples.TaggingData.Pos.VERB;

/** The tagging example's data follow its rules, its padding is masked, and it runs tiny. */
class SluiceTaggingTest {

    private static void assertTags(String sentence, Pos[] pos, Chunk[] chunks) {
        Pos[] p = TaggingData.posTags(TaggingData.tokens(sentence));
        assertArrayEquals(pos, p, sentence);
        assertArrayEquals(chunks, TaggingData.chunkTags(p), sentence);
    }

    @Test
    void handWrittenSentencesGetTheirHandCheckedTags() {
        assertTags("the old fish walk in the park and a cat sees fish",
                new Pos[]{DET, ADJ, NOUN, VERB, ADP, DET, NOUN, CONJ, DET, NOUN, VERB, NOUN},
                new Chunk[]{B_NP, I_NP, I_NP, B_VP, B_PP, I_PP, I_PP, O, B_NP, I_NP, B_VP, B_NP});
        assertTags("fish walk fish", new Pos[]{VERB, NOUN, NOUN}, new Chunk[]{B_VP, B_NP, I_NP});
        assertTags("play and play", new Pos[]{VERB, CONJ, VERB}, new Chunk[]{B_VP, O, B_VP});
        assertTags("dog cat old dog", new Pos[]{NOUN, NOUN, ADJ, NOUN}, new Chunk[]{B_NP, I_NP, B_NP, I_NP});
        assertTags("sees eats the dog the cat", new Pos[]{VERB, VERB, DET, NOUN, DET, NOUN},
                new Chunk[]{B_VP, I_VP, B_NP, I_NP, B_NP, I_NP});
        assertTags("with old ring", new Pos[]{ADP, ADJ, NOUN}, new Chunk[]{B_PP, I_PP, I_PP});
        assertTags("watch on park", new Pos[]{VERB, ADP, NOUN}, new Chunk[]{B_VP, B_PP, I_PP});
    }

    @Test
    void masksAndLabelsAreZeroPastEachSentencesLength() {
        int[] shortWords = TaggingData.tokens("the dog sleeps");
        int[] longWords = TaggingData.tokens("a cat sees the red fish");
        int[] longInput = longWords.clone();
        longInput[4] = TaggingData.UNKNOWN;
        MultiDataSet batch = TaggingData.batch(List.of(new Sentence(shortWords, shortWords.clone()),
                new Sentence(longWords, longInput)));

        INDArray x = batch.getFeatures(0);
        assertArrayEquals(new long[]{2, TaggingData.UNKNOWN + 1, 6}, x.shape());
        assertArrayEquals(new long[]{2, Pos.values().length, 6}, batch.getLabels(0).shape());
        assertArrayEquals(new long[]{2, Chunk.values().length, 6}, batch.getLabels(1).shape());
        for (int task = 0; task < 3; task++) {
            INDArray mask = task < 2 ? batch.getLabelsMaskArray(task) : batch.getFeaturesMaskArray(0);
            assertArrayEquals(new double[]{1, 1, 1, 0, 0, 0}, mask.getRow(0).toDoubleVector(), 0.0);
            assertArrayEquals(new double[]{1, 1, 1, 1, 1, 1}, mask.getRow(1).toDoubleVector(), 0.0);
        }
        for (int t = 0; t < 6; t++) {
            double expected = t < 3 ? 1 : 0;
            assertEquals(expected, stepSum(x, t), 0.0, "features at step " + t);
            assertEquals(expected, stepSum(batch.getLabels(0), t), 0.0, "pos labels at step " + t);
            assertEquals(expected, stepSum(batch.getLabels(1), t), 0.0, "chunk labels at step " + t);
        }
        assertEquals(1.0, x.getDouble(0, TaggingData.WORDS.indexOf("sleeps"), 2), 0.0);
        assertEquals(1.0, x.getDouble(1, TaggingData.UNKNOWN, 4), 0.0, "the unknown token is the last feature");
        assertEquals(1.0, batch.getLabels(0).getDouble(1, ADJ.ordinal(), 4), 0.0, "tags follow the word, not the input");
        assertEquals(1.0, batch.getLabels(1).getDouble(1, I_NP.ordinal(), 5), 0.0);
    }

    /** The sum over the features (or classes) of the first sentence at step {@code t}. */
    private static double stepSum(INDArray a, int t) {
        return a.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.point(t)).sumNumber().doubleValue();
    }

    @Test
    void sentencesHaveTheirLengthsAndAboutOneUnknownWordInFive() {
        List<Sentence> sentences = TaggingData.sentences(500, new Random(1));
        long words = 0;
        long unknown = 0;
        for (Sentence s : sentences) {
            assertEquals(s.words().length, s.input().length);
            assertTrue(s.words().length >= TaggingData.MIN_LENGTH && s.words().length <= TaggingData.MAX_LENGTH);
            for (int t = 0; t < s.words().length; t++) {
                assertTrue(s.input()[t] == s.words()[t] || s.input()[t] == TaggingData.UNKNOWN);
                unknown += s.input()[t] == TaggingData.UNKNOWN ? 1 : 0;
                words++;
            }
        }
        assertEquals(0.2, (double) unknown / words, 0.02);
    }

    @Test
    void theBestLeftToRightTaggerIsExactWithoutUnknownWordsAndBeatsThePerTokenTaggerWithThem() {
        List<Sentence> test = TaggingData.sentences(200, new Random(2));
        List<Sentence> known = test.stream().map(s -> new Sentence(s.words(), s.words())).toList();
        assertEquals(new TaggingData.Accuracy(1, 1), TaggingData.bestLeftToRight(known));
        TaggingData.Accuracy best = TaggingData.bestLeftToRight(test);
        TaggingData.Accuracy perToken = TaggingData.mostFrequentTagOfToken(TaggingData.sentences(500, new Random(3)), test);
        assertTrue(best.pos() < 1 && best.chunk() < 1, best.toString());
        assertTrue(best.pos() > perToken.pos() && best.chunk() > perToken.chunk(), best + " against " + perToken);
    }

    @TempDir
    Path dir;

    @Test
    void runsTinyAndReportsEveryModel() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SluiceTagging.Result r = SluiceTagging.run(32, 32, 1, 3, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                dir);
        String printed = bytes.toString(StandardCharsets.UTF_8);
        List<String> names = List.of("hard, both at the top", "hard, pos at stage 0", "sluice, pos at stage 0",
                "sluice, both at the top");
        assertEquals(names, r.models().stream().map(SluiceTagging.Row::model).toList());
        assertEquals(3, r.references().size());
        for (SluiceTagging.Row row : concat(r.references(), r.models())) {
            assertTrue(row.posAccuracy() >= 0 && row.posAccuracy() <= 1, row.toString());
            assertTrue(row.chunkAccuracy() >= 0 && row.chunkAccuracy() <= 1, row.toString());
            assertTrue(printed.contains(row.model()), row.model() + " in\n" + printed);
        }
        assertEquals(2, r.sluice().size());
        SluiceTagging.SluiceWeights low = r.sluice().get(0);
        assertEquals(4, low.alphas().get(0).length, "stage 0 mixes both columns' two subspaces");
        assertEquals(2, low.alphas().get(1).length, "stage 1 holds only the chunk column");
        assertEquals(0, low.betas().get(0).length, "pos reads one stage");
        assertEquals(2, low.betas().get(1).length);
        SluiceTagging.SluiceWeights top = r.sluice().get(1);
        assertEquals(4, top.alphas().get(1).length);
        assertEquals(2, top.betas().get(0).length);
        assertEquals(4, low.initialAlphas().get(0).length);
        assertTrue(printed.contains("alpha, stage 1"), printed);
        assertTrue(printed.contains("before training 6.7%, 6.7%"), "alpha starts at 0.9 self, 0.1/3 elsewhere:\n"
                + printed);
        String csv = Files.readString(dir.resolve("sluice-pos-at-stage-0").resolve("history.csv"));
        assertTrue(csv.contains("alpha.s0[pos.1<-chunk.0]") && csv.contains("beta[chunk.s1]"), csv);
        assertTrue(Files.isRegularFile(dir.resolve("sluice-pos-at-stage-0").resolve("learned_beta.png")));
    }

    @Test
    void otherTasksShareIsTheAbsoluteWeightOnTheOtherColumnsSubspaces() {
        double[][] alpha = {
                {0.5, 0.0, 0.25, -0.25},
                {0.0, 1.0, 0.0, 0.0},
                {0.1, 0.1, 0.4, 0.4},
                {0.0, 0.0, 0.0, 1.0},
        };
        assertEquals(0.5 / 2, SluiceTagging.otherShare(alpha, 0), 1e-12);
        assertEquals(0.2 / 2, SluiceTagging.otherShare(alpha, 1), 1e-12);
    }

    private static List<SluiceTagging.Row> concat(List<SluiceTagging.Row> a, List<SluiceTagging.Row> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }
}
