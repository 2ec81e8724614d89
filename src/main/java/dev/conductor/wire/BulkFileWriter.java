package dev.conductor.wire;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A new file written from start to end, for bulk data (the files of {@code get} and
 * {@code put}, the conductor's transcripts of output). Its first {@link #BUFFERED} bytes go through the page cache as any write does,
 * so that the many small files stay cached; past that, the rest goes in blocks of
 * {@link #BLOCK} bytes that bypass the page cache ({@code O_DIRECT}) where the file system
 * allows it, and through the page cache where it does not (tmpfs, say).
 *
 * <p>Why: a file of gigabytes written through the page cache costs every page of it fresh
 * memory, which on a virtual machine whose memory the host hands out lazily costs about 4 s per
 * GiB (see docs/PERFORMANCE.md); and it pushes out what the machine had cached. Written around
 * the cache, the same GiB takes a third of a second. The bytes on disk are the same either way,
 * and the file is complete when {@link #close} returns; {@link #flush} makes what was written so
 * far visible to readers of the file at once.
 *
 * <p>Once the first block has gone around the cache, each further block is written by a thread
 * of the writer's own while the caller fills the next: a write around the cache waits for the
 * disk (a third of a second per GiB here), and a caller that also reads a socket would otherwise
 * stop reading for that long. An error of such a write is thrown by the next call.
 */
public final class BulkFileWriter extends OutputStream {
    /** Written through the page cache before the writer goes around it. A multiple of any block size. */
    static final int BUFFERED = 4 << 20;
    /** What each write around the page cache carries. */
    static final int BLOCK = 4 << 20;
    /** Blocks of a writer: one filling, the other being written. */
    static final int BLOCKS = 2;
    /**
     * Blocks of a writer whose blocks pass a stage too ({@link #commit}): one filling, two in the
     * stage and on their way to the disk, one to spare for the stage's and the disk's hiccups.
     */
    static final int STAGED_BLOCKS = 4;

    private final Path path;
    private final FileChannel channel;
    private FileChannel direct;
    private ByteBuffer block;
    private int align;
    /** Bytes in the file so far, not counting those waiting in {@link #block}. */
    private long written;
    private boolean directRefused;
    private boolean closed;
    /** Writes full blocks around the cache, one at a time; null until the first block went through. */
    private java.util.concurrent.ExecutorService blockWriter;
    /** Blocks handed to {@link #blockWriter}, oldest first, each with its write. */
    private final java.util.ArrayDeque<InFlight> inFlight = new java.util.ArrayDeque<>();
    /** Blocks made, {@link #block} included. */
    private int blocks = 1;
    /** Blocks free to fill. */
    private final java.util.ArrayDeque<ByteBuffer> spares = new java.util.ArrayDeque<>();

    private record InFlight(ByteBuffer block, java.util.concurrent.Future<?> write) {
    }

    /**
     * What each block filled in place ({@link #room}, {@link #commit}) goes through while it is
     * written, such as a SHA-256 on a thread of its own; null until the first such block.
     */
    private BlockStage stage;

    /** A step every block of bytes read in place goes through while it is written. */
    @FunctionalInterface
    public interface BlockStage {
        /**
         * Takes the block's bytes (a view of their own, which it may read until it completes
         * {@code done}) while the block is written; the block is filled again once both are
         * done, and the file fails if {@code done} completes exceptionally.
         */
        void take(ByteBuffer bytes, java.util.concurrent.CompletableFuture<Void> done) throws InterruptedException;
    }

    private BulkFileWriter(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** Creates (or empties) {@code path} and opens it for writing. */
    public static BulkFileWriter create(Path path) throws IOException {
        return new BulkFileWriter(path, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING));
    }

    /** For tests: whether bytes are going around the page cache now. */
    boolean direct() {
        return direct != null;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[]{(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException(path + " is closed");
        }
        if (stage != null && len > 0) {
            throw new IllegalStateException(path + ": bytes from an array after bytes read in place would miss the stage");
        }
        while (len > 0) {
            if (block == null && written >= BUFFERED && !directRefused) {
                openDirect();
            }
            if (block == null) {
                // Through the page cache: up to where the writer would go around it.
                int n = directRefused ? len : (int) Math.min(len, BUFFERED - written);
                writeFully(channel, ByteBuffer.wrap(b, off, n), written);
                written += n;
                off += n;
                len -= n;
                continue;
            }
            int n = Math.min(len, block.remaining());
            block.put(b, off, n);
            off += n;
            len -= n;
            if (!block.hasRemaining()) {
                writeBlock();
            }
        }
    }

    /**
     * Whether the next bytes can be read straight into the block being filled ({@link #room}):
     * once blocks go around the page cache on a thread of their own, from the start of a block
     * on. Then the bytes reach the disk without a copy through the JVM's heap.
     */
    public boolean fillsInPlace() {
        return !closed && blockWriter != null && (stage != null || block.position() == 0);
    }

    /**
     * Room for up to {@code most} bytes in the block being filled: the caller reads the file's
     * next bytes into it (from its position) and then {@link #commit}s them.
     */
    public ByteBuffer room(int most) {
        if (!fillsInPlace()) {
            throw new IllegalStateException(path + " is not filled in place");
        }
        return block.slice(block.position(), Math.min(most, block.remaining()));
    }

    /**
     * The {@code n} bytes read into the {@link #room} are the file's next; a block they fill
     * goes through {@code stage} and to the disk at once. Every byte after the first committed one
     * must come this way.
     */
    public void commit(int n, BlockStage stage) throws IOException {
        if (!fillsInPlace() || n > block.remaining()) {
            throw new IllegalStateException(path + ": " + n + " bytes committed out of place");
        }
        this.stage = stage;
        block.position(block.position() + n);
        if (!block.hasRemaining()) {
            writeBlock();
        }
    }

    private void openDirect() {
        try {
            align = DirectIo.alignment(path);
            if (BLOCK % align != 0 || written % align != 0) {
                directRefused = true;
                return;
            }
            direct = DirectIo.open(path, StandardOpenOption.WRITE);
            if (direct == null) {
                directRefused = true;
                return;
            }
            block = DirectIo.block(BLOCK, align);
        } catch (IOException | OutOfMemoryError e) {
            // No O_DIRECT here (tmpfs refuses it), or no direct memory to spare: the page cache it is.
            closeQuietly(direct);
            direct = null;
            block = null;
            directRefused = true;
        }
    }

    /** Writes the full block around the page cache; should the file system refuse, through it. */
    private void writeBlock() throws IOException {
        block.flip();
        if (blockWriter != null) {
            ByteBuffer full = block;
            long at = written;
            written += full.limit();
            Runnable write = () -> {
                try {
                    writeFully(direct, full, at);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            // The stage and the disk only read the block: both at once, and the block is free
            // when both are done. One after the other, the disk waited for each block's hash.
            java.util.concurrent.CompletableFuture<Void> hashed = staged(full);
            java.util.concurrent.CompletableFuture<Void> onDisk = java.util.concurrent.CompletableFuture.runAsync(write, blockWriter);
            inFlight.add(new InFlight(full, java.util.concurrent.CompletableFuture.allOf(hashed, onDisk)));
            if (spares.isEmpty() && stage != null && blocks < STAGED_BLOCKS) {
                try {
                    spares.add(DirectIo.block(BLOCK, align));
                    blocks++;
                } catch (OutOfMemoryError e) {
                    // No direct memory to spare: the blocks there are will do.
                }
            }
            if (spares.isEmpty()) {
                awaitOldest();
            }
            block = spares.poll();
            block.clear().limit(BLOCK);
            return;
        }
        try {
            writeFully(direct, block, written);
        } catch (IOException e) {
            if (written > BUFFERED) {
                throw e; // blocks went around the cache already: this is a real write error
            }
            // Refused on the first block (EINVAL from a file system that opens O_DIRECT but cannot do it).
            block.rewind();
            writeFully(channel, block, written);
            closeQuietly(direct);
            direct = null;
            directRefused = true;
        }
        written += block.limit();
        if (directRefused) {
            block = null;
            return;
        }
        block.clear().limit(BLOCK);
        try {
            for (int i = 1; i < BLOCKS; i++) {
                spares.add(DirectIo.block(BLOCK, align));
                blocks++;
            }
        } catch (OutOfMemoryError e) {
            if (spares.isEmpty()) {
                return; // no direct memory for a second block: the blocks are written by the caller, as the first was
            }
        }
        blockWriter = java.util.concurrent.Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("bulk-writer").unstarted(r));
    }

    /** A block's bytes through the {@link #stage}, or at once without one. */
    private java.util.concurrent.CompletableFuture<Void> staged(ByteBuffer full) throws IOException {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        if (stage == null) {
            done.complete(null);
            return done;
        }
        try {
            stage.take(full.duplicate(), done);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while handing on a block of " + path);
        }
        return done;
    }

    /** Waits for every block being written, and throws what a write threw. */
    private void awaitInFlight() throws IOException {
        while (!inFlight.isEmpty()) {
            awaitOldest();
        }
    }

    /** Waits for the oldest block being written, which is then free to fill again. */
    private void awaitOldest() throws IOException {
        InFlight oldest = inFlight.poll();
        try {
            oldest.write().get();
            spares.add(oldest.block());
        } catch (java.util.concurrent.ExecutionException e) {
            throw asIo(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while writing " + path);
        }
    }

    private IOException asIo(Throwable t) {
        return switch (t) {
            case IOException io -> io;
            case java.io.UncheckedIOException u -> u.getCause();
            default -> new IOException("writing " + path + " failed: " + t, t);
        };
    }

    /**
     * Makes every byte written so far readable in the file: a block still being filled is
     * written through the page cache where it will go; the block's own write, around the cache,
     * covers those bytes again later (the kernel drops the cached copy first).
     */
    @Override
    public void flush() throws IOException {
        if (!closed) {
            awaitInFlight();
        }
        if (!closed && block != null && block.position() > 0) {
            writeFully(channel, block.duplicate().flip(), written);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        long pos = at;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    /** Writes what is left: whole blocks of the file system's size around the page cache, the tail through it. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            awaitInFlight();
            if (stage != null && block != null && block.position() > 0) {
                awaitStaged(staged(block.duplicate().flip()));
            }
            if (block != null && block.position() > 0) {
                int n = block.position();
                int whole = n - n % align;
                block.flip();
                if (whole > 0) {
                    block.limit(whole);
                    writeFully(direct, block, written);
                    written += whole;
                }
                block.limit(n);
                writeFully(channel, block, written);
                written += n - whole;
            }
        } finally {
            block = null;
            spares.clear();
            inFlight.clear();
            if (blockWriter != null) {
                blockWriter.shutdownNow(); // idle unless a failure above left a write running; closing its channel ends it
            }
            closeQuietly(direct);
            channel.close();
        }
    }

    private void awaitStaged(java.util.concurrent.CompletableFuture<Void> done) throws IOException {
        try {
            done.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw asIo(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while closing " + path);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // Nothing written through it is lost: the data went by the other channel or is reported.
            }
        }
    }
}
