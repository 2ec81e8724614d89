package dev.conductor.player;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The output of one spawned step as {@code expect} sees it: fed chunk by chunk by the reader
 * threads, it keeps the output not yet consumed by a match (at most {@link #KEEP} bytes) and
 * wakes a waiting expect as soon as a chunk completes its match. No polling: a match is tried
 * only when output arrives, and only over the new bytes plus {@link #OVERLAP} before them, so a
 * match can span chunk boundaries and the work stays proportional to the output.
 *
 * <p>Bytes are held one char per byte (ISO-8859-1), so a chunk boundary never splits a
 * character; expressions are converted the same way, which keeps ASCII and literal UTF-8 text
 * exact. Character classes of non-ASCII characters are not supported.
 */
final class OutputWatch {
    /** Unconsumed output kept for a later expect. */
    static final int KEEP = 1 << 20;
    /** How far back before new output a match may begin. */
    static final int OVERLAP = 64 * 1024;

    private final StringBuilder window = new StringBuilder();
    private long total;
    private boolean ended;
    private Matcher waiting;
    private int scanFrom;
    private String found;

    synchronized void feed(byte[] buf, int off, int len) {
        window.append(new String(buf, off, len, StandardCharsets.ISO_8859_1));
        total += len;
        if (waiting != null && found == null) {
            tryMatch();
        }
        if (window.length() > KEEP && waiting == null) {
            window.delete(0, window.length() - KEEP / 2);
            scanFrom = 0;
        }
    }

    synchronized void end() {
        ended = true;
        notifyAll();
    }

    /** The outcome of an expect. */
    record Result(boolean matched, String match, boolean ended, String tail) {
    }

    /** Waits for {@code regex} in output not yet consumed; consumes up to the end of the match. */
    Result await(String regex, Duration limit) throws InterruptedException {
        Pattern p = Pattern.compile(new String(regex.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1),
                Pattern.MULTILINE);
        long deadline = System.nanoTime() + limit.toNanos();
        synchronized (this) {
            waiting = p.matcher(window);
            scanFrom = 0;
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
                if (match == null && ended) {
                    tryMatch(); // output that came with the end
                    match = found;
                }
                return new Result(match != null, match == null ? null : utf8(match), ended, utf8(tail()));
            } finally {
                waiting = null;
                found = null;
            }
        }
    }

    private void tryMatch() {
        int from = Math.max(0, scanFrom - OVERLAP);
        Matcher m = waiting.reset(window);
        m.region(from, window.length());
        if (m.find()) {
            found = window.substring(m.start(), m.end());
            window.delete(0, m.end());
            scanFrom = 0;
            notifyAll();
        } else {
            scanFrom = window.length();
        }
    }

    private String tail() {
        int n = Math.min(window.length(), 2000);
        return window.substring(window.length() - n);
    }

    private static String utf8(String isoChars) {
        return new String(isoChars.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }
}
