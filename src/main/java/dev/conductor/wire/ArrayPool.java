package dev.conductor.wire;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Arrays of one size, lent for data frames' bytes and given back once written and hashed, from
 * any thread. A new array of 256 KiB is allocated outside the JVM's thread-local buffers and
 * zeroed before use: per frame of a gigabyte's get that was a sixth of the reading thread's time.
 * At most {@code kept} arrays wait here; the rest are left to the collector. Lock-free: the
 * thread giving back must never make the taking one sleep.
 */
public final class ArrayPool {
    private final int size;
    private final int kept;
    private final ConcurrentLinkedQueue<byte[]> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger count = new AtomicInteger();

    public ArrayPool(int size, int kept) {
        this.size = size;
        this.kept = kept;
    }

    /** An array of {@code length} bytes: one given back when there is one of that size, else a new one. */
    public byte[] take(int length) {
        byte[] b = length == size ? free.poll() : null;
        if (b == null) {
            return new byte[length];
        }
        count.decrementAndGet();
        return b;
    }

    /** Takes an array back for a later {@link #take}; the caller must not touch it afterwards. */
    public void give(byte[] b) {
        if (b.length == size && count.incrementAndGet() <= kept) {
            free.offer(b);
        } else if (b.length == size) {
            count.decrementAndGet();
        }
    }
}
