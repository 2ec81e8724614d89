package dev.conductor.wire;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A SHA-256 over bytes that arrive in arrays of their own, computed beside the thread that
 * writes them: the first {@link #INLINE} bytes on the caller's thread (most files are small),
 * the rest on a thread of its own, so that hashing a large file overlaps with receiving and
 * writing it instead of adding to them. The arrays handed over must not be changed afterwards.
 */
final class BackgroundDigest implements AutoCloseable {
    /** Hashed on the caller's thread before the background thread is started. */
    static final long INLINE = 4 << 20;
    /** Arrays waiting to be hashed; when full, the caller waits (so memory stays bounded). */
    private static final int QUEUE = 8;
    private static final byte[] END = new byte[0];

    private final MessageDigest sha = FileTransfer.sha256();
    private BlockingQueue<byte[]> queue;
    private Thread thread;
    private long inline;
    private volatile boolean closed;

    /** Hashes {@code b}, now or soon. */
    void update(byte[] b) throws InterruptedException {
        if (thread == null && inline + b.length <= INLINE) {
            sha.update(b);
            inline += b.length;
            return;
        }
        if (thread == null) {
            queue = new ArrayBlockingQueue<>(QUEUE);
            thread = Thread.ofPlatform().daemon().name("sha256").start(this::hashAll);
        }
        while (!queue.offer(b, 1, java.util.concurrent.TimeUnit.SECONDS)) {
            if (!thread.isAlive()) {
                throw new IllegalStateException("the sha256 thread ended before the file did");
            }
        }
    }

    private void hashAll() {
        try {
            byte[] b;
            while ((b = queue.take()) != END && !closed) {
                sha.update(b);
            }
        } catch (InterruptedException e) {
            // Closed: the digest is not wanted any more.
        }
    }

    /** The digest of everything given, in hex, once the background thread has hashed it all. */
    String hex() throws InterruptedException {
        if (thread != null) {
            queue.put(END); // cannot block for long: the thread takes one array per hash
            thread.join(java.time.Duration.ofMinutes(1)); // at most QUEUE arrays are left to hash
            if (thread.isAlive()) {
                throw new IllegalStateException("the sha256 of the last " + QUEUE + " chunks took over a minute");
            }
            thread = null;
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Stops hashing (the transfer failed): the background thread ends at once. */
    @Override
    public void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
