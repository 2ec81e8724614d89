package dev.conductor.player;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

/**
 * The output of one stream of a spawned step on its way to the conductor, so that an
 * {@code expect} on it runs at the speed of the pipe rather than of the link. While nothing is
 * waiting, each chunk is sent at once by the thread that read it (TCP's flow control then holds
 * the step back when the conductor is slower, as for any step). While an expect waits on the
 * step, chunks are kept instead and sent by a thread of their own, in order: the first
 * {@link #MEMORY} bytes in memory, the rest in a {@link SpillFile}. Kept output keeps going out
 * as long as little of it waits; once more than {@link #MEMORY} waits (the step prints faster
 * than the link carries), sending stops until the expect is over, so that the CPUs go to
 * reading and matching, and then resumes. Nothing is dropped: a phase's end, a spawned step's
 * exit and the player's answer wait until what was read before has been sent.
 */
final class OutputSpool implements AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(OutputSpool.class);
    /** Output kept in memory before it goes to disk; past it, sending waits for the expect. */
    static final int MEMORY = 4 << 20;
    /**
     * The most a spill file holds: 2 GiB, and never more than a quarter of the disk space free
     * when it is made. When it is full, kept output goes out while the expect still waits, and
     * the reader waits for the link again: an expect that never matches a flood cannot fill
     * the disk.
     */
    static final long SPILL_MAX = 2L << 30;

    /** Sends {@code len} bytes at {@code off} of {@code buf}, with {@link StepRunner#HEADROOM} free bytes before them. */
    interface Sink {
        void send(byte[] buf, int off, int len) throws IOException;
    }

    private final Sink sink;
    private final Path spillFolder;
    private final BooleanSupplier expectWaiting;
    private final String name;
    /**
     * What waits to be sent, oldest first: chunks in memory ({@code byte[]}, {@code HEADROOM}
     * bytes then the output) and stretches of {@link #spill} ({@code long[]{end}}: from where
     * sending has got to in the file, {@link #spillSent}, to {@code end}).
     */
    private final ArrayDeque<Object> queue = new ArrayDeque<>();
    private long memoryBytes;
    private SpillFile spill;
    /** Where in {@link #spill} sending has got to. */
    private long spillSent;
    private boolean spillRefused;
    private final long spillMax;
    private long spillCap;
    /** The reader waits for room in the spill file: sending must not wait for the expect then. */
    private boolean spillFull;
    private long spilledPeak;
    /** The sender thread is sending a chunk taken from here. */
    private boolean sending;
    private long offered;
    private long sent;
    private boolean ended;
    private boolean closed;
    private Thread sender;

    /**
     * @param expectWaiting whether an expect waits on this step now; {@link #expectChanged} must be
     *                      called when that changes
     * @param name          for the sender thread and messages, e.g. {@code stdout of step 3}
     */
    OutputSpool(Sink sink, Path spillFolder, BooleanSupplier expectWaiting, String name) {
        this(sink, spillFolder, expectWaiting, name, SPILL_MAX);
    }

    /** For tests: a smaller spill file. */
    OutputSpool(Sink sink, Path spillFolder, BooleanSupplier expectWaiting, String name, long spillMax) {
        this.spillMax = spillMax;
        this.sink = sink;
        this.spillFolder = spillFolder;
        this.expectWaiting = expectWaiting;
        this.name = name;
    }

    /** A chunk read from the pipe (the reader's buffer, free again when this returns). */
    void output(byte[] buf, int off, int len) throws IOException {
        boolean now;
        synchronized (this) {
            if (closed) {
                return;
            }
            now = !expectWaiting.getAsBoolean() && queue.isEmpty() && !sending;
            if (!now) {
                keep(buf, off, len);
                offered += len;
                if (sender == null) {
                    sender = Thread.ofPlatform().daemon().name("spool-" + name).start(this::sendKept);
                } else if (!held()) {
                    // Only when the sender may go: waking it for every chunk it must not send yet
                    // (an expect waits, much is kept) cost the reader a wake-up per chunk.
                    notifyAll();
                }
            }
        }
        if (now) {
            sink.send(buf, off, len);
            synchronized (this) {
                offered += len;
                sent += len;
            }
        }
    }

    private long spilled() {
        return spill == null ? 0 : spill.end() - spillSent;
    }

    private void keep(byte[] buf, int off, int len) throws IOException {
        boolean spilling = queue.peekLast() instanceof long[];
        if (spillRefused || !spilling && memoryBytes + len <= MEMORY) {
            keepInMemory(buf, off, len);
            return;
        }
        try {
            if (spill == null) {
                spill = SpillFile.in(spillFolder);
                spillCap = Math.min(spillMax, java.nio.file.Files.getFileStore(spillFolder).getUsableSpace() / 4);
            }
            while (!closed && spilled() > 0 && spilled() + len > spillCap) {
                spillFull = true; // what is kept goes out now, expect or not
                notifyAll();
                try {
                    wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            spillFull = false;
            if (closed) {
                return;
            }
            spill.append(buf, off, len);
            spilledPeak = Math.max(spilledPeak, spilled());
            if (queue.peekLast() instanceof long[] stretch) {
                stretch[0] = spill.end();
            } else {
                queue.add(new long[]{spill.end()});
            }
        } catch (IOException | OutOfMemoryError e) {
            // No disk (or no direct memory) for it: keep it in memory and stop reading until it is sent.
            spillRefused = true;
            keepInMemory(buf, off, len);
        }
    }

    private void keepInMemory(byte[] buf, int off, int len) {
        byte[] chunk = new byte[StepRunner.HEADROOM + len];
        System.arraycopy(buf, off, chunk, StepRunner.HEADROOM, len);
        queue.add(chunk);
        memoryBytes += len;
        if (spillRefused) {
            awaitRoom();
        }
    }

    /** Holds the reader back while memory is full and nothing can go to disk (the sender is not held then). */
    private void awaitRoom() {
        while (!closed && memoryBytes > MEMORY) {
            try {
                wait(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Whether kept output should wait: an expect waits and more than {@link #MEMORY} is kept. */
    private boolean held() {
        return expectWaiting.getAsBoolean() && memoryBytes + spilled() > MEMORY && !ended && !spillRefused && !spillFull;
    }

    /** For tests: the most the spill file held unsent. */
    synchronized long spilledPeak() {
        return spilledPeak;
    }

    /** The stream ended and all of it went out (or the spool was closed). */
    synchronized boolean done() {
        return closed || ended && offered == sent;
    }

    private void sendKept() {
        byte[] fromDisk = null;
        while (true) {
            byte[] chunk;
            int off = StepRunner.HEADROOM;
            int len;
            synchronized (this) {
                while (!closed && (queue.isEmpty() || held())) {
                    if (ended && queue.isEmpty()) {
                        return;
                    }
                    try {
                        wait(1000); // woken by output, by the expect's end, by close
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                sending = true;
                if (queue.peek() instanceof byte[] kept) {
                    queue.poll();
                    chunk = kept;
                    len = chunk.length - StepRunner.HEADROOM;
                    memoryBytes -= len;
                } else {
                    long end = ((long[]) queue.peek())[0];
                    if (fromDisk == null) {
                        fromDisk = new byte[StepRunner.HEADROOM + StepRunner.CHUNK];
                    }
                    chunk = fromDisk;
                    try {
                        len = spill.read(spillSent, chunk, off, (int) Math.min(StepRunner.CHUNK, end - spillSent));
                    } catch (IOException e) {
                        stopSending("reading its spill file failed: " + e.getMessage());
                        return;
                    }
                    spillSent += len;
                    if (spillSent == end) {
                        queue.poll();
                    }
                }
                notifyAll(); // room for a reader held back by awaitRoom
            }
            try {
                sink.send(chunk, off, len);
            } catch (IOException e) {
                stopSending("sending failed: " + e.getMessage());
                return;
            }
            synchronized (this) {
                sending = false;
                sent += len;
                if (spill != null && spilled() == 0 && spill.end() > 0 && !(queue.peekLast() instanceof long[])) {
                    try {
                        spill.reset();
                        spillSent = 0;
                    } catch (IOException e) {
                        // Not emptied: later output is appended after what was sent, as before.
                    }
                }
                notifyAll();
            }
        }
    }

    /**
     * The spill file cannot be read or the link is broken: nothing more can go, so the spool
     * closes (the session ends with the link; readers and waiters are let go).
     */
    private synchronized void stopSending(String why) {
        if (!closed) {
            log.warn("{}: output after byte {} will not reach the conductor: {}", name, sent, why);
        }
        closed = true;
        sending = false;
        notifyAll();
    }

    /** The expect on this step began or ended: kept output may go (again). */
    synchronized void expectChanged() {
        notifyAll();
    }

    /** The stream ended: what is kept still goes, then the sender ends. */
    synchronized void end() {
        ended = true;
        notifyAll();
    }

    /**
     * Waits until everything read so far has been sent, for as long as sending goes on: gives up
     * when no byte went out for {@code stall} (the conductor stopped reading).
     *
     * @return whether all of it was sent
     */
    boolean awaitSent(Duration stall) throws InterruptedException {
        synchronized (this) {
            long target = offered;
            long lastSent = sent;
            long deadline = System.nanoTime() + stall.toNanos();
            while (sent < target && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
                if (sent != lastSent) {
                    lastSent = sent;
                    deadline = System.nanoTime() + stall.toNanos();
                }
            }
            return sent >= target;
        }
    }

    /** Drops what was not sent (the session is over) and frees the spill file. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            queue.clear();
            memoryBytes = 0;
            notifyAll();
        }
        Thread t = sender;
        if (t != null) {
            try {
                t.join(Duration.ofSeconds(5)); // a send in progress ends when the socket closes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (spill != null) {
                spill.close();
                spill = null;
            }
        }
    }
}
