package dev.conductor.conduct;

import dev.conductor.events.Event;
import dev.conductor.events.EventSink;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.plan.TestPlan;
import dev.conductor.plan.Worker;
import dev.conductor.wire.Frames;
import dev.conductor.wire.PhaseOrder;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.StepResult.Status;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Drives every worker of a plan through its trials and phases over protocol v1, concurrently,
 * and tells an {@link EventSink} everything that happens. Never waits without a deadline: a
 * player that cannot be reached or goes silent is reported by name, the others go on, and the
 * Reset phase is still attempted.
 */
public final class Conductor {
    /** Exit codes of a run, as documented in the README. */
    public static final int EXIT_OK = 0;
    public static final int EXIT_STEP_FAILED = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_PLAYER_LOST = 3;
    public static final int EXIT_INTERRUPTED = 130;

    /** What a phase may take beyond its steps' own limits: connection set-up and result delivery. */
    private static final Duration PHASE_SLACK = Duration.ofSeconds(10);

    /**
     * @param trials         how many trials to run
     * @param phases         which phases, in order
     * @param workers        which workers by name; empty for all
     * @param phaseDeadline  one deadline for every phase, instead of the one derived from its steps
     * @param maxMessageSize frame limit in bytes, overriding the config's
     * @param ioDeadline     limit for connecting to a player and for each message exchange
     */
    public record Options(int trials, List<Phase> phases, List<String> workers, Optional<Duration> phaseDeadline,
                          Optional<Long> maxMessageSize, Duration ioDeadline) {
        public Options {
            phases = List.copyOf(phases);
            workers = List.copyOf(workers);
        }

        public static Options defaults(TestPlan plan) {
            return new Options(plan.trials(), List.of(Phase.values()), List.of(), Optional.empty(), Optional.empty(),
                    Duration.ofSeconds(5));
        }
    }

    private final TestPlan plan;
    private final Options options;
    private final EventSink events;
    private final AtomicBoolean interrupted = new AtomicBoolean();

    public Conductor(TestPlan plan, Options options, EventSink events) {
        this.plan = plan;
        this.options = options;
        this.events = events;
    }

    /** Asks the run to stop after the phase under way; Reset still runs. Safe from any thread. */
    public void interrupt() {
        interrupted.set(true);
    }

    /** The phase deadline: the override, or the sum of the foreground steps' limits plus slack. */
    public static Duration deadline(Worker worker, Phase phase, Optional<Duration> override) {
        if (override.isPresent()) {
            return override.get();
        }
        Duration sum = PHASE_SLACK;
        for (Step s : worker.steps(phase)) {
            if (s instanceof Step.Command c && !c.spawn()) {
                sum = sum.plus(c.limit());
            }
        }
        return sum;
    }

