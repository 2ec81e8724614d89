package dev.conductor.wire;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Consumer;

/**
 * A SHA-256 over bytes that arrive in arrays of their own, computed beside the thread that
 * writes them: the first {@link #INLINE} bytes on the caller's thread (most files are small),
 * the rest on a thread of its own, so that hashing a large file overlaps with receiving and
 * writing it instead of adding to them. An array handed over must not be changed until it is
 * handed back (to the consumer given with it). Arrays go to the thread a megabyte at a time:
 * handed over one frame at a time, the caller and the thread met on the queue's lock 4096 times
 * per GiB, and each time one of them lost and slept, on a virtual machine where waking up is slow.
 */
public final class BackgroundDigest implements AutoCloseable {
    /** Hashed on the caller's thread before the background thread is started. */
    static final long INLINE = 4 << 20;
    /** Bytes handed to the background thread at once. */
    static final int BATCH = 1 << 20;
    /** Batches waiting to be hashed; when full, the caller waits (so memory stays bounded). */
    private static final int QUEUE = 2;
    private static final List<Chunk> END = List.of();

    /**
     * An array to hash and give back, or a block of a file read in place ({@link BulkFileWriter#room})
     * to hash and release, and to add to {@code crc} first when there is one.
     */
    private record Chunk(byte[] bytes, Consumer<byte[]> done, java.nio.ByteBuffer block,
                         java.util.concurrent.CompletableFuture<Void> hashed, java.util.zip.Checksum crc) {
        Chunk(byte[] bytes, Consumer<byte[]> done) {
            this(bytes, done, null, null, null);
        }
    }

    /** Calls that make the JIT compile SHA-256 with its intrinsic: 40 to 50 ms of one CPU here. */
    static final int WARM_UP_CALLS = 10_000;
    private static final java.util.concurrent.atomic.AtomicBoolean WARMED = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Hashes a little, many times, on a thread of its own, once per JVM: for a JVM about to
     * receive a large file. Until the JIT has compiled SHA-256 with the processor's instructions
     * for it, a fresh JVM hashes at a tenth of the speed or less: the first 64 MiB of a file took
     * 1.8 times as long to hash as the same amount later (measured in PERFORMANCE.md).
     */
    public static void warmUp() {
        if (!WARMED.compareAndSet(false, true)) {
            return;
        }
        Thread.ofPlatform().daemon().name("sha256-warm-up").start(() -> {
            long t0 = System.nanoTime();
            java.nio.ByteBuffer small = java.nio.ByteBuffer.allocateDirect(256);
            MessageDigest md = FileTransfer.sha256();
            for (int i = 0; i < WARM_UP_CALLS; i++) {
                md.update(small.clear());
            }
            md.digest();
            org.slf4j.LoggerFactory.getLogger(BackgroundDigest.class).debug("SHA-256 warmed up in {} ms",
                    (System.nanoTime() - t0) / 1_000_000);
        });
    }

    private final MessageDigest sha = FileTransfer.sha256();
    private BlockingQueue<List<Chunk>> queue;
    /** Arrays not yet handed to the thread. */
    private List<Chunk> batch = new ArrayList<>();
    private long batchBytes;
    private Thread thread;
    private long inline;
    private volatile boolean closed;

    /** Hashes {@code b}, now or soon, then hands it to {@code done} (on whichever thread hashed it). */
    void update(byte[] b, Consumer<byte[]> done) throws InterruptedException {
        if (thread == null && inline + b.length <= INLINE) {
            sha.update(b);
            inline += b.length;
            done.accept(b);
            return;
        }
        start();
        batch.add(new Chunk(b, done));
        batchBytes += b.length;
        if (batchBytes >= BATCH) {
            handOver();
        }
    }

    /**
     * Hashes a block of the file, after everything given before, and adds it to {@code crc}
     * first when there is one (on this digest's thread, which waits for the reader of the
     * connection more than the reader waits for it: the caller must not touch {@code crc} again
     * until {@link #hex} has returned); completes {@code hashed} when done (exceptionally when
     * this digest is closed first). A {@link BulkFileWriter.BlockStage}'s work.
     */
    void update(java.nio.ByteBuffer block, java.util.concurrent.CompletableFuture<Void> hashed,
                java.util.zip.Checksum crc) throws InterruptedException {
        start();
        handOver();
        batch.add(new Chunk(null, null, block, hashed, crc));
        handOver();
    }

    private void start() {
        if (thread == null) {
            queue = new ArrayBlockingQueue<>(QUEUE);
            thread = Thread.ofPlatform().daemon().name("sha256").start(this::hashAll);
        }
    }

    private void handOver() throws InterruptedException {
        if (batch.isEmpty()) {
            return;
        }
        while (!queue.offer(batch, 1, java.util.concurrent.TimeUnit.SECONDS)) {
            if (!thread.isAlive()) {
                throw new IllegalStateException("the sha256 thread ended before the file did");
            }
        }
        batch = new ArrayList<>();
        batchBytes = 0;
    }

    private void hashAll() {
        try {
            List<Chunk> chunks;
            while ((chunks = queue.take()) != END) {
                for (Chunk c : chunks) {
                    if (closed) {
                        if (c.hashed() != null) {
                            c.hashed().completeExceptionally(new java.util.concurrent.CancellationException("the transfer ended"));
                        }
                    } else if (c.block() != null) {
                        if (c.crc() != null) {
                            c.crc().update(c.block().duplicate());
                        }
                        sha.update(c.block());
                        c.hashed().complete(null);
                    } else {
                        sha.update(c.bytes());
                        c.done().accept(c.bytes());
                    }
                }
            }
        } catch (InterruptedException e) {
            // Closed: the digest is not wanted any more.
        } catch (RuntimeException | Error e) {
            failWaiting(e);
            throw e;
        }
        failWaiting(new java.util.concurrent.CancellationException("the transfer ended"));
    }

    /** Blocks still waiting for their hash are told it will not come, so that no writer waits for it. */
    private void failWaiting(Throwable why) {
        List<Chunk> chunks;
        while (queue != null && (chunks = queue.poll()) != null) {
            for (Chunk c : chunks) {
                if (c.hashed() != null) {
                    c.hashed().completeExceptionally(why);
                }
            }
        }
    }

    /** The digest of everything given, in hex, once the background thread has hashed it all. */
    String hex() throws InterruptedException {
        if (thread != null) {
            handOver();
            queue.put(END); // cannot block for long: the thread takes one array per hash
            thread.join(java.time.Duration.ofMinutes(1)); // at most QUEUE arrays are left to hash
            if (thread.isAlive()) {
                throw new IllegalStateException("the sha256 of the last " + QUEUE + " megabytes took over a minute");
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
        failWaiting(new java.util.concurrent.CancellationException("the transfer ended"));
        for (Chunk c : batch) {
            if (c.hashed() != null) {
                c.hashed().completeExceptionally(new java.util.concurrent.CancellationException("the transfer ended"));
            }
        }
        batch.clear();
    }
}
