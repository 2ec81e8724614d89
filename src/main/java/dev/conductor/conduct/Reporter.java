package dev.conductor.conduct;

import dev.conductor.events.Event;
import dev.conductor.events.EventSink;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.StepResult;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** Where a link puts what it hears: events into the log, output into the transcripts. */
final class Reporter {
    private final EventSink events;
    private final Transcripts transcripts;
    private final String worker;
    private boolean diskFailureReported;

    private final java.nio.file.Path testFolder;

    Reporter(EventSink events, Transcripts transcripts, String worker, java.nio.file.Path testFolder) {
        this.testFolder = testFolder.toAbsolutePath().normalize();
        this.events = events;
        this.transcripts = transcripts;
        this.worker = worker;
    }

    void event(Event e) {
        events.accept(e);
    }

    void stepStarted(int trial, Phase phase, int index, Instant startedAt) {
        events.accept(new Event.StepStarted(Instant.now(), trial, phase, worker, index, startedAt));
    }

    void output(int trial, Phase phase, int index, String stream, byte[] data) {
        long offset;
        try {
            offset = transcripts.append(trial, worker, stream, data, 0, data.length);
        } catch (IOException e) {
            offset = -1;
            if (!diskFailureReported) {
                diskFailureReported = true;
                System.err.println("conduct: cannot write the transcript of worker '" + worker + "': " + e.getMessage()
                        + " (output stays in the report's tails only)");
            }
        }
        events.accept(new Event.Output(Instant.now(), trial, phase, worker, index, stream,
                Transcripts.relative(trial, worker, stream), offset, data.length, data));
    }

    /** Emits a step's end; returns whether it failed. */
    boolean stepFinished(int trial, Phase phase, int index, Step step, StepResult r,
                         StepResult.Status fallbackStatus, long offsetMicros) {
        Optional<StepResult.Details> d = r.details();
        StepResult.Status status = d.map(StepResult.Details::status).orElse(fallbackStatus);
        Optional<Instant> started = d.map(StepResult.Details::startedAt).map(t -> t.minusNanos(offsetMicros * 1000));
        Event.StepFinished e = new Event.StepFinished(Instant.now(), trial, phase, worker, index, step.key(), step.text(),
                step.mode(), status, r.code(), r.message(), started, d.map(StepResult.Details::duration),
                d.map(StepResult.Details::stdout).orElse(r.code() == 0 ? r.message() : ""),
                d.map(StepResult.Details::stderr).orElse(""));
        events.accept(e);
        return e.failed();
    }

    /**
     * A put's source: under the test file's folder, or with {@code results:} under this trial's
     * results folder (what a get fetched); empty when the path would leave its folder.
     */
    Optional<java.nio.file.Path> putSource(int trial, String relative) throws IOException {
        java.nio.file.Path folder = testFolder;
        String rest = relative;
        if (relative.startsWith("results:")) {
            folder = transcripts.filesFolder(trial, "x").getParent().toAbsolutePath().normalize();
            rest = relative.substring("results:".length());
        }
        java.nio.file.Path p = folder.resolve(rest).normalize();
        return p.startsWith(folder) ? Optional.of(p) : Optional.empty();
    }

    java.nio.file.Path getTarget(int trial, String name) throws IOException {
        java.nio.file.Path folder = transcripts.filesFolder(trial, worker).toAbsolutePath().normalize();
        java.nio.file.Path p = folder.resolve(name).normalize();
        if (!p.startsWith(folder) || p.equals(folder)) {
            throw new IOException("'" + name + "' would be written outside " + folder);
        }
        return p;
    }

    /** For the event log: the run-relative form of a path in the run folder. */
    String relativeToRun(java.nio.file.Path p) {
        return transcripts.runDir().map(d -> d.toAbsolutePath().normalize().relativize(p).toString()).orElse(p.toString());
    }

    void fileCopied(int trial, Phase phase, int index, String direction, String from, String to,
                    java.util.List<dev.conductor.wire.FileTransfer.Entry> entries, String error) {
        events.accept(new Event.FileCopied(Instant.now(), trial, phase, worker, index, direction, from, to, entries,
                error == null ? "" : error));
    }

    void spawnExited(int trial, Phase phase, int index, int code) {
        events.accept(new Event.SpawnExited(Instant.now(), trial, phase, worker, index, code));
    }

    /** @param startLate how late the player started the phase after its instant, when it says */
    void finished(int trial, Phase phase, Optional<Duration> startLate) {
        events.accept(new Event.WorkerFinished(Instant.now(), trial, phase, worker, startLate));
    }

    static Duration micros(long us) {
        return Duration.ofNanos(us * 1000);
    }
}
