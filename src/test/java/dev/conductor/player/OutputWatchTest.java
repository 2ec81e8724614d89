package dev.conductor.player;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OutputWatchTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);

    private static void feed(OutputWatch w, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        w.feed(b, 0, b.length);
    }

    /** Starts an expect on its own thread and waits until it is waiting. */
    private static CompletableFuture<OutputWatch.Result> expect(OutputWatch w, String regex) throws InterruptedException {
        CompletableFuture<OutputWatch.Result> r = CompletableFuture.supplyAsync(() -> {
            try {
                return w.await(regex, LIMIT);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + LIMIT.toNanos();
        while (!w.waiting() && !r.isDone()) {
            assertThat(System.nanoTime()).as("the expect of /%s/ to start waiting", regex).isLessThan(deadline);
            Thread.sleep(1);
        }
        return r;
    }

    @Test
    void aLiteralSplitAcrossChunksIsFound() throws Exception {
        OutputWatch w = new OutputWatch();
        var r = expect(w, "READY-42");
        feed(w, "booting\nREA");
        feed(w, "DY");
        assertThat(r).isNotDone();
        feed(w, "-42 and more");
        assertThat(r.get(20, TimeUnit.SECONDS).match()).isEqualTo("READY-42");
    }

    @Test
    void aRegexSplitAcrossChunksIsFoundWithLineAnchors() throws Exception {
        OutputWatch w = new OutputWatch();
        var r = expect(w, "^listening on port (\\d+)$");
        feed(w, "not listening on port 1 here\nlisten");
        feed(w, "ing on port 77");
        feed(w, "77\n");
        assertThat(r.get(20, TimeUnit.SECONDS).match()).isEqualTo("listening on port 7777");
    }

    @Test
    void outputThatCameEarlierIsSearchedAndAMatchConsumesIt() throws Exception {
        OutputWatch w = new OutputWatch();
        feed(w, "tick 1\ntick 2\n");
        assertThat(w.await("tick \\d", LIMIT).match()).isEqualTo("tick 1");
        assertThat(w.await("tick", LIMIT).match()).isEqualTo("tick");
        OutputWatch.Result none = w.await("tick", Duration.ofMillis(50));
        assertThat(none.matched()).isFalse();
        assertThat(none.ended()).isFalse();
        assertThat(none.tail()).isEqualTo(" 2\n");
        w.end();
        assertThat(w.await("tock", LIMIT).ended()).isTrue();
    }

    @Test
    void literalUtf8TextMatches() throws Exception {
        OutputWatch w = new OutputWatch();
        byte[] b = "prêt à partir\n".getBytes(StandardCharsets.UTF_8);
        var r = expect(w, "à part");
        w.feed(b, 0, 5); // cuts 'ê' in two
        w.feed(b, 5, b.length - 5);
        assertThat(r.get(20, TimeUnit.SECONDS).match()).isEqualTo("à part");
    }

    @Test
    void hundredsOfMegabytesArriveWithMemoryBoundedAndTheMarkerAtTheEndIsFound() throws Exception {
        OutputWatch w = new OutputWatch();
        byte[] chunk = new byte[256 * 1024 + 7]; // odd size: the marker lands across two chunks
        Arrays.fill(chunk, (byte) 'x');
        for (String regex : new String[]{"MARK-END-0001", "MARK-END-\\d+"}) {
            var r = expect(w, regex);
            for (int i = 0; i < 800; i++) {
                w.feed(chunk, 0, chunk.length);
                assertThat(w.capacity()).isLessThanOrEqualTo(OutputWatch.KEEP);
            }
            byte[] marker = "..MARK-END-0001\n".getBytes(StandardCharsets.US_ASCII);
            w.feed(marker, 0, 8);
            assertThat(r).isNotDone();
            w.feed(marker, 8, marker.length - 8);
            assertThat(r.get(20, TimeUnit.SECONDS).match()).isEqualTo("MARK-END-0001");
        }
        assertThat(w.capacity()).isEqualTo(OutputWatch.KEEP);
    }

    /**
     * Literals at every kind of place, against a plain search of the same bytes: in the middle
     * of a chunk, across chunks, and across the ring's end (the search's fast path stops there).
     */
    @Test
    void aLiteralIsFoundWhereverItLiesAgainstAPlainSearch() throws Exception {
        findWhereverItLies("NEEDLE-0123456789", 40, 1000);
    }

    /**
     * The same with a regular expression, and twice the ring's size of output behind the match:
     * none of the output a match may lie in is overwritten before it has been searched.
     */
    @Test
    void aRegexIsFoundWhereverItLiesWithMuchOutputBehindIt() throws Exception {
        findWhereverItLies("NEEDLE-[0-9]{10}", 12, 2 * OutputWatch.KEEP);
    }

    /**
     * Two copies of a literal in one chunk, anywhere in it (the search runs two cursors, over
     * the chunk's two halves): the earlier is found first, then the later, and nothing else.
     * The noise is made of the literal's own letters, so that candidates are many.
     */
    @Test
    void ofTwoLiteralsInOneChunkTheEarlierIsFoundFirst() throws Exception {
        java.util.Random rnd = new java.util.Random(7);
        String literal = "ABCABD-42";
        byte[] needle = literal.getBytes(StandardCharsets.US_ASCII);
        for (int round = 0; round < 200; round++) {
            OutputWatch w = new OutputWatch();
            byte[] chunk = new byte[1000 + rnd.nextInt(200_000)];
            byte[] letters = "ABCD-4".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = letters[rnd.nextInt(letters.length)];
            }
            int first = rnd.nextInt(chunk.length - 2 * needle.length);
            int second = first + needle.length + rnd.nextInt(chunk.length - first - 2 * needle.length + 1);
            System.arraycopy(needle, 0, chunk, first, needle.length);
            System.arraycopy(needle, 0, chunk, second, needle.length);
            int expected = new String(chunk, StandardCharsets.ISO_8859_1).indexOf(literal);
            int expectedNext = new String(chunk, StandardCharsets.ISO_8859_1).indexOf(literal, expected + needle.length);
            w.feed(chunk, 0, chunk.length);
            w.end();
            OutputWatch.Result one = w.await(literal, LIMIT);
            OutputWatch.Result two = w.await(literal, LIMIT);
            OutputWatch.Result three = w.await(literal, LIMIT);
            assertThat(one.matched()).as("round %d: at %d", round, expected).isTrue();
            assertThat(two.matched()).as("round %d: at %d", round, expectedNext).isEqualTo(expectedNext >= 0);
            // What is left after the first match tells where it ended: the bytes behind it.
            String rest = new String(chunk, expected + needle.length, chunk.length - expected - needle.length,
                    StandardCharsets.ISO_8859_1);
            assertThat(rest.indexOf(literal)).as("round %d", round).isEqualTo(expectedNext - expected - needle.length);
            if (expectedNext >= 0 && rest.indexOf(literal, expectedNext - expected) < 0) {
                assertThat(three.matched()).as("round %d: a third", round).isFalse();
            }
        }
    }

    private static void findWhereverItLies(String expression, int rounds, int after) throws Exception {
        java.util.Random rnd = new java.util.Random(12);
        byte[] needle = "NEEDLE-0123456789".getBytes(StandardCharsets.US_ASCII);
        for (int round = 0; round < rounds; round++) {
            OutputWatch w = new OutputWatch();
            // Noise of lowercase letters (never the needle's), long enough to wrap the ring a few times.
            int before = OutputWatch.KEEP * (1 + round % 3) + rnd.nextInt(OutputWatch.KEEP);
            if (round % 4 == 0) {
                before = OutputWatch.KEEP * 2 - needle.length / 2 - rnd.nextInt(3); // straddles the ring's end
            }
            byte[] all = new byte[before + needle.length + after];
            for (int i = 0; i < all.length; i++) {
                all[i] = (byte) ('a' + rnd.nextInt(26));
            }
            System.arraycopy(needle, 0, all, before, needle.length);
            CompletableFuture<OutputWatch.Result> r = expect(w, expression);
            for (int at = 0; at < all.length; ) {
                int n = Math.min(all.length - at, 1 + rnd.nextInt(300_000));
                w.feed(all, at, n);
                at += n;
            }
            OutputWatch.Result got = r.get(20, TimeUnit.SECONDS);
            assertThat(got.matched()).as("round %d, needle at %d", round, before).isTrue();
            // Nothing after the match was consumed: the 1000 bytes behind it are still there.
            OutputWatch.Result rest = w.await("[a-z]{1000}", Duration.ofMillis(100));
            assertThat(rest.matched()).as("round %d: the match ended where the needle does", round).isTrue();
        }
    }

    @Test
    void unconsumedOutputIsKeptUpToItsLimit() throws Exception {
        OutputWatch w = new OutputWatch();
        feed(w, "early-marker\n");
        byte[] filler = new byte[OutputWatch.KEEP];
        Arrays.fill(filler, (byte) '.');
        w.feed(filler, 0, filler.length);
        assertThat(w.await("early-marker", Duration.ofMillis(50)).matched()).as("older than KEEP bytes").isFalse();
        feed(w, "late-marker\n");
        assertThat(w.await("late-marker", LIMIT).matched()).isTrue();
    }
}
