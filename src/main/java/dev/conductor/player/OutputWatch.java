package dev.conductor.player;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The output of one spawned step as {@code expect} sees it: fed chunk by chunk by the reader
 * threads, it keeps the latest output not yet consumed by a match (at most {@link #KEEP} bytes,
 * in a ring: nothing is moved or copied but the new bytes) and wakes a waiting expect as soon as
 * a chunk completes its match. No polling: a match is tried only when output arrives, and only
 * over bytes not searched before, plus what a match still open at the end may have begun with:
 * a literal's length less one, or up to {@link #OVERLAP} for a regular expression. So a match
 * can span chunk boundaries and the work stays proportional to the output, however much of it
 * there is.
 *
 * <p>An expression without special characters is searched for as bytes (Boyer-Moore-Horspool,
 * which mostly skips a literal's length at a time); any other goes to {@link Pattern} over a
 * view of the ring. Bytes are seen as one char per byte (ISO-8859-1), so a chunk boundary never
 * splits a character; expressions are converted the same way, which keeps ASCII and literal
 * UTF-8 text exact. Character classes of non-ASCII characters are not supported.
 */
final class OutputWatch {
    /** Unconsumed output kept for a later expect. A power of two. */
    static final int KEEP = 1 << 20;
    /** How far back before new output a match of a regular expression may begin. */
    static final int OVERLAP = 64 * 1024;
    /** New output is taken in pieces of at most this much, so no piece overwrites bytes not yet searched. */
    private static final int PIECE = KEEP / 4;
    private static final int FIRST_CAPACITY = 64 * 1024;
    private static final String SPECIAL = "\\^$.|?*+()[]{}";

    private byte[] ring = new byte[FIRST_CAPACITY];
    /** Absolute offsets into the output: the oldest byte kept and not consumed, and the end. */
    private long head;
    private long tail;
    private boolean ended;
    private Search waiting;
    /** No match of the waiting search begins before this offset. */
    private long resumeAt;
    private String found;
    /**
     * Told when an expect begins or ends waiting (the step's output spools while one waits);
     * called without this watch's lock, so that it may take locks of its own.
     */
    private volatile Runnable onWaiting = () -> {
    };
    /** An expect waits: readable without the lock. */
    private volatile boolean expecting;

    void onWaitingChanged(Runnable r) {
        onWaiting = r;
    }

    synchronized void feed(byte[] buf, int off, int len) {
        for (int at = off; at < off + len; at += PIECE) {
            int n = Math.min(PIECE, off + len - at);
            store(buf, at, n);
            if (waiting != null && found == null) {
                tryMatch();
            }
        }
    }

    private void store(byte[] buf, int off, int n) {
        if (tail + n - head > ring.length && ring.length < KEEP) {
            grow((int) Math.min(KEEP, Long.highestOneBit(tail + n - head) << 1));
        }
        int mask = ring.length - 1;
        int at = (int) (tail & mask);
        int first = Math.min(n, ring.length - at);
        System.arraycopy(buf, off, ring, at, first);
        System.arraycopy(buf, off + first, ring, 0, n - first);
        tail += n;
        head = Math.max(head, tail - ring.length);
    }

    private void grow(int capacity) {
        byte[] bigger = new byte[capacity];
        for (long p = head; p < tail; p++) {
            bigger[(int) (p & (capacity - 1))] = ring[(int) (p & (ring.length - 1))];
        }
        ring = bigger;
    }

    /** For tests: an expect is waiting. */
    synchronized boolean waiting() {
        return waiting != null;
    }

    /** An expect waits on this output, or is about to; without taking the lock. */
    boolean expecting() {
        return expecting;
    }

    /** For tests: the bytes the ring holds (its memory). */
    synchronized int capacity() {
        return ring.length;
    }

    synchronized void end() {
        ended = true;
        if (waiting != null && found == null) {
            tryMatch(); // a match that was waiting to see whether the output goes on
        }
        notifyAll();
    }

    /** The outcome of an expect. */
    record Result(boolean matched, String match, boolean ended, String tail) {
    }

    /** Waits for {@code regex} in output not yet consumed; consumes up to the end of the match. */
    Result await(String regex, Duration limit) throws InterruptedException {
        Search search = Search.of(new String(regex.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
        long deadline = System.nanoTime() + limit.toNanos();
        expecting = true;
        onWaiting.run();
        try {
            return awaitLocked(search, deadline);
        } finally {
            expecting = false;
            onWaiting.run();
        }
    }

    private synchronized Result awaitLocked(Search search, long deadline) throws InterruptedException {
        waiting = search;
        resumeAt = head;
        found = null;
        tryMatch();
        try {
            while (found == null && !ended) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            String match = found;
            return new Result(match != null, match == null ? null : utf8(match), ended, utf8(tail()));
        } finally {
            waiting = null;
            found = null;
        }
    }

    private void tryMatch() {
        long from = Math.max(head, resumeAt);
        long[] hit = waiting.find(this, from);
        if (hit[0] >= 0) {
            found = text(hit[0], hit[1]);
            head = hit[1];
            resumeAt = hit[1];
            notifyAll();
        } else {
            resumeAt = Math.max(from, hit[1]);
        }
    }

    private int at(long p) {
        return ring[(int) (p & (ring.length - 1))] & 0xff;
    }

    private String text(long from, long to) {
        byte[] b = new byte[(int) (to - from)];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) at(from + i);
        }
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private String tail() {
        return text(Math.max(head, tail - 2000), tail);
    }

    private static String utf8(String isoChars) {
        return new String(isoChars.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /** What an expect looks for. */
    private sealed interface Search permits Literal, Regex {
        /**
         * Searches the kept output from {@code from} on.
         *
         * @return {start, end} of the first match; or {-1, p}: no match begins before p
         */
        long[] find(OutputWatch w, long from);

        static Search of(String isoChars) {
            for (int i = 0; i < isoChars.length(); i++) {
                if (SPECIAL.indexOf(isoChars.charAt(i)) >= 0) {
                    return new Regex(Pattern.compile(isoChars, Pattern.MULTILINE));
                }
            }
            return isoChars.isEmpty() ? new Regex(Pattern.compile("")) : new Literal(isoChars.getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    /** Boyer-Moore-Horspool over the ring. */
    private record Literal(byte[] needle, int[] skip) implements Search {
        Literal(byte[] needle) {
            this(needle, skips(needle));
        }

        private static int[] skips(byte[] needle) {
            int[] skip = new int[256];
            java.util.Arrays.fill(skip, needle.length);
            for (int i = 0; i < needle.length - 1; i++) {
                skip[needle[i] & 0xff] = needle.length - 1 - i;
            }
            return skip;
        }

        @Override
        public long[] find(OutputWatch w, long from) {
            byte[] ring = w.ring;
            int mask = ring.length - 1;
            int m = needle.length;
            int lastByte = needle[m - 1] & 0xff;
            int[] skip = this.skip;
            long p = from;
            long end = w.tail - m;
            while (p <= end) {
                int i = (int) (p & mask);
                // Where the candidate lies whole before the ring's end: plain int indices, no
                // mask (the loop C1 compiles players' code into is then about twice as fast).
                int last = (int) Math.min(ring.length - m, i + (end - p));
                if (i <= last) {
                    int stop = scan(ring, i, last);
                    if (stop <= last) {
                        long at = p + (stop - i);
                        return new long[]{at, at + m};
                    }
                    p += stop - i;
                    continue;
                }
                // A candidate that wraps around the ring's end.
                int c = ring[(int) ((p + m - 1) & mask)] & 0xff;
                if (c == lastByte && matchesAt(ring, mask, p)) {
                    return new long[]{p, p + m};
                }
                p += skip[c];
            }
            // A match could still begin in the last m - 1 bytes.
            return new long[]{-1, Math.max(from, w.tail - (m - 1))};
        }

        /**
         * Searches for a match beginning in ring indices {@code [from, last]}, none of which
         * reaches past the ring's end. Two cursors, over the stretch's two halves, step in
         * turn: each step is two dependent loads (the byte, its skip), and two chains that do
         * not wait for each other keep the CPU busier than one (docs/PERFORMANCE.md).
         *
         * @return the index where the first match begins, or an index past {@code last} where
         *         the search stopped (what comes after is for the caller)
         */
        private int scan(byte[] ring, int from, int last) {
            int m = needle.length;
            if (last - from < 4 * m) {
                return scanOne(ring, from, last);
            }
            int lastByte = needle[m - 1] & 0xff;
            int[] skip = this.skip;
            int mid = from + (last - from) / 2 + 1; // the second half's first candidate
            int i = from;
            int j = mid;
            while (i < mid && j <= last) {
                int c1 = ring[i + m - 1] & 0xff;
                int c2 = ring[j + m - 1] & 0xff;
                if (c1 == lastByte && matchesAt(ring, i)) {
                    return i;
                }
                if (c2 == lastByte && matchesAt(ring, j)) {
                    break; // j stays on its match
                }
                i += skip[c1];
                j += skip[c2];
            }
            // The first half's rest comes first (an earlier match there wins), then the second's.
            if (i < mid) {
                int first = scanOne(ring, i, mid - 1);
                if (first < mid) {
                    return first;
                }
            }
            return scanOne(ring, j, last);
        }

        /** As {@link #scan}, with one cursor. */
        private int scanOne(byte[] ring, int from, int last) {
            int m = needle.length;
            int lastByte = needle[m - 1] & 0xff;
            int[] skip = this.skip;
            int i = from;
            while (i <= last) {
                int c = ring[i + m - 1] & 0xff;
                if (c == lastByte && matchesAt(ring, i)) {
                    return i;
                }
                i += skip[c];
            }
            return i;
        }

        /** The needle at ring index {@code i}, all of it before the ring's end (its last byte is known to match). */
        private boolean matchesAt(byte[] ring, int i) {
            for (int k = 0; k < needle.length - 1; k++) {
                if (ring[i + k] != needle[k]) {
                    return false;
                }
            }
            return true;
        }

        private boolean matchesAt(byte[] ring, int mask, long p) {
            for (int i = 0; i < needle.length - 1; i++) {
                if (ring[(int) ((p + i) & mask)] != needle[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A regular expression over a view of the ring, resumed from where no match can begin. */
    private record Regex(Pattern pattern) implements Search {
        @Override
        public long[] find(OutputWatch w, long from) {
            Matcher m = pattern.matcher(new Chars(w, w.head, (int) (w.tail - w.head)));
            // Transparent bounds: '^' and look-behinds see the output before the searched part.
            m.useTransparentBounds(true).useAnchoringBounds(false).region((int) (from - w.head), (int) (w.tail - w.head));
            if (m.find()) {
                if (m.requireEnd() && !w.ended) {
                    // '$' (or the like) matched only because the output so far ends there: wait for more.
                    return new long[]{-1, w.head + m.start()};
                }
                return new long[]{w.head + m.start(), w.head + m.end()};
            }
            // hitEnd: some attempt ran into the end, so a match may yet begin shortly before it.
            return new long[]{-1, m.hitEnd() ? Math.max(from, w.tail - OVERLAP) : w.tail};
        }
    }

    /** Kept output as chars, one per byte, without copying it. */
    private record Chars(OutputWatch w, long from, int length) implements CharSequence {
        @Override
        public char charAt(int index) {
            return (char) w.at(from + index);
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Chars(w, from + start, end - start);
        }

        @Override
        public String toString() {
            return w.text(from, from + length);
        }
    }
}
