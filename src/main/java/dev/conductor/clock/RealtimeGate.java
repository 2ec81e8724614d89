package dev.conductor.clock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A thread of its own that does short, timing-critical things at an instant: at real-time
 * priority ({@code SCHED_FIFO} 1, asked of {@code chrt} when the gate is made) where the system
 * allows it, else at normal priority.
 *
 * <p>Why: on a busy machine (a traffic generator, other players, a build) a thread that wakes up
 * at an instant waits for a CPU behind whatever runs; a real-time thread takes the CPU as soon as
 * its timer fires, and what it then does is not interrupted by the threads it wakes. A player
 * forks each phase's first step from one (see {@code StartGate} in the player); the conductor
 * sends the start orders of a phase from one, back to back.
 *
 * <p>The priority is set with {@code --reset-on-fork}: processes and threads started from the
 * gate's thread run at normal priority. The thread sleeps until {@link #SPIN_MICROS} before an
 * instant and then spins, yielding, to absorb its wake-up's latency; the kernel's real-time
 * throttling caps it in any case. Where {@code chrt} is missing or not permitted (no root, no
 * {@code CAP_SYS_NICE}, a container without a real-time budget) the gate says why once in the
 * log and works at normal priority.
 */
public final class RealtimeGate implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RealtimeGate.class);
    /** Spinning (yielding) before an instant at real-time priority, to absorb the wake-up's latency. */
    public static final long SPIN_MICROS = 200;
    /** The same at normal priority, where a spinner would take the CPU from those it waits with. */
    public static final long NORMAL_SPIN_MICROS = 30;
    private static final List<String> CHRT = List.of("/usr/bin/chrt", "/bin/chrt");
    /** Whether this JVM has said, at info, that a gate could not have real-time priority: once is enough. */
    private static final java.util.concurrent.atomic.AtomicBoolean TOLD_NORMAL = new java.util.concurrent.atomic.AtomicBoolean();
    private static final int WAITING = 0;
    private static final int RUNNING = 1;
    private static final int CANCELLED = 2;

    private final PreciseClock clock;
    private final String name;
    private final Thread thread;
    private final LinkedBlockingQueue<Pending<?>> jobs = new LinkedBlockingQueue<>();
    private final CompletableFuture<String> priority = new CompletableFuture<>();
    private volatile boolean closed;

    /**
     * @param wanted whether to ask for real-time priority at all
     * @param name   what the gate is for, in its thread's name and its log lines
     */
    public RealtimeGate(PreciseClock clock, boolean wanted, String name) {
        this(clock, wanted, name, CHRT);
    }

    /** @param chrt where to look for chrt, first found wins */
    RealtimeGate(PreciseClock clock, boolean wanted, String name, List<String> chrt) {
        this.clock = clock;
        this.name = name;
        this.thread = Thread.ofPlatform().daemon().name("rt-gate-" + name).start(() -> serve(wanted, chrt));
    }

    /** How the gate's thread runs, {@code realtime (SCHED_FIFO 1)} or {@code normal (why)}; waits up to 10 s to know. */
    public String priority() {
        try {
            return priority.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            return "not known yet (chrt has not answered within 10 s)";
        } catch (ExecutionException e) {
            return "normal (" + e.getCause() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "not known (interrupted)";
        }
    }

    /**
     * Runs {@code action} on the gate's thread at {@code atMicros} on {@link #clock} (at once when
     * that has passed), giving it the time it was started at, and waits for its result: up to the
     * instant plus {@code deadline}. Empty when the gate did not start it by then (it never will
     * after that: the caller may do it itself), or is closed. An action that was started is waited
     * for up to {@code deadline} more; one that throws throws here.
     */
    public <T> Optional<T> at(long atMicros, Function<Instant, T> action, Duration deadline) {
        return submit(atMicros, action).await(deadline);
    }

    /** As {@link #at}, without waiting: the caller collects the result later with {@link Pending#await}. */
    public <T> Pending<T> submit(long atMicros, Function<Instant, T> action) {
        Pending<T> job = new Pending<>(atMicros, action);
        if (closed || !thread.isAlive()) {
            job.cancel();
        } else {
            jobs.add(job);
        }
        return job;
    }

    /** An action handed to the gate; see {@link #at}. */
    public final class Pending<T> {
        private final long atMicros;
        private final Function<Instant, T> action;
        private final AtomicInteger state = new AtomicInteger(WAITING);
        private final CompletableFuture<T> done = new CompletableFuture<>();

        private Pending(long atMicros, Function<Instant, T> action) {
            this.atMicros = atMicros;
            this.action = action;
        }

        /** On the gate's thread: runs the action unless its caller gave it up. */
        private void run(Instant at) {
            if (state.compareAndSet(WAITING, RUNNING)) {
                try {
                    done.complete(action.apply(at));
                } catch (RuntimeException | Error e) {
                    done.completeExceptionally(e);
                }
            }
        }

        /** Never to run: its caller is let go with nothing. */
        private void cancel() {
            state.compareAndSet(WAITING, CANCELLED);
            done.complete(null);
        }

        /** Its result, waiting up to the instant plus {@code deadline}, as {@link #at} says. */
        public Optional<T> await(Duration deadline) {
            long wait = Math.max(0, atMicros - clock.micros()) + deadline.toNanos() / 1000;
            try {
                try {
                    return Optional.ofNullable(done.get(wait, TimeUnit.MICROSECONDS));
                } catch (TimeoutException e) {
                    if (state.compareAndSet(WAITING, CANCELLED)) {
                        log.warn("the {} gate did not get to an action within {} ms of its instant", name, deadline.toMillis());
                        return Optional.empty();
                    }
                    return Optional.ofNullable(done.get(deadline.toNanos(), TimeUnit.NANOSECONDS));
                }
            } catch (TimeoutException e) {
                throw new IllegalStateException("the " + name + " gate's action ran for over " + deadline.toMillis() + " ms");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new IllegalStateException("the " + name + " gate's action failed", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                state.compareAndSet(WAITING, CANCELLED);
                return Optional.empty();
            }
        }
    }

    private void serve(boolean wanted, List<String> chrt) {
        String said = wanted ? raiseAndSay(chrt, name + " gate", true) : "normal (not asked for)";
        boolean realtime = said.startsWith("realtime");
        priority.complete(said);
        long spin = realtime ? SPIN_MICROS : NORMAL_SPIN_MICROS;
        while (!closed) {
            Pending<?> job;
            try {
                job = jobs.take();
            } catch (InterruptedException e) {
                break;
            }
            if (job.state.get() != WAITING) {
                continue;
            }
            clock.awaitMicros(job.atMicros, spin);
            if (closed) {
                // Woken by close(), not by the instant.
                job.cancel();
                break;
            }
            job.run(clock.now());
        }
        for (Pending<?> j; (j = jobs.poll()) != null; ) {
            j.cancel();
        }
    }

    /**
     * Puts the calling thread at real-time priority ({@code SCHED_FIFO} 1, reset on fork) where
     * the system allows it, as a gate's own thread is: for a thread that must act on what it reads
     * at once, whatever else the machine runs. Says where it could not, once per JVM at info.
     *
     * @param what what the thread is for, in the log
     * @return {@code realtime (SCHED_FIFO 1)} or {@code normal (why)}
     */
    public static String raiseCurrentThread(String what) {
        return raiseAndSay(CHRT, what, true);
    }

    /**
     * As {@link #raiseCurrentThread}, but the processes the thread starts keep the priority: for
     * a thread that starts processes which leave it themselves before they run anything of a
     * user's (see the player's {@code StepStarter}).
     */
    public static String raiseCurrentThreadAndItsChildren(String what) {
        return raiseAndSay(CHRT, what, false);
    }

    /** As {@link #raiseCurrentThread}, for another process (its main thread): {@code pid}. */
    public static String raiseProcess(long pid, String what) {
        return raiseAndSay(CHRT, what, Long.toString(pid), true);
    }

    /**
     * As {@link #raiseProcess}, but what {@code pid} forks keeps the priority: for a process
     * whose children lower it themselves (see the player's step launcher).
     */
    public static String raiseProcessAndItsChildren(long pid, String what) {
        return raiseAndSay(CHRT, what, Long.toString(pid), false);
    }

    /** Raises the calling thread; what it starts keeps the priority unless {@code resetOnFork}. */
    private static String raiseAndSay(List<String> chrt, String what, boolean resetOnFork) {
        try {
            String tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            return raiseAndSay(chrt, what, tid, resetOnFork);
        } catch (IOException | UnsupportedOperationException e) {
            return say("normal (cannot tell this thread's id from /proc/thread-self: " + e.getMessage() + ")", what);
        }
    }

    private static String raiseAndSay(List<String> chrt, String what, String tid, boolean resetOnFork) {
        return say(raise(chrt, tid, resetOnFork), what);
    }

    /** Logs how {@code what} runs now ({@code said}, as {@link #raise} words it) and returns it. */
    private static String say(String said, String what) {
        if (said.startsWith("realtime")) {
            log.debug("{} at real-time priority (SCHED_FIFO 1)", what);
        } else {
            String why = said.substring("normal (".length(), said.length() - 1);
            if (TOLD_NORMAL.compareAndSet(false, true)) {
                log.info("{} at normal priority: {}; on a busy machine it may act late", what, why);
            } else {
                log.debug("{} at normal priority: {}", what, why);
            }
        }
        return said;
    }

    /** Asks for SCHED_FIFO 1 (with reset-on-fork, or not) for thread {@code tid}; says how it runs now. */
    private static String raise(List<String> candidates, String tid, boolean resetOnFork) {
        String chrt = candidates.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        if (chrt == null) {
            return "normal (no chrt in " + String.join(" or ", candidates) + "; it comes with util-linux)";
        }
        try {
            List<String> argv = new java.util.ArrayList<>(List.of(chrt));
            if (resetOnFork) {
                argv.add("--reset-on-fork");
            }
            argv.addAll(List.of("--fifo", "--pid", "1", tid));
            Process p = new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(1, TimeUnit.SECONDS);
                return "normal (chrt did not answer within 5 s)";
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.exitValue() != 0) {
                String first = out.isEmpty() ? "exit code " + p.exitValue() : out.lines().findFirst().orElse(out);
                return "normal (" + (first.startsWith("chrt: ") ? first : "chrt: " + first) + ")";
            }
            return "realtime (SCHED_FIFO 1)";
        } catch (IOException e) {
            return "normal (could not run chrt: " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "normal (interrupted while asking for it)";
        }
    }

    /**
     * Stops the gate; actions not started yet will not be, and one running now is waited for (up
     * to 5 s), so that what it started is there to be cleaned up once this returns.
     */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        if (Thread.currentThread() != thread) {
            try {
                if (!thread.join(Duration.ofSeconds(5))) {
                    log.warn("the {} gate's thread did not end within 5 s of its close", name);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
