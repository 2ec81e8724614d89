package dev.conductor.conduct;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Every byte the steps printed, per trial and worker: {@code trial-<n>/<worker>.out} and
 * {@code .err} under the run's folder, written as it arrives so that nothing is held in memory.
 * Output events in the event log point into these files by offset and length.
 */
public final class Transcripts implements AutoCloseable {
    private final Optional<Path> runDir;
    private final Map<String, Sink> sinks = new HashMap<>();

    private Transcripts(Optional<Path> runDir) {
        this.runDir = runDir;
    }

    /** Writes under {@code runDir}. */
    public static Transcripts in(Path runDir) {
        return new Transcripts(Optional.of(runDir));
    }

    /** Counts offsets only; for runs without a results folder. */
    public static Transcripts none() {
        return new Transcripts(Optional.empty());
    }

    private static final class Sink {
        final OutputStream out;
        long length;

        Sink(OutputStream out) {
            this.out = out;
        }
    }

    /** The file of a trial's worker stream, relative to the run folder, e.g. {@code trial-1/dut.out}. */
    public static String relative(int trial, String worker, String stream) {
        return "trial-" + trial + "/" + worker + (stream.equals("stderr") ? ".err" : ".out");
    }

    /**
     * Appends output; returns the offset it was written at.
     *
     * @throws IOException when the disk refuses (the run reports it; the bytes are lost to disk only)
     */
    public synchronized long append(int trial, String worker, String stream, byte[] data, int off, int len) throws IOException {
        String rel = relative(trial, worker, stream);
        Sink sink = sinks.get(rel);
        if (sink == null) {
            OutputStream os = OutputStream.nullOutputStream();
            if (runDir.isPresent()) {
                Path file = runDir.get().resolve(rel);
                Files.createDirectories(file.getParent());
                // Small pieces gathered; large ones, and a step that prints gigabytes, go around the page cache.
                os = new java.io.BufferedOutputStream(dev.conductor.wire.BulkFileWriter.create(file), 64 * 1024);
            }
            sink = new Sink(os);
            sinks.put(rel, sink);
        }
        long at = sink.length;
        sink.out.write(data, off, len);
        sink.length += len;
        return at;
    }

    /** Where {@code get} puts a trial's files of a worker: {@code trial-N/<worker>/} in the run folder. */
    public Path filesFolder(int trial, String worker) throws IOException {
        if (runDir.isPresent()) {
            return runDir.get().resolve("trial-" + trial).resolve(worker);
        }
        synchronized (this) {
            if (scratch == null) {
                scratch = Files.createTempDirectory("conductor-files-");
            }
            return scratch.resolve("trial-" + trial).resolve(worker);
        }
    }

    /** The run folder, if there is one. */
    public Optional<Path> runDir() {
        return runDir;
    }

    private Path scratch;

    /** Flushes every file, so that a reader of the run folder sees what has arrived so far. */
    public synchronized void flush() {
        for (Sink s : sinks.values()) {
            try {
                s.out.flush();
            } catch (IOException ignored) {
                // Reported when the write itself failed.
            }
        }
    }

    @Override
    public synchronized void close() {
        for (Sink s : sinks.values()) {
            try {
                s.out.close();
            } catch (IOException ignored) {
                // Nothing more to save.
            }
        }
        sinks.clear();
    }
}
