package dev.conductor.player;

import dev.conductor.wire.DirectIo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Bytes kept on disk until they can be sent: appended at the end, read back from anywhere
 * before it. An unnamed file (deleted as soon as it is open, so that nothing is left behind
 * even if the player is killed), written and read in {@link #BLOCK}-byte blocks around the page
 * cache ({@code O_DIRECT}) where the file system allows it, through it elsewhere: fresh page
 * cache costs about 4 s per GiB on the machines this was measured on (docs/PERFORMANCE.md).
 *
 * <p>Full blocks are written by a thread of the file's own, so that appending costs a copy and
 * not the disk's latency; at most {@link #IN_FLIGHT} blocks wait for the disk before an append
 * waits for them. The block being filled and those not yet written stay readable from memory.
 */
final class SpillFile implements AutoCloseable {
    static final int BLOCK = 4 << 20;
    static final int IN_FLIGHT = 2;

    private final FileChannel channel;
    private final int align;
    private ByteBuffer tail;
    private final ByteBuffer read;
    /** Blocks handed to the writer so far: block {@code filled} is {@link #tail}. */
    private long filled;
    /** Blocks handed to the writer and not yet on disk, by number. */
    private final Map<Long, ByteBuffer> pending = new HashMap<>();
    private final ArrayDeque<Long> queue = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    /** Which block {@link #read} holds, or -1. */
    private long readBlock = -1;
    private IOException failure;
    private boolean closed;
    private final Thread writer;

    private SpillFile(FileChannel channel, int align) {
        this.channel = channel;
        this.align = align;
        this.tail = block();
        this.read = DirectIo.block(BLOCK, align);
        // Every block it will ever use, now: an append then never fails half-way for want of memory.
        for (int i = 0; i < IN_FLIGHT; i++) {
            free.add(block());
        }
        this.writer = Thread.ofPlatform().daemon().name("spill-writer").start(this::writeBlocks);
    }

    private ByteBuffer block() {
        return DirectIo.block(BLOCK, align);
    }

    /** A new spill file in {@code folder}. */
    static SpillFile in(Path folder) throws IOException {
        Path p = Files.createTempFile(folder, "conductor-spool-", ".out");
        try {
            int align = DirectIo.alignment(p);
            if (BLOCK % align != 0) {
                align = 4096;
            }
            FileChannel ch = DirectIo.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (ch == null) {
                ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
            try {
                return new SpillFile(ch, align);
            } catch (OutOfMemoryError e) {
                ch.close(); // no direct memory for its blocks: the caller keeps output in memory instead
                throw e;
            }
        } finally {
            Files.deleteIfExists(p);
        }
    }

    /** Bytes appended so far. */
    synchronized long end() {
        return filled * BLOCK + tail.position();
    }

    /**
     * Appends all of {@code b[off, off + len)}, or (a write of an earlier block failed, or the
     * file is closed) none of it.
     */
    synchronized void append(byte[] b, int off, int len) throws IOException {
        if (failure != null) {
            throw failure;
        }
        if (closed) {
            throw new IOException("spill file closed");
        }
        while (len > 0) {
            int n = Math.min(len, tail.remaining());
            tail.put(b, off, n);
            off += n;
            len -= n;
            if (!tail.hasRemaining()) {
                // Wait for room among the blocks in flight (the disk is slower than the step). A
                // failed or closed writer takes no more: the block then stays in memory, readable.
                while (pending.size() >= IN_FLIGHT && failure == null && !closed) {
                    try {
                        wait(1000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt(); // keep the block: what was appended stays whole
                        break;
                    }
                }
                tail.flip();
                pending.put(filled, tail);
                queue.add(filled);
                filled++;
                tail = free.isEmpty() ? block() : free.poll(); // empty only after an interrupted wait
                tail.clear().limit(BLOCK);
                notifyAll();
            }
        }
    }

    private void writeBlocks() {
        while (true) {
            long n;
            ByteBuffer b;
            synchronized (this) {
                while (queue.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                n = queue.peek();
                b = pending.get(n).duplicate();
            }
            try {
                long at = n * BLOCK;
                while (b.hasRemaining()) {
                    at += channel.write(b, at);
                }
            } catch (IOException e) {
                synchronized (this) {
                    failure = e;
                    notifyAll();
                }
                return;
            }
            synchronized (this) {
                queue.poll();
                ByteBuffer done = pending.remove(n);
                if (free.size() < IN_FLIGHT + 1) {
                    free.add(done);
                }
                notifyAll();
            }
        }
    }

    /** Copies up to {@code max} bytes from offset {@code pos} (before {@link #end}) into {@code dst}; returns how many. */
    synchronized int read(long pos, byte[] dst, int dstOff, int max) throws IOException {
        long block = pos / BLOCK;
        int from = (int) (pos - block * BLOCK);
        if (block == filled) {
            int n = Math.min(max, tail.position() - from);
            tail.get(from, dst, dstOff, n);
            return n;
        }
        ByteBuffer inMemory = pending.get(block);
        ByteBuffer source;
        if (inMemory != null) {
            source = inMemory;
        } else {
            if (block != readBlock) {
                read.clear();
                long at = block * BLOCK;
                while (read.hasRemaining()) {
                    int got = channel.read(read, at + read.position());
                    if (got < 0) {
                        throw new IOException("spill file ended at " + (at + read.position()) + " bytes, before block "
                                + block + " was whole");
                    }
                }
                readBlock = block;
            }
            source = read;
        }
        int n = Math.min(max, BLOCK - from);
        source.get(from, dst, dstOff, n);
        return n;
    }

    /** Forgets everything (all of it was sent): once the blocks in flight are written, the file is emptied. */
    synchronized void reset() throws IOException {
        while (!pending.isEmpty() && failure == null && !closed) {
            try {
                wait(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while emptying the spill file");
            }
        }
        channel.truncate(0);
        filled = 0;
        readBlock = -1;
        tail.clear().limit(BLOCK);
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        writer.interrupt();
        try {
            writer.join(java.time.Duration.ofSeconds(5)); // a write in progress is one block
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // Unnamed: the space goes with the last descriptor.
        }
    }
}