    /** Runs the plan; returns the exit code. Every port it opened is closed on return. */
    public int run() {
        List<Worker> selected = plan.workers().stream()
                .filter(w -> options.workers().isEmpty() || options.workers().contains(w.name()))
                .toList();
        events.accept(new Event.RunStarted(Instant.now(), plan.testFile().toString(), options.trials(), options.phases(),
                selected.stream().map(w -> new Event.WorkerInfo(w.name(), w.coordinator().player(),
                        w.coordinator().cmdport())).toList()));
        List<WorkerRun> runs = new ArrayList<>();
        boolean anyLost = false;
        boolean anyFailed = false;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Worker w : selected) {
                long limit = options.maxMessageSize()
                        .orElse(w.coordinator().maxMessageSize().isPresent() ? w.coordinator().maxMessageSize().getAsLong()
                                : plan.maxMessageSize().orElse(Frames.DEFAULT_LIMIT));
                try {
                    runs.add(new WorkerRun(w, limit));
                } catch (IOException e) {
                    // Our own port cannot be bound: nothing for this worker can work.
                    events.accept(new Event.WorkerLost(Instant.now(), 0, options.phases().getFirst(), w.name(), e.getMessage()));
                    anyLost = true;
                }
            }
            for (int trial = 1; trial <= options.trials(); trial++) {
                events.accept(new Event.TrialStarted(Instant.now(), trial));
                for (Phase phase : options.phases()) {
                    if (interrupted.get() && phase != Phase.RESET) {
                        continue;
                    }
                    PhaseOutcome o = runPhase(pool, trial, phase, runs);
                    anyLost |= o.lost;
                    anyFailed |= o.failed;
                }
                events.accept(new Event.TrialFinished(Instant.now(), trial));
                if (interrupted.get()) {
                    break;
                }
            }
        } finally {
            runs.forEach(WorkerRun::close);
        }
        int code = interrupted.get() ? EXIT_INTERRUPTED
                : anyLost ? EXIT_PLAYER_LOST : anyFailed ? EXIT_STEP_FAILED : EXIT_OK;
        events.accept(new Event.RunFinished(Instant.now(), code, interrupted.get()));
        return code;
    }

    private record PhaseOutcome(boolean failed, boolean lost) {
    }

    private PhaseOutcome runPhase(ExecutorService pool, int trial, Phase phase, List<WorkerRun> runs) {
        // A lost player is still asked to Reset: that is where users clean up.
        List<WorkerRun> active = runs.stream().filter(r -> !r.lost || phase == Phase.RESET).toList();
        if (active.isEmpty()) {
            return new PhaseOutcome(false, false);
        }
        events.accept(new Event.PhaseStarted(Instant.now(), trial, phase, active.stream().map(r -> r.worker.name()).toList()));
        boolean lost = false;

        // 1. Download the phase to every player at once.
        List<Future<Optional<String>>> downloads = new ArrayList<>();
        for (WorkerRun r : active) {
            downloads.add(pool.submit(() -> r.download(order(trial, phase, r.worker))));
        }
        List<WorkerRun> ready = new ArrayList<>();
        for (int i = 0; i < active.size(); i++) {
            Optional<String> problem = join(downloads.get(i), options.ioDeadline().multipliedBy(3),
                    "sending the " + phase.key() + " phase to " + active.get(i).link.describe());
            if (problem.isEmpty()) {
                ready.add(active.get(i));
            } else {
                lost |= markLost(trial, phase, active.get(i), problem.get());
            }
        }

        // 2. Open every run connection, then write all the runs back to back.
        List<Future<Optional<V1Link.Armed>>> arming = new ArrayList<>();
        for (WorkerRun r : ready) {
            arming.add(pool.submit(() -> r.arm(trial, phase)));
        }
        List<WorkerRun> started = new ArrayList<>();
        List<V1Link.Armed> armed = new ArrayList<>();
        for (int i = 0; i < ready.size(); i++) {
            Optional<V1Link.Armed> a = joinValue(arming.get(i), options.ioDeadline().multipliedBy(3));
            if (a.isPresent()) {
                armed.add(a.get());
                started.add(ready.get(i));
            } else {
                lost |= markLost(trial, phase, ready.get(i), ready.get(i).armProblem);
            }
        }
        for (WorkerRun r : started) {
            r.results.queue().clear(); // late results of an earlier, timed-out phase are not this phase's
        }
        List<WorkerRun> running = new ArrayList<>();
        for (int i = 0; i < armed.size(); i++) {
            try (V1Link.Armed a = armed.get(i)) {
                a.fire();
                running.add(started.get(i));
            } catch (LinkException e) {
                lost |= markLost(trial, phase, started.get(i), e.getMessage());
            }
        }
        Instant sent = Instant.now();
        for (WorkerRun r : running) {
            events.accept(new Event.WorkerStarted(sent, trial, phase, r.worker.name()));
        }

        // 3. Collect every worker's results, each against its own deadline.
        List<Future<Optional<Collected>>> collecting = new ArrayList<>();
        for (WorkerRun r : running) {
            collecting.add(pool.submit(() -> Optional.of(r.collect(trial, phase))));
        }
        boolean failed = false;
        for (int i = 0; i < running.size(); i++) {
            WorkerRun r = running.get(i);
            Duration limit = deadline(r.worker, phase, options.phaseDeadline()).plusSeconds(5);
            Optional<Collected> c = joinValue(collecting.get(i), limit);
            if (c.isEmpty()) {
                lost |= markLost(trial, phase, r, "collecting results did not end within " + limit.toSeconds() + " s");
                continue;
            }
            failed |= c.get().failed;
            if (c.get().lostReason != null) {
                lost |= markLost(trial, phase, r, c.get().lostReason);
            }
        }
        events.accept(new Event.PhaseFinished(Instant.now(), trial, phase));
        return new PhaseOutcome(failed, lost);
    }

    private boolean markLost(int trial, Phase phase, WorkerRun r, String reason) {
        r.lost = true;
        events.accept(new Event.WorkerLost(Instant.now(), trial, phase, r.worker.name(), reason));
        return true;
    }

    private PhaseOrder order(int trial, Phase phase, Worker worker) {
        List<PhaseOrder.StepSpec> specs = new ArrayList<>();
        for (Step s : worker.steps(phase)) {
            if (s instanceof Step.Command c) {
                specs.add(new PhaseOrder.StepSpec(c.command(), c.spawn(), c.limit().toSeconds()));
            }
        }
        return new PhaseOrder(worker.coordinator().conductor(), worker.coordinator().resultsport(), specs,
                Optional.of(trial), Optional.of(phase.key()), Optional.of(worker.name()),
                plan.onFailure() == dev.conductor.plan.OnFailure.CONTINUE);
    }

    private static Optional<String> join(Future<Optional<String>> f, Duration limit, String what) {
        try {
            return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            return Optional.of(what + " did not end within " + limit.toSeconds() + " s");
        } catch (Exception e) {
            return Optional.of(what + " failed: " + e);
        }
    }

    private static <T> Optional<T> joinValue(Future<Optional<T>> f, Duration limit) {
        try {
            return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            f.cancel(true);
            return Optional.empty();
        }
    }

    private record Collected(boolean failed, String lostReason) {
    }

    /** One worker's link, result port and state over the whole run. */
    private final class WorkerRun implements AutoCloseable {
        final Worker worker;
        final V1Link link;
        final ResultPort results;
        volatile boolean lost;
        volatile String armProblem = "";

        WorkerRun(Worker worker, long maxMessageSize) throws IOException {
            this.worker = worker;
            var c = worker.coordinator();
            this.link = new V1Link(worker.name(), c.player(), c.cmdport(), maxMessageSize, options.ioDeadline());
            // Bound before any run is sent, so a fast player is never refused.
            this.results = new ResultPort(worker.name(), c.conductor(), c.resultsport(), maxMessageSize, options.ioDeadline());
        }

        Optional<String> download(PhaseOrder order) {
            try {
                link.download(order);
                return Optional.empty();
            } catch (LinkException e) {
                return Optional.of(e.getMessage());
            }
        }

        Optional<V1Link.Armed> arm(int trial, Phase phase) {
            try {
                return Optional.of(link.arm());
            } catch (LinkException e) {
                armProblem = e.getMessage() + " (while starting " + phase.key() + " of trial " + trial + ")";
                return Optional.empty();
            }
        }

        Collected collect(int trial, Phase phase) throws InterruptedException {
            List<Step> steps = worker.steps(phase);
            Duration limit = deadline(worker, phase, options.phaseDeadline());
            long deadline = System.nanoTime() + limit.toNanos();
            boolean failed = false;
            boolean[] reported = new boolean[steps.size()];
            int next = 0;
            List<String> oddities = new ArrayList<>();
            while (true) {
                long left = deadline - System.nanoTime();
                ResultPort.Incoming in = left > 0 ? results.queue().poll(left, TimeUnit.NANOSECONDS) : null;
                if (in == null) {
                    return new Collected(failed, missing(phase, steps, reported, limit, oddities));
                }
                if (in instanceof ResultPort.Incoming.Garbage g) {
                    oddities.add(g.what() + " from " + g.from());
                    continue;
                }
                StepResult r = ((ResultPort.Incoming.Result) in).result();
                if (r.phaseDone()) {
                    events.accept(new Event.WorkerFinished(Instant.now(), trial, phase, worker.name()));
                    return new Collected(failed, null);
                }
                int index = r.details().map(StepResult.Details::index).orElse(next);
                if (index < 0 || index >= steps.size() || reported[index]) {
                    oddities.add("an unexpected result for step " + (index + 1) + ": code " + r.code());
                    continue;
                }
                reported[index] = true;
                next = index + 1;
                Step.Command step = (Step.Command) steps.get(index);
                Event.StepFinished e = stepFinished(trial, phase, index, step, r);
                failed |= e.failed();
                events.accept(e);
            }
        }

        private String missing(Phase phase, List<Step> steps, boolean[] reported, Duration limit, List<String> oddities) {
            int got = 0;
            int firstMissing = -1;
            for (int i = 0; i < reported.length; i++) {
                if (reported[i]) {
                    got++;
                } else if (firstMissing < 0) {
                    firstMissing = i;
                }
            }
            StringBuilder b = new StringBuilder(link.describe()).append(" went silent: ");
            if (firstMissing >= 0) {
                Step.Command s = (Step.Command) steps.get(firstMissing);
                b.append("no result for step ").append(firstMissing + 1).append(" '").append(s.key()).append("' (")
                        .append(s.command()).append(") ");
            } else {
                b.append("no 'phases complete' ");
            }
            b.append("within the ").append(phase.key()).append(" phase's deadline of ").append(limit.toSeconds())
                    .append(" s; ").append(got).append(" of ").append(steps.size()).append(" results arrived");
            if (!oddities.isEmpty()) {
                b.append("; also received ").append(String.join("; ", oddities));
            }
            return b.toString();
        }

        private Event.StepFinished stepFinished(int trial, Phase phase, int index, Step.Command step, StepResult r) {
            Optional<StepResult.Details> d = r.details();
            Status status = d.map(StepResult.Details::status).orElseGet(() -> statusOfReference(step, r));
            return new Event.StepFinished(Instant.now(), trial, phase, worker.name(), index, step.key(), step.command(),
                    step.mode(), status, r.code(), r.message(), d.map(StepResult.Details::startedAt),
                    d.map(StepResult.Details::duration),
                    d.map(StepResult.Details::stdout).orElse(r.code() == 0 ? r.message() : ""),
                    d.map(StepResult.Details::stderr).orElse(""));
        }

        @Override
        public void close() {
            results.close();
        }
    }

    /** A reference player sends only code and message; this is what they mean. */
    private static Status statusOfReference(Step.Command step, StepResult r) {
        if (r.code() == 0) {
            return step.spawn() ? Status.SPAWNED : Status.OK;
        }
        return r.message().startsWith("Command timed out") ? Status.TIMEOUT : Status.FAILED;
    }
}
