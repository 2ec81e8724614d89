package dev.conductor.player;

import dev.conductor.wire.PhaseOrder.StepSpec;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.StepResult.Details;
import dev.conductor.wire.StepResult.Status;
import dev.conductor.wire.V1;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * Runs one command step with {@code /bin/sh -c} as the leader of its own process group, captures
 * both output streams (bounded), enforces the step's limit by killing the whole tree, and says
 * how it ended.
 */
final class StepRunner {
    /** Free bytes before every chunk given to {@link Listener#output}. */
    static final int HEADROOM = dev.conductor.wire.DataFrame.HEADROOM;
    /**
     * The most output one chunk holds. A pipe gives at most 64 KiB a read; when more is waiting
     * the reader takes it too, so that a flood goes out in few large messages and a trickle at once.
     */
    static final int CHUNK = 256 * 1024;
    /**
     * A reader's first buffer; it grows fourfold each time a read fills it, up to {@link #CHUNK}.
     * Small, because most steps print a line or nothing, and what every step allocates is what
     * decides how often a player stops for a collection (docs/PERFORMANCE.md).
     */
    private static final int FIRST_CHUNK = 4 * 1024;
    /** Per stream, what a result carries back. */
    static final int TAIL_BYTES = 64 * 1024;
    /** How much of each stream a failure's message quotes. */
    private static final int MESSAGE_TAIL_CHARS = 2000;
    /** After the shell exits, how long its output may still take to arrive (a background child may hold the pipe). */
    private static final Duration DRAIN_GRACE = Duration.ofSeconds(2);
    /** How long a start gate may take past the instant to fork a step before the caller forks it itself. */
    private static final Duration FORK_DEADLINE = Duration.ofSeconds(30);
    /** How long {@link #close} waits for a fork under way: a fork takes milliseconds. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(StepRunner.class);

    /** What a caller may want to hear while a step runs; every method has a do-nothing default. */
    interface Listener {
        Listener NONE = new Listener() {
        };

        default void started(Instant at) {
        }

        /**
         * A chunk of output: {@code stream} is 1 for stdout, 2 for stderr. Called from reader
         * threads. The {@link #HEADROOM} bytes before {@code off} are free: a listener may write a
         * frame header there (and, for a later piece of the chunk, over bytes it has sent), so
         * that the chunk goes out in one write without a copy.
         */
        default void output(int stream, byte[] buf, int off, int len) {
        }

        /** A spawned step's process ended. */
        default void spawnExited(int code) {
        }

        /** A spawned step's process started; its stdin is a pipe the caller may write to. */
        default void spawned(Process process) {
        }

        /** Both output streams of the step reached their end. */
        default void outputEnded() {
        }
    }

    private final Path workDir;
    private final LongConsumer groupStarted;
    /** Starts steps where it works (see {@link Launcher}); null: through the JVM and setsid. */
    private final Launcher launcher;
    /** Starts steps where the launcher does not (see {@link StepStarter}); null: through the JVM and setsid. */
    private final StepStarter starter;
    /** A launcher's spare gives nothing back when it settles: the launcher forked it, and forgets it itself. */
    private static final java.util.function.Consumer<Boolean> LAUNCHERS_OWN = started -> {
    };
    /** {@link StepStarter}'s processes started and not yet started as their step, nor discarded: {@link #close} ends them. */
    private final java.util.Set<StepStarter.Spare> unstarted = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final dev.conductor.clock.PreciseClock clock;
    /** The foreground step running now, so that {@link #abort()} can kill it. */
    private volatile Process current;
    private volatile boolean aborted;
    /**
     * Held shared by every fork, until its process group is registered; {@link #close} takes it
     * alone. So once close returns, nothing forks any more and every process forked before is
     * known to whoever kills what is left: a process that must exit at once (a second Ctrl-C)
     * leaves nothing behind, even when a step was forking at that moment.
     */
    private final java.util.concurrent.locks.ReadWriteLock forking = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private volatile boolean closed;

