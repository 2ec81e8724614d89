package dev.conductor.scenario;

import dev.conductor.conduct.StepSession;
import dev.conductor.events.Event;
import dev.conductor.events.EventSink;
import dev.conductor.plan.OnFailure;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.StepResult.Status;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * One tester of a {@link Scenario}: a name, a player, and the steps its {@link Script} calls.
 * Each method is one step, run now, reported in the run's event log and reports, and returned
 * as an {@link Outcome}; there is no need to say {@code ok} after it.
 *
 * <p>Steps on the player: {@link #run}, {@link #spawn}, {@link #expect}, {@link #send},
 * {@link #close}, {@link #signal}, {@link #terminate}, {@link #waitFor}, {@link #put},
 * {@link #get}. Steps of the conductor: {@link #barrier}, {@link #sleep}, and the checks
 * {@link #ok}, {@link #check}, {@link #require}, {@link #step} (your own code), {@link #skip}
 * and {@link #todo}.
 *
 * <p><b>When a step fails</b> (non-zero exit, timeout, no match, a barrier given up, a check
 * that does not hold): by default the tester stops there, and testers waiting for it at a
 * barrier are told at once instead of waiting out their limit. A scenario built with
 * {@link OnFailure#CONTINUE} goes on instead, and the script decides from each
 * {@link Outcome}; {@link #ok} and {@link #check} never stop it, {@link #require} always does.
 *
 * <p>Only the tester's own script may call it (one thread).
 */
public final class Tester {
    /** Limits when none is given: the INI steps' defaults. */
    static final Duration DEFAULT_LIMIT = Duration.ofSeconds(30);
    static final Duration DEFAULT_GRACE = Duration.ofSeconds(5);
    static final Duration TRANSFER_LIMIT = Duration.ofSeconds(600);

    private final String name;
    private final StepSession session;
    private final EventSink events;
    private final OnFailure onFailure;
    private final Optional<Path> runDir;
    private final int trial;
    private final Phase phase;
    private int next;
    private Outcome last;

    Tester(String name, StepSession session, EventSink events, OnFailure onFailure, Optional<Path> runDir, int trial,
           Phase phase) {
        this.name = name;
        this.session = session;
        this.events = events;
        this.onFailure = onFailure;
        this.runDir = runDir;
        this.trial = trial;
        this.phase = phase;
    }

    /**
     * Thrown through the script to stop it after a failed step; the step is already reported.
     * An Error, so that a script's own {@code catch (Exception e)} does not swallow it and go on.
     */
    static final class Stop extends Error {
        Stop(String message) {
            super(message, null, false, false);
        }
    }

    /** The tester's name, as in the reports. */
    public String name() {
        return name;
    }

    /** The outcome of this tester's latest step; empty before the first. */
    public Optional<Outcome> last() {
        return Optional.ofNullable(last);
    }

    /** True when there is no latest step or it did not fail: for DTest-style if-then-else on the last status. */
    public boolean lastOk() {
        return last == null || last.ok();
    }

    /**
     * Where this tester's {@link #get} steps put their files: {@code <run folder>/trial-1/<tester>/}.
     * Empty when the scenario keeps no run folder.
     */
    public Optional<Path> files() {
        return runDir.map(d -> d.resolve("trial-" + trial).resolve(name));
    }

    // ---- steps on the player ----

    /** Runs {@code command} with {@code /bin/sh -c} in the foreground, at most 30 s. */
    public Outcome run(String command) {
        return run(command, DEFAULT_LIMIT);
    }

    /** Runs {@code command} in the foreground; over {@code limit} it is killed with its whole process tree. */
    public Outcome run(String command, Duration limit) {
        return player(new Step.Command(key("run"), 0, text(command, "command"), Step.Mode.TIMEOUT,
                positive(limit, "limit")));
    }

    /**
     * Starts {@code command} in the background as the spawned step {@code name}, which
     * {@link #expect}, {@link #send}, {@link #close}, {@link #signal}, {@link #terminate} and
     * {@link #waitFor} then name. It is killed when the scenario ends if it is still running.
     */
    public Outcome spawn(String name, String command) {
        if (name == null || !name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("a spawned step's name is letters, digits, '_', '.' or '-', got " + name);
        }
        return player(new Step.Command(name, 0, text(command, "command"), Step.Mode.SPAWN, DEFAULT_LIMIT));
    }

    /**
     * Waits until {@code regex} (Java syntax) matches the output of spawned step {@code target},
     * reading on from where its last expect matched. Fails at {@code limit}, showing what was read.
     */
    public Outcome expect(String target, String regex, Duration limit) {
        try {
            java.util.regex.Pattern.compile(text(regex, "regex"));
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException("bad regular expression for expect: " + e.getDescription() + " in /" + regex + "/");
        }
        return player(new Step.Expect(key("expect"), 0, target(target), regex, positive(limit, "limit")));
    }

    /** Writes {@code text} (UTF-8) to the spawned step's stdin. */
    public Outcome send(String target, String text) {
        String data = new String(text(text, "text").getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        return player(new Step.Send(key("send"), 0, target(target), data, escaped(text)));
    }

    /** Closes the spawned step's stdin: it reads end of file. */
    public Outcome close(String target) {
        return player(new Step.Close(key("close"), 0, target(target)));
    }

    /** Sends a signal (a name such as {@code TERM}, {@code HUP}, {@code USR1}, or a number) to the spawned step's process group. */
    public Outcome signal(String target, String signal) {
        String s = text(signal, "signal").toUpperCase(java.util.Locale.ROOT).replaceFirst("^SIG", "");
        if (!s.matches("[A-Z0-9]+")) {
            throw new IllegalArgumentException("a signal is a name like TERM or a number, got " + signal);
        }
        return player(new Step.Signal(key("signal"), 0, target(target), s));
    }

    /** SIGTERM to the spawned step's process group, SIGKILL after {@code grace}; waits for it to exit. */
    public Outcome terminate(String target, Duration grace) {
        return player(new Step.Terminate(key("terminate"), 0, target(target), positive(grace, "grace")));
    }

    /** Waits at most {@code limit} for the spawned step to exit; its exit code is this step's. */
    public Outcome waitFor(String target, Duration limit) {
        return player(new Step.Wait(key("wait"), 0, target(target), positive(limit, "limit")));
    }

    /**
     * Copies {@code local} (a file or folder, relative to the scenario's folder; {@code results:NAME}
     * for something a {@link #get} of this run fetched) to {@code remote} (relative to the player's
     * files folder). Streamed, SHA-256 checked on both sides.
     */
    public Outcome put(String local, String remote) {
        return player(new Step.Put(key("put"), 0, text(local, "local path"), text(remote, "remote path"), TRANSFER_LIMIT));
    }

    /** Copies {@code remote} (relative to the player's files folder) to {@link #files()}{@code /name}. */
    public Outcome get(String remote, String name) {
        return player(new Step.Get(key("get"), 0, text(remote, "remote path"), text(name, "name"), TRANSFER_LIMIT));
    }

    // ---- steps of the conductor ----

    /** Waits until every tester that has this barrier arrives, at most 30 s. */
    public Outcome barrier(String name) {
        return barrier(name, DEFAULT_LIMIT);
    }

    /**
     * Waits until every tester that has this barrier (all testers, unless the scenario said
     * who) arrives. When {@code limit} passes first, the barrier fails for everyone waiting at
     * it, and the reports name who never came.
     */
    public Outcome barrier(String name, Duration limit) {
        Step.Barrier b = new Step.Barrier(key("barrier"), 0, text(name, "barrier name"), positive(limit, "limit"));
        return after(session.barrier(this.name, next++, b));
    }

    /** Waits, on the conductor. */
    public Outcome sleep(Duration duration) {
        Step.Sleep s = new Step.Sleep(key("sleep"), 0, positive(duration, "duration"));
        Instant began = started();
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return conductorStep(s.key(), s.text(), Step.Mode.SLEEP, began, Status.KILLED, 1, "interrupted");
        }
        return conductorStep(s.key(), s.text(), Step.Mode.SLEEP, began, Status.OK, 0, "slept " + s.text());
    }

    /** Records a check that passed or not; never stops the tester. */
    public Outcome ok(String description, boolean passed) {
        return check(description, () -> passed);
    }

    /** Evaluates {@code condition} and records it as a check; never stops the tester. An exception counts as not passed. */
    public Outcome check(String description, java.util.function.BooleanSupplier condition) {
        return code(key("check"), description, Step.Mode.CHECK, condition::getAsBoolean, false);
    }

    /** Records a check; when it does not hold, the tester stops, whatever the scenario's failure rule. */
    public Outcome require(String description, boolean passed) {
        Outcome o = code(key("require"), description, Step.Mode.CHECK, () -> passed, false);
        if (o.failed()) {
            throw new Stop("required: " + description);
        }
        return o;
    }

    /** Runs your own code as a step: it passes when it returns true; an exception fails it with its message. */
    public Outcome step(String description, Callable<Boolean> code) {
        return code(key("step"), description, Step.Mode.CODE, code, true);
    }

    /** Records a step that was not run, and why (TAP's {@code # SKIP}). */
    public Outcome skip(String description, String reason) {
        Instant began = started();
        return conductorStep(key("skip"), text(description, "description"), Step.Mode.CHECK, began, Status.SKIPPED, 0,
                "skipped: " + Objects.requireNonNullElse(reason, ""));
    }

    /**
     * Records a check that is not expected to pass yet (TAP's {@code # TODO}): its result is
     * kept, and it never fails the scenario.
     */
    public Outcome todo(String description, String reason, boolean passed) {
        Instant began = started();
        return conductorStep(key("todo"), text(description, "description"), Step.Mode.CHECK, began, Status.TODO,
                passed ? 0 : 1, Objects.requireNonNullElse(reason, ""));
    }

    // ---- the machinery ----

    /** The script ended with an exception: a failed step of its own, so that it is in every report. */
    void scriptFailed(String message) {
        Instant began = started();
        record("script", "the script of tester '" + name + "'", Step.Mode.CODE, began, Status.FAILED, 1, message);
    }

    private Outcome player(Step step) {
        return after(session.run(name, next++, step));
    }

    private Outcome code(String key, String description, Step.Mode mode, Callable<Boolean> code, boolean stops) {
        Instant began = started();
        boolean passed;
        String message;
        try {
            passed = Boolean.TRUE.equals(code.call());
            message = passed ? "passed" : "did not hold";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            passed = false;
            message = "interrupted";
        } catch (Exception | AssertionError e) {
            passed = false;
            message = "threw " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        }
        Outcome o = record(key, text(description, "description"), mode, began, passed ? Status.OK : Status.FAILED,
                passed ? 0 : 1, message);
        if (o.failed() && stops && onFailure == OnFailure.STOP) {
            throw new Stop(description);
        }
        return o;
    }

    private Instant started() {
        Instant now = Instant.now();
        events.accept(new Event.StepStarted(now, trial, phase, name, next, now));
        return now;
    }

    private Outcome conductorStep(String key, String text, Step.Mode mode, Instant began, Status status, int code,
                                  String message) {
        Outcome o = record(key, text, mode, began, status, code, message);
        return stopIfFailed(o);
    }

    private Outcome record(String key, String text, Step.Mode mode, Instant began, Status status, int code,
                           String message) {
        Event.StepFinished f = new Event.StepFinished(Instant.now(), trial, phase, name, next++, key, text, mode, status,
                code, message, Optional.of(began), Optional.of(Duration.between(began, Instant.now())), "", "");
        events.accept(f);
        last = Outcome.of(f);
        return last;
    }

    private Outcome after(Event.StepFinished f) {
        last = Outcome.of(f);
        return stopIfFailed(last);
    }

    private Outcome stopIfFailed(Outcome o) {
        if (o.failed() && (onFailure == OnFailure.STOP || session.lost(name).isPresent())) {
            throw new Stop(o.key() + ": " + o.message());
        }
        return o;
    }

    private String key(String kind) {
        return kind + (next + 1);
    }

    private static String target(String target) {
        return text(target, "target");
    }

    private static String text(String value, String what) {
        if (value == null) {
            throw new IllegalArgumentException("the " + what + " must not be null");
        }
        return value;
    }

    private static Duration positive(Duration d, String what) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("the " + what + " must be a positive duration, got " + d);
        }
        return d;
    }

    /** The text as a Java string literal would show it, for the reports. */
    private static String escaped(String text) {
        return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
    }
}
