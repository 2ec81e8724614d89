package dev.conductor.player;

import java.nio.charset.StandardCharsets;

/**
 * Keeps the last {@code capacity} bytes written to it and counts all of them, so a step that
 * prints gigabytes costs a fixed amount of memory and the report still shows how it ended.
 */
final class OutputTail {
    private final byte[] ring;
    private long total;

    OutputTail(int capacity) {
        this.ring = new byte[capacity];
    }

    synchronized void write(byte[] buf, int off, int len) {
        int cap = ring.length;
        if (len >= cap) {
            total += len;
            // Only the last cap bytes survive; place them so the oldest sits at total % cap.
            int start = (int) (total % cap);
            int tail = off + len - cap;
            System.arraycopy(buf, tail, ring, start, cap - start);
            System.arraycopy(buf, tail + cap - start, ring, 0, start);
            return;
        }
        int start = (int) (total % cap);
        int first = Math.min(len, cap - start);
        System.arraycopy(buf, off, ring, start, first);
        System.arraycopy(buf, off + first, ring, 0, len - first);
        total += len;
    }

    synchronized long total() {
        return total;
    }

    /** True when more was written than is kept. */
    synchronized boolean truncated() {
        return total > ring.length;
    }

    synchronized byte[] bytes() {
        int cap = ring.length;
        if (total <= cap) {
            byte[] out = new byte[(int) total];
            System.arraycopy(ring, 0, out, 0, (int) total);
            return out;
        }
        int start = (int) (total % cap);
        byte[] out = new byte[cap];
        System.arraycopy(ring, start, out, 0, cap - start);
        System.arraycopy(ring, 0, out, cap - start, start);
        return out;
    }

    /** The kept bytes as text; a multi-byte character cut at the start becomes U+FFFD. */
    String text() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }
}