    /**
     * @param groupStarted told the process group of every step started, so that whatever the
     *                     step leaves behind can be killed later
     */
    StepRunner(Path workDir, LongConsumer groupStarted, dev.conductor.clock.PreciseClock clock) {
        this(workDir, groupStarted, clock, null);
    }

    /** @param launcher what starts steps and signals their groups; null for the JVM and setsid */
    StepRunner(Path workDir, LongConsumer groupStarted, dev.conductor.clock.PreciseClock clock, Launcher launcher) {
        this(workDir, groupStarted, clock, launcher, null);
    }

    /** @param starter what starts steps where {@code launcher} does not; null for the JVM and setsid */
    StepRunner(Path workDir, LongConsumer groupStarted, dev.conductor.clock.PreciseClock clock, Launcher launcher,
               StepStarter starter) {
        this.workDir = workDir;
        this.groupStarted = groupStarted;
        this.clock = clock;
        this.launcher = launcher;
        this.starter = starter;
    }

    /** Kills the foreground step running now, if any; it ends as KILLED. */
    void abort() {
        aborted = true;
        Process p = current;
        if (p != null) {
            ProcessGroups.killTree(p, launcher);
        }
    }

    /**
     * Ends this runner: no step forks from now on (one that tries fails to start, saying why),
     * a fork under way is waited for (at most {@link #FORK_DEADLINE}) so that its group is
     * registered, and the foreground step is killed as by {@link #abort}.
     */
    void close() {
        closed = true;
        var all = forking.writeLock();
        try {
            if (all.tryLock(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                all.unlock();
            } else {
                log.warn("a step's fork did not end within {} s of the player's close; its process may be left", CLOSE_WAIT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (StepStarter.Spare spare : unstarted) {
            // Made ready for a phase that never started: it runs nothing now, and is gone.
            spare.discard();
            ProcessGroups.killTree(spare.process(), launcher);
        }
        unstarted.clear();
        abort();
    }

    /** Forks {@code pb} unless this runner is closed, and registers the new process group before anyone may close it. */
    private Process spawn(ProcessBuilder pb) throws IOException {
        return spawn(pb::start);
    }

    /** Starts a process by {@code fork} unless this runner is closed, and registers its group before anyone may close it. */
    private Process spawn(Fork fork) throws IOException {
        var shared = forking.readLock();
        shared.lock();
        try {
            if (closed) {
                throw new IOException("the player is shutting down");
            }
            Process p = fork.fork();
            registerGroup(p);
            return p;
        } finally {
            shared.unlock();
        }
    }

    /** Clears an earlier abort, for the next phase. */
    void resetAbort() {
        aborted = false;
    }

    StepResult run(int index, StepSpec step, Map<String, String> env) {
        return run(index, step, env, Listener.NONE);
    }

    StepResult run(int index, StepSpec step, Map<String, String> env, Listener listener) {
        return run(index, step, env, listener, now());
    }

    /** As {@link #run(int, StepSpec, Map, Listener)}, its process forked by {@code start}. */
    StepResult run(int index, StepSpec step, Map<String, String> env, Listener listener, Start start) {
        return run(index, step, listener, start, forkOf(step, env));
    }

    /** As {@link #run(int, StepSpec, Map, Listener, Start)}, with its start made ready by {@link #forkOf}. */
    StepResult run(int index, StepSpec step, Listener listener, Start start, ShellFork fork) {
        Forked f = start.start(fork);
        listener.started(f.at());
        if (f.failure() != null) {
            return couldNotStart(index, step, f.at(), f.nanos(), f.failure());
        }
        return supervise(index, step, listener, attach(f.process(), listener), f.at(), f.nanos());
    }

    /** A step's fork, as {@link Start} runs it. */
    @FunctionalInterface
    interface Fork {
        Process fork() throws IOException;

        /**
         * Forks now, for a start taken at {@code at} ({@code nanos} on {@link System#nanoTime()}'s
         * clock); a fork whose process notes when it started itself says that time instead.
         */
        default Forked forkedAt(Instant at, long nanos) throws IOException {
            return new Forked(at, nanos, fork(), null);
        }
    }

    /**
     * A step's start: when it was taken (on this player's clock, and as {@link System#nanoTime()}
     * for the duration), and the process or why there is none.
     */
    record Forked(Instant at, long nanos, Process process, IOException failure) {
        Process processOrThrow() throws IOException {
            if (failure != null) {
                throw failure;
            }
            return process;
        }
    }

    /**
     * When and on which thread a step's process is forked: at once on the caller's thread
     * ({@link #now()}), or at an instant by a {@link dev.conductor.clock.RealtimeGate}. The start time is taken just
     * before the fork.
     */
    @FunctionalInterface
    interface Start {
        /** @param fork what starts the step; null when there is nothing to fork (only the time is wanted) */
        Forked start(Fork fork);
    }

    /** A start at once, on the caller's thread. */
    Start now() {
        return fork -> forkNow(clock, fork);
    }

    /**
     * A start at {@code atMicros} on this player's clock, forked on {@code gate}'s thread (see
     * {@link dev.conductor.clock.RealtimeGate}); on the caller's, at the instant, if the gate
     * cannot.
     */
    Start at(dev.conductor.clock.RealtimeGate gate, long atMicros) {
        return fork -> gate.at(atMicros, at -> forkAt(at, fork), FORK_DEADLINE)
                .orElseGet(() -> forkHereAt(atMicros, fork));
    }

    /** The fallback when a gate could not fork: on the caller's thread, at the instant. */
    private Forked forkHereAt(long atMicros, Fork fork) {
        clock.awaitMicros(atMicros, dev.conductor.clock.RealtimeGate.NORMAL_SPIN_MICROS);
        return forkNow(clock, fork);
    }

    /**
     * A start of a step, forked by {@code pb}, at {@code atMicros} handed to {@code gate} now, before the phase's
     * thread gets to it: the gate forks it at the instant even if that thread is late (on a
     * busy machine it may be). The process group is registered as soon as it exists. The
     * {@link Start} returned gives that fork (whatever it is then given); if the gate could not
     * fork it, it forks what it is given, at once.
     */
    Start armed(dev.conductor.clock.RealtimeGate gate, long atMicros, ShellFork fork) {
        return handedTo(gate, atMicros, at -> forkAt(at, fork));
    }

    /**
     * The release of a held step at {@code atMicros}, handed to {@code gate} now (as {@link #armed}
     * does a fork): at the instant the gate writes one line to a pipe, where a fork would cost it
     * the JVM's spawn and hold up every other player's gate waiting for a CPU.
     */
    Start armedRelease(dev.conductor.clock.RealtimeGate gate, long atMicros, Prepared prepared) {
        return handedTo(gate, atMicros, at -> forkAt(at, prepared::releaseNow));
    }

    /**
     * {@code action} given to {@code gate} for {@code atMicros} now; the {@link Start} takes its
     * result, or forks what it is given at the instant if the gate could not get to it.
     */
    private Start handedTo(dev.conductor.clock.RealtimeGate gate, long atMicros,
                           java.util.function.Function<Instant, Forked> action) {
        var pending = gate.submit(atMicros, action);
        return fork -> pending.await(FORK_DEADLINE).orElseGet(() -> forkHereAt(atMicros, fork));
    }

    /**
     * A step's process made ready to start: a {@link Launcher}'s spare that has been told what to
     * run, where there is a launcher that works, else the JVM's builder (setsid, the shell).
     * Made when its phase arrives for a phase's first step: what is left at the start instant is
     * one write to the spare, or the JVM's fork.
     */
    sealed interface ShellFork extends Fork permits JvmFork, SpareFork {
        /** Starts the process; its group is registered when this returns. */
        @Override
        Process fork() throws IOException;

        /** Never to be started: gives back what was taken for it. */
        void discard();
    }

    /** Through the JVM: the builder, started by {@link #spawn(ProcessBuilder)}. */
    final class JvmFork implements ShellFork {
        private final ProcessBuilder pb;

        private JvmFork(ProcessBuilder pb) {
            this.pb = pb;
        }

        @Override
        public Process fork() throws IOException {
            return spawn(pb);
        }

        @Override
        public void discard() {
        }
    }

    /**
     * Through {@link StepStarter} or the launcher: a process started ahead of time that knows
     * what to run, given its instant ({@link #arm}) as soon as that is known; it wakes for it
     * itself, noting the time it woke: the step's start time is the process's own, and no thread
     * of this JVM has to be on time for it. Its group is registered only once it started, as any
     * step's: a phase is made ready while the one before runs, and the end of a trial's Reset
     * kills the groups registered by then.
     */
    final class SpareFork implements ShellFork {
        private final TimedSpare spare;
        private final Process process;
        /** Run once the spare has either started or been discarded: what was taken for it is given back. */
        private final java.util.function.Consumer<Boolean> settled;
        private final java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();

        /** @param settled told {@code true} once the spare started its step, {@code false} once discarded */
        private SpareFork(TimedSpare spare, Process process, java.util.function.Consumer<Boolean> settled) {
            this.spare = spare;
            this.process = process;
            this.settled = settled;
        }

        /** Gives the spare its start: {@code atMicros} on this player's clock, 0 for at once. */
        void arm(long atMicros) throws IOException {
            if (!armed.compareAndSet(false, true)) {
                throw new IOException("a step's process was started twice");
            }
            if (closed) {
                spare.discard();
                throw new IOException("the player is shutting down");
            }
            spare.arm(atMicros > 0 ? clock.toNanoTime(atMicros) : 0);
        }

        /** After {@link #arm}: waits until the spare woke for its start; its group is then registered. */
        Forked started() {
            long t0 = System.nanoTime();
            try {
                long woke;
                try {
                    woke = spare.started();
                } finally {
                    settled.accept(true);
                }
                register();
                return new Forked(dev.conductor.clock.PreciseClock.toInstant(clock.microsOfNanoTime(woke)), woke,
                        process, null);
            } catch (IOException e) {
                return new Forked(clock.now(), t0, null, e);
            }
        }

        private void register() throws IOException {
            var shared = forking.readLock();
            shared.lock();
            try {
                registerGroup(process);
                if (closed) {
                    // Registered all the same, so that the close's kill finds it.
                    throw new IOException("the player is shutting down");
                }
            } finally {
                shared.unlock();
            }
        }

        @Override
        public Process fork() throws IOException {
            return forkedAt(null, 0).processOrThrow();
        }

        /** Starts it now; the start time is the one it says it woke at, whatever {@code at} was. */
        @Override
        public Forked forkedAt(Instant at, long nanos) throws IOException {
            arm(0);
            return started();
        }

        @Override
        public void discard() {
            if (armed.compareAndSet(false, true)) {
                spare.discard();
                settled.accept(false);
            }
        }
    }

    /**
     * A timed spare's start at {@code atMicros}: armed now, on the caller's thread (it waits for
     * the instant itself); the {@link Start} waits until it woke. One that cannot be armed
     * starts at once when the Start is used, saying why it could not.
     */
    Start timed(SpareFork fork, long atMicros) {
        try {
            fork.arm(atMicros);
        } catch (IOException e) {
            return ignored -> new Forked(clock.now(), System.nanoTime(), null, e);
        }
        return ignored -> fork.started();
    }

    ShellFork forkOf(StepSpec step, Map<String, String> env) {
        if (launcher != null && launcher.startsSteps()) {
            Launcher.Spare spare = null;
            try {
                spare = launcher.take();
                Map<String, String> all = new java.util.HashMap<>(System.getenv());
                all.putAll(env);
                LaunchedProcess process = spare.prepare(workDir.toAbsolutePath(), step.spawn(), step.command(), all);
                return new SpareFork(spare, process, LAUNCHERS_OWN);
            } catch (IOException e) {
                if (spare != null) {
                    spare.discard();
                }
                log.warn("starting '{}' through the JVM: {}", step.command(), e.getMessage());
            }
        }
        if (starter != null) {
            try {
                StepStarter.Spare spare = spareOf(step, env);
                return new SpareFork(spare, spare.process(), started -> {
                    unstarted.remove(spare);
                    if (!started && launcher != null) {
                        launcher.forget(List.of(spare.process().pid()));
                    }
                });
            } catch (IOException e) {
                log.warn("starting '{}' through the JVM: {}", step.command(), e.getMessage());
            }
        }
        ProcessBuilder pb = builder(env, step.spawn());
        return new JvmFork(pb.command(ProcessGroups.shellForStep(step.command(), step.spawn(), pb.environment())));
    }

    /**
     * {@link StepStarter}'s process for {@code step}, started now unless this runner is closed.
     * It leads its group already, and is told to the launcher at once: should this JVM die
     * before the step starts, the launcher kills it (and it would run nothing: it checks that
     * its parent is still there when it wakes).
     */
    private StepStarter.Spare spareOf(StepSpec step, Map<String, String> env) throws IOException {
        var shared = forking.readLock();
        shared.lock();
        try {
            if (closed) {
                throw new IOException("the player is shutting down");
            }
            StepStarter.Spare spare = starter.prepare(builder(env, true), step.command(), step.spawn(),
                    step.spawn() ? ProcessGroups.LARGE_PIPE : 0);
            if (launcher != null && launcher.usable()) {
                launcher.remember(spare.process().pid());
            }
            unstarted.add(spare);
            return spare;
        } finally {
            shared.unlock();
        }
    }

    static Forked forkNow(dev.conductor.clock.PreciseClock clock, Fork fork) {
        return forkAt(clock.now(), fork);
    }

    private static Forked forkAt(Instant at, Fork fork) {
        long t0 = System.nanoTime();
        if (fork == null) {
            return new Forked(at, t0, null, null);
        }
        try {
            return fork.forkedAt(at, t0);
        } catch (IOException e) {
            return new Forked(at, t0, null, e);
        }
    }

    private static StepResult couldNotStart(int index, StepSpec step, Instant started, long t0, IOException e) {
        String msg = "could not start /bin/sh for: " + step.command() + ": " + e.getMessage();
        return new StepResult(127, msg, Optional.of(new Details(index, Status.FAILED, step.command(),
                started, Duration.ofNanos(System.nanoTime() - t0), "", "", 0, 0)));
    }

    /**
     * A step whose process is already forked and waits, blocked, to be released. Forking is
     * what costs a start its time (the JVM's spawn helper, the dynamic loader, a shell), and on a
     * machine shared by many players it is what made the late ones late: done ahead of the
     * start instant, the start itself is one write to a pipe.
     */
    final class Prepared {
        private final StepSpec step;
        private final Listener listener;
        private final Started started;
        private final IOException failure;

        private Prepared(StepSpec step, Listener listener, Started started, IOException failure) {
            this.step = step;
            this.listener = listener;
            this.started = started;
            this.failure = failure;
        }

        StepSpec step() {
            return step;
        }

        /**
         * Lets the held shell go on to its command: one line on its stdin (closed after it for a
         * step that is not spawned, as an unheld step's is). What a gate does at the instant.
         *
         * @return the step's process, or null when it could not be forked
         */
        Process releaseNow() {
            if (started == null) {
                return null;
            }
            try {
                var stdin = started.process.getOutputStream();
                stdin.write('\n');
                stdin.flush();
                if (!step.spawn()) {
                    stdin.close();
                }
            } catch (IOException e) {
                // The held shell died before its release: its exit status tells what happened.
            }
            return started.process;
        }

        /** Kills the waiting process: its phase will not run. */
        void discard() {
            if (started != null) {
                ProcessGroups.killTree(started.process, launcher);
            }
        }
    }

    /** Forks {@code step}'s process now, held before its command until {@link #release}. */
    Prepared prepare(StepSpec step, Map<String, String> env, Listener listener) {
        Map<String, String> held = new java.util.HashMap<>(env);
        held.put(ProcessGroups.HELD_COMMAND, step.command());
        try {
            ProcessBuilder pb = builder(held, true);
            pb.command(ProcessGroups.heldShellInNewGroup(step.spawn(), pb.environment()));
            return new Prepared(step, listener, attach(spawn(pb), listener), null);
        } catch (IOException e) {
            return new Prepared(step, listener, null, e);
        }
    }

    /** Starts a prepared step: its start time is the moment of release. Then as {@link #run}. */
    StepResult release(int index, Prepared prepared, Start start) {
        StepSpec step = prepared.step;
        if (prepared.failure != null) {
            Forked f = start.start(null);
            prepared.listener.started(f.at());
            return couldNotStart(index, step, f.at(), f.nanos(), prepared.failure);
        }
        Started p = prepared.started;
        if (aborted) {
            ProcessGroups.killTree(p.process, launcher);
        }
        Forked f = start.start(prepared::releaseNow);
        prepared.listener.started(f.at());
        return supervise(index, step, prepared.listener, p, f.at(), f.nanos());
    }

    private StepResult supervise(int index, StepSpec step, Listener listener, Started p, Instant started, long t0) {
        if (step.spawn()) {
            listener.spawned(p.process);
            p.process.onExit().thenAccept(done -> listener.spawnExited(done.exitValue()));
            return new StepResult(V1.OK, "Spawned", Optional.of(new Details(index, Status.SPAWNED,
                    step.command(), started, Duration.ofNanos(System.nanoTime() - t0), "", "", 0, 0)));
        }
        boolean exited;
        current = p.process;
        if (aborted) {
            ProcessGroups.killTree(p.process, launcher);
        }
        try {
            exited = p.process.waitFor(step.timeout(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            // The player is shutting down: the step ends with it.
            ProcessGroups.killTree(p.process, launcher);
            Thread.currentThread().interrupt();
            exited = false;
        }
        if (!exited) {
            ProcessGroups.killTree(p.process, launcher);
            awaitQuietly(p.process, Duration.ofSeconds(5));
        }
        current = null;
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        p.drain(DRAIN_GRACE);
        String out = p.stdout.text();
        String err = p.stderr.text();
        Details details;
        String message;
        int code;
        if (!exited) {
            code = V1.ERROR;
            // First line exactly as the reference words it; then what it had printed.
            message = "Command timed out after " + step.timeout() + " seconds (process tree killed)"
                    + quote(out, err);
            details = new Details(index, Status.TIMEOUT, step.command(), started, took, out, err,
                    p.stdout.total(), p.stderr.total());
        } else if (aborted) {
            code = p.process.exitValue();
            message = step.command() + "\nkilled: the conductor aborted the phase" + quote(out, err);
            details = new Details(index, Status.KILLED, step.command(), started, took, out, err,
                    p.stdout.total(), p.stderr.total());
        } else {
            code = p.process.exitValue();
            if (code == 0) {
                message = out;
            } else {
                message = step.command() + "\nexited with code " + code + describeSignal(code) + quote(out, err);
            }
            details = new Details(index, code == 0 ? Status.OK : Status.FAILED, step.command(), started,
                    took, out, err, p.stdout.total(), p.stderr.total());
        }
        return new StepResult(code, message, Optional.of(details));
    }

    private static String describeSignal(int code) {
        return code > 128 && code < 160 ? " (killed by signal " + (code - 128) + ")" : "";
    }

    private static String quote(String out, String err) {
        StringBuilder b = new StringBuilder();
        if (!out.isEmpty()) {
            b.append("\n--- stdout (tail) ---\n").append(tail(out));
        }
        if (!err.isEmpty()) {
            b.append("\n--- stderr (tail) ---\n").append(tail(err));
        }
        return b.toString();
    }

    private static String tail(String s) {
        String t = s.length() > MESSAGE_TAIL_CHARS ? "..." + s.substring(s.length() - MESSAGE_TAIL_CHARS) : s;
        return t.endsWith("\n") ? t.substring(0, t.length() - 1) : t;
    }

    /**
     * A step's process, but for its command (set it once the environment is known: how the
     * shell starts may depend on it).
     *
     * @param pipeIn stdin a pipe: a spawned step's ('send:', 'close:') or a held one's; otherwise /dev/null
     */
    private ProcessBuilder builder(Map<String, String> env, boolean pipeIn) {
        ProcessBuilder pb = new ProcessBuilder()
                .directory(workDir.toFile())
                .redirectInput(pipeIn ? ProcessBuilder.Redirect.PIPE : ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env);
        return pb;
    }

    /** A step's process leads a group of its own: noted with its start time, and told to whoever kills what is left. */
    private void registerGroup(Process process) {
        ProcessGroups.leaderStarted(process);
        groupStarted.accept(process.pid());
        if (launcher != null && !(process instanceof LaunchedProcess) && launcher.usable()) {
            launcher.remember(process.pid()); // killed by the launcher too if this JVM dies
        }
    }

    /** Starts reading a started process's output (after the fork: a pipe holds what comes first). */
    private Started attach(Process process, Listener listener) {
        if (process instanceof LaunchedProcess launched) {
            launched.settle();
        }
        Started s = new Started(process, new OutputTail(TAIL_BYTES), new OutputTail(TAIL_BYTES));
        s.outReader = pump(process.getInputStream(), s.stdout, 1, listener, "stdout-" + process.pid());
        s.errReader = pump(process.getErrorStream(), s.stderr, 2, listener, "stderr-" + process.pid());
        java.util.concurrent.CompletableFuture.allOf(s.outReader, s.errReader).whenComplete((v, e) -> listener.outputEnded());
        return s;
    }

    /**
     * The threads that read steps' output, kept for the next steps (a minute idle, then they
     * end): a thread made and ended for each stream of each step cost the player two thread
     * starts and exits per step, and when many players' steps end at once (they started at once)
     * that work came at the moment the phase's results were due (docs/PERFORMANCE.md). Platform
     * threads, not virtual ones: a pipe read blocks in the kernel and would pin a carrier thread
     * for as long as some background child keeps the pipe open.
     */
    private static final java.util.concurrent.ExecutorService PUMPS = java.util.concurrent.Executors.newCachedThreadPool(
            r -> Thread.ofPlatform().daemon().name("step-output").unstarted(r));

    private static java.util.concurrent.CompletableFuture<Void> pump(InputStream in, OutputTail into, int stream,
                                                                     Listener listener, String name) {
        return java.util.concurrent.CompletableFuture.runAsync(() -> {
            Thread.currentThread().setName("step-" + name);
            byte[] buf = new byte[HEADROOM + FIRST_CHUNK];
            try (in) {
                int n;
                while ((n = in.read(buf, HEADROOM, buf.length - HEADROOM)) > 0) {
                    // More already in the pipe: take it now rather than in a chunk of its own.
                    int more;
                    int room = buf.length - HEADROOM;
                    while (n < room && in.available() > 0 && (more = in.read(buf, HEADROOM + n, room - n)) > 0) {
                        n += more;
                    }
                    into.write(buf, HEADROOM, n);
                    listener.output(stream, buf, HEADROOM, n);
                    if (n == room && room < CHUNK) {
                        buf = new byte[HEADROOM + Math.min(CHUNK, room * 4)];
                    }
                }
            } catch (IOException e) {
                // The pipe was closed under us: the output so far is what there is.
            }
        }, PUMPS);
    }

    private static void awaitQuietly(Process p, Duration limit) {
        try {
            p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Started {
        final Process process;
        final OutputTail stdout;
        final OutputTail stderr;
        java.util.concurrent.CompletableFuture<Void> outReader;
        java.util.concurrent.CompletableFuture<Void> errReader;

        Started(Process process, OutputTail stdout, OutputTail stderr) {
            this.process = process;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        void drain(Duration grace) {
            try {
                java.util.concurrent.CompletableFuture.allOf(outReader, errReader).get(grace.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // Past the grace (a background child holds the pipe) or failed: the output so far is what there is.
            }
        }
    }
}
