package dev.conductor.player;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Keeps the last {@code capacity} bytes written to it and counts all of them, so a step that
 * prints gigabytes costs a fixed amount of memory and the report still shows how it ended.
 *
 * <p>Its array grows with what is written, up to {@code capacity}: most steps print a line or
 * nothing, and a player that took {@code capacity} for each of every step's two streams made
 * garbage fast enough to collect it every few phases, each collection a pause that could fall
 * on a start (docs/PERFORMANCE.md).
 */
final class OutputTail {
    private static final int FIRST = 256;
    private final int capacity;
    /** Up to {@code capacity} bytes: written from 0 on while they fit, a ring of {@code capacity} after. */
    private byte[] ring = new byte[0];
    private long total;

    OutputTail(int capacity) {
        this.capacity = capacity;
    }

    synchronized void write(byte[] buf, int off, int len) {
        if (total + len <= capacity) {
            int end = (int) total + len;
            if (end > ring.length) {
                ring = Arrays.copyOf(ring, Math.min(capacity, Math.max(end, Math.max(FIRST, ring.length * 2))));
            }
            System.arraycopy(buf, off, ring, (int) total, len);
            total = end;
            return;
        }
        if (ring.length < capacity) {
            // Everything so far sits at [0, total), total < capacity: where a ring keeps it too.
            ring = Arrays.copyOf(ring, capacity);
        }
        int cap = capacity;
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
        return total > capacity;
    }

    synchronized byte[] bytes() {
        if (total <= capacity) {
            return Arrays.copyOf(ring, (int) total);
        }
        int cap = capacity;
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
