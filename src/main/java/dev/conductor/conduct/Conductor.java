package dev.conductor.conduct;

import dev.conductor.clock.PreciseClock;
import dev.conductor.clock.RealtimeGate;
import dev.conductor.clock.YoungCollector;
import dev.conductor.events.Event;
import dev.conductor.events.EventSink;
import dev.conductor.plan.OnFailure;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.plan.TestPlan;
import dev.conductor.plan.Worker;
import dev.conductor.wire.Frames;
import dev.conductor.wire.PhaseOrder;

import java.io.IOException;
import java.net.Socket;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Drives every worker of a plan through its trials and phases, concurrently, and tells an
 * {@link EventSink} everything that happens. Speaks v2 to players that can, v1 to the others.
 * Never waits without a deadline: a player that cannot be reached or goes silent is reported by
 * name, the others go on, and the Reset phase is still attempted.
 */
public final class Conductor {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Conductor.class);
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
     * @param maxProtocol    2 to offer v2 first (falling back to v1 per player), 1 for v1 only
     * @param token          shared secret: players must prove they know it, and so must we
     * @param tls            the TLS context of v2 links, when TLS is on
     * @param realtimeRelease send each phase's start orders from a thread of real-time priority
     *                        where the system allows it (see {@link RealtimeGate}); on by default
     */
    public record Options(int trials, List<Phase> phases, List<String> workers, Optional<Duration> phaseDeadline,
                          Optional<Long> maxMessageSize, Duration ioDeadline, int maxProtocol, Optional<byte[]> token,
                          Optional<javax.net.ssl.SSLContext> tls, boolean realtimeRelease) {
        public Options {
            phases = List.copyOf(phases);
            workers = List.copyOf(workers);
        }

        public Options(int trials, List<Phase> phases, List<String> workers, Optional<Duration> phaseDeadline,
                       Optional<Long> maxMessageSize, Duration ioDeadline) {
            this(trials, phases, workers, phaseDeadline, maxMessageSize, ioDeadline, 2, Optional.empty(), Optional.empty(),
                    true);
        }

        public static Options defaults(TestPlan plan) {
            return new Options(plan.trials(), List.of(Phase.values()), List.of(), Optional.empty(), Optional.empty(),
                    Duration.ofSeconds(5));
        }

        public Options withMaxProtocol(int version) {
            return new Options(trials, phases, workers, phaseDeadline, maxMessageSize, ioDeadline, version, token, tls,
                    realtimeRelease);
        }

        public Options withToken(byte[] secret) {
            return new Options(trials, phases, workers, phaseDeadline, maxMessageSize, ioDeadline, maxProtocol,
                    Optional.of(secret.clone()), tls, realtimeRelease);
        }

        /** v2 over mutual TLS only: no v1 fallback, players must present a certificate from our CA. */
        public Options withTls(javax.net.ssl.SSLContext context) {
            return new Options(trials, phases, workers, phaseDeadline, maxMessageSize, ioDeadline, maxProtocol, token,
                    Optional.of(context), realtimeRelease);
        }

        public Options withRealtimeRelease(boolean realtime) {
            return new Options(trials, phases, workers, phaseDeadline, maxMessageSize, ioDeadline, maxProtocol, token,
                    tls, realtime);
        }
    }

    private final TestPlan plan;
    private final Options options;
    private final EventSink events;
    private final Transcripts transcripts;
    private final PreciseClock clock = new PreciseClock();
    /** How long the release gate may take to get to a phase's start orders before they are sent from the caller. */
    private static final Duration RELEASE_DEADLINE = Duration.ofSeconds(10);
    /** The extra lead of the next start, from how late the players were ready for the last ones. */
    private final StartLead startLead = new StartLead();
    private final AtomicBoolean interrupted = new AtomicBoolean();
    /** Reset is never aborted: it is where users clean up. */
    private volatile Phase currentPhase;
    private final AtomicInteger phaseIds = new AtomicInteger();
    private final List<WorkerRun> runs = new java.util.concurrent.CopyOnWriteArrayList<>();

    public Conductor(TestPlan plan, Options options, EventSink events) {
        this(plan, options, events, Transcripts.none());
    }

    public Conductor(TestPlan plan, Options options, EventSink events, Transcripts transcripts) {
        this.plan = plan;
        this.options = options;
        this.events = events;
        this.transcripts = transcripts;
    }

    /**
     * Stops the run after the phase under way, which v2 players abort at once (their running
     * step is killed); Reset still runs. Safe from any thread, e.g. a signal handler.
     */
    public void interrupt() {
        if (interrupted.compareAndSet(false, true) && currentPhase != Phase.RESET) {
            for (WorkerRun r : runs) {
                WorkerLink l = r.link;
                if (l != null && !l.broken()) {
                    l.abort("interrupted by the user");
                }
            }
        }
    }

    /** The phase deadline: the override, or the sum of the foreground steps' limits plus slack. */
    public static Duration deadline(Worker worker, Phase phase, Optional<Duration> override) {
        if (override.isPresent()) {
            return override.get();
        }
        Duration sum = PHASE_SLACK;
        for (Step s : worker.steps(phase)) {
            if (!(s instanceof Step.Command c && c.spawn())) {
                sum = sum.plus(s.limit());
            }
        }
        return sum;
    }

    /** Runs the plan; returns the exit code. Every connection and port it opened is closed on return. */
    public int run() {
        List<Worker> selected = plan.workers().stream()
                .filter(w -> options.workers().isEmpty() || options.workers().contains(w.name()))
                .toList();
        events.accept(new Event.RunStarted(Instant.now(), plan.testFile().toString(), options.trials(), options.phases(),
                selected.stream().map(w -> new Event.WorkerInfo(w.name(), w.coordinator().player(),
                        w.coordinator().cmdport())).toList()));
        if (selected.stream().anyMatch(w -> w.phases().values().stream().flatMap(List::stream)
                .anyMatch(s -> s.mode() == Step.Mode.GET))) {
            // A get's file is hashed here as it arrives: have SHA-256 compiled before the first one.
            dev.conductor.wire.BackgroundDigest.warmUp();
        }
        boolean anyLost = false;
        boolean anyFailed = false;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
             RealtimeGate gate = new RealtimeGate(clock, options.realtimeRelease(), "release")) {
            for (Worker w : selected) {
                runs.add(new WorkerRun(w, limitFor(w)));
            }
            for (int trial = 1; trial <= options.trials(); trial++) {
                events.accept(new Event.TrialStarted(Instant.now(), trial));
                // A player lost in an earlier trial may be back (restarted): try it again.
                runs.forEach(r -> r.lost = false);
                for (Phase phase : options.phases()) {
                    if (interrupted.get() && phase != Phase.RESET) {
                        continue;
                    }
                    PhaseOutcome o = runPhase(pool, gate, trial, phase);
                    anyLost |= o.lost;
                    anyFailed |= o.failed;
                }
                events.accept(new Event.TrialFinished(Instant.now(), trial));
                transcripts.flush();
                if (interrupted.get()) {
                    break;
                }
            }
        } finally {
            runs.forEach(WorkerRun::close);
            transcripts.flush();
        }
        int code = interrupted.get() ? EXIT_INTERRUPTED
                : anyLost ? EXIT_PLAYER_LOST : anyFailed ? EXIT_STEP_FAILED : EXIT_OK;
        events.accept(new Event.RunFinished(Instant.now(), code, interrupted.get()));
        return code;
    }

    /** Tells {@link #startLead} how long before its instant each v2 player was ready for this phase. */
    private void adaptLead(List<WorkerRun> running, long lead, long baseLead) {
        java.util.Map<String, Long> slacks = new java.util.HashMap<>();
        for (WorkerRun r : running) {
            if (r.link instanceof V2Link v2 && v2.startSlack().isPresent()) {
                slacks.put(r.worker.name(), v2.startSlack().getAsLong());
            }
        }
        startLead.phaseDone(slacks, lead, baseLead);
        if (log.isDebugEnabled()) {
            log.debug("start lead {} us (fixed part {}); players ready before the instant by (us, least first) {};"
                    + " next extra lead {} us", lead, baseLead, slacks.values().stream().sorted().limit(8).toList(),
                    startLead.extraMicros());
        }
    }

    private long limitFor(Worker w) {
        return options.maxMessageSize()
                .orElse(w.coordinator().maxMessageSize().isPresent() ? w.coordinator().maxMessageSize().getAsLong()
                        : plan.maxMessageSize().orElse(Frames.DEFAULT_LIMIT));
    }

    private record PhaseOutcome(boolean failed, boolean lost) {
    }

    private PhaseOutcome runPhase(ExecutorService pool, RealtimeGate gate, int trial, Phase phase) {
        // A lost player is still asked to Reset: that is where users clean up.
        List<WorkerRun> active = runs.stream().filter(r -> !r.lost || phase == Phase.RESET).toList();
        if (active.isEmpty()) {
            return new PhaseOutcome(false, false);
        }
        currentPhase = phase;
        events.accept(new Event.PhaseStarted(Instant.now(), trial, phase, active.stream().map(r -> r.worker.name()).toList()));
        boolean lost = false;
        Duration stepDeadline = options.ioDeadline().multipliedBy(3).plus(V2Link.SILENCE);

        // 1. Make sure every player has a link and the phase (those that took it ahead, during the
        // last phase, only confirm it), then arm its start (v1 opens its run connections here; v2
        // checks the clock): one task per player, all players at once.
        Reserved mine = reserved;
        reserved = null;
        int phaseId = mine != null && mine.is(trial, phase) ? mine.id() : phaseIds.incrementAndGet();
        List<Future<Readied>> readying = new ArrayList<>();
        for (WorkerRun r : active) {
            readying.add(pool.submit(() -> {
                Optional<String> problem = r.prepare(trial, phase, phaseId, order(trial, phase, r.worker));
                if (problem.isPresent()) {
                    return new Readied(problem.get(), null);
                }
                try {
                    return new Readied(null, r.link.arm(phaseId));
                } catch (LinkException e) {
                    return new Readied(r.link.describe() + ": could not be made ready to start " + phase.key()
                            + " of trial " + trial + ": " + e.getMessage(), null);
                }
            }));
        }
        List<WorkerRun> armed = new ArrayList<>();
        List<WorkerLink.Starter> starters = new ArrayList<>();
        for (int i = 0; i < active.size(); i++) {
            WorkerRun r = active.get(i);
            Readied got = awaitReadied(readying.get(i), stepDeadline.multipliedBy(2), "sending the " + phase.key()
                    + " phase and getting ready to start it did not end within " + stepDeadline.multipliedBy(2).toSeconds() + " s");
            if (got.starter() != null) {
                armed.add(r);
                starters.add(got.starter());
            } else {
                lost |= markLost(trial, phase, r, got.problem());
            }
        }
        // 2. Release every start, back to back.
        long maxRtt = armed.stream().mapToLong(r -> Math.max(0, r.link.rttMicros())).max().orElse(0);
        // Far enough ahead that every run message is on its way before the instant comes.
        long baseLead = 2_000 + 2 * maxRtt + 60L * armed.size();
        long lead = baseLead + startLead.extraMicros();
        // Back to back from the gate's thread: at real-time priority, the players it wakes one by
        // one do not take the CPU from it before the last order is out. The instant is taken there
        // too, when the first order goes: this thread, at normal priority, can be kept from a CPU
        // between taking it and handing the orders over.
        LinkException[] failures = new LinkException[armed.size()];
        Function<Instant, Long> release = at -> {
            long startAt = clock.micros() + lead;
            for (int i = 0; i < armed.size(); i++) {
                try (WorkerLink.Starter s = starters.get(i)) {
                    s.go(startAt);
                } catch (LinkException e) {
                    failures[i] = e;
                }
            }
            return startAt;
        };
        long startAt = gate.at(0, release, RELEASE_DEADLINE).orElseGet(() -> release.apply(Instant.now()));
        List<WorkerRun> running = new ArrayList<>();
        for (int i = 0; i < armed.size(); i++) {
            if (failures[i] == null) {
                running.add(armed.get(i));
            } else {
                lost |= markLost(trial, phase, armed.get(i), failures[i].getMessage());
            }
        }
        Instant sent = Instant.now();
        events.accept(new Event.PhaseReleased(sent, trial, phase, PreciseClock.toInstant(startAt)));
        for (WorkerRun r : running) {
            events.accept(new Event.WorkerStarted(sent, trial, phase, r.worker.name(), r.link.offsetMicros(),
                    r.link.clockErrorMicros()));
        }
        if (interrupted.get() && phase != Phase.RESET) {
            running.forEach(r -> r.link.abort("interrupted by the user"));
        }
        sendAhead(pool, gate, running, trial, phase, startAt);
        // While the players run their steps (after the phase sent ahead is out): a collection
        // when the next release comes would stop its orders half sent.
        YoungCollector.forThisJvm().ifPresent(young -> gate.submit(startAt + AHEAD_AFTER_START_MICROS, t -> young.collectIfLow()));

        // 3. Collect every worker's results and events, each against its own deadline; barriers
        // meet at the desk, which knows from the plan who has to come.
        java.util.Map<String, List<Step>> planned = new java.util.LinkedHashMap<>();
        active.forEach(r -> planned.put(r.worker.name(), r.worker.steps(phase)));
        BarrierDesk desk = new BarrierDesk(trial, phase, BarrierDesk.expected(planned), events, (worker, message) -> {
            for (WorkerRun r : running) {
                if (r.worker.name().equals(worker) && r.link instanceof V2Link v2) {
                    v2.releaseBarrier(message);
                }
            }
        });
        for (WorkerRun r : active) {
            if (!running.contains(r)) {
                desk.gone(r.worker.name(), "it could not be started");
            }
        }
        List<Future<Optional<WorkerLink.Collected>>> collecting = new ArrayList<>();
        for (WorkerRun r : running) {
            long deadline = System.nanoTime() + deadline(r.worker, phase, options.phaseDeadline()).toNanos();
            collecting.add(pool.submit(() -> Optional.of(r.link.collect(phaseId, trial, phase, r.worker.steps(phase),
                    deadline, r.reporter, desk))));
        }
        boolean failed = false;
        for (int i = 0; i < running.size(); i++) {
            WorkerRun r = running.get(i);
            Duration limit = deadline(r.worker, phase, options.phaseDeadline()).plusSeconds(5);
            Optional<WorkerLink.Collected> c = awaitValue(collecting.get(i), limit);
            if (c.isEmpty()) {
                lost |= markLost(trial, phase, r, "collecting results did not end within " + limit.toSeconds() + " s");
                continue;
            }
            failed |= c.get().failed();
            if (c.get().lostReason() != null) {
                lost |= markLost(trial, phase, r, c.get().lostReason());
            }
        }
        desk.close();
        adaptLead(running, lead, baseLead);
        events.accept(new Event.PhaseFinished(Instant.now(), trial, phase));
        return new PhaseOutcome(failed, lost);
    }

    /** The id taken for the phase sent ahead. */
    private record Reserved(int trial, Phase phase, int id) {
        boolean is(int trial, Phase phase) {
            return this.trial == trial && this.phase == phase;
        }
    }

    /** What a worker's player was sent ahead, on which link. */
    private record Ahead(Reserved phase, V2Link link) {
    }

    /** The id the next phase was sent ahead with, if it was. */
    private volatile Reserved reserved;

    /**
     * Sends the phase after this one to every running player that takes phases ahead, once this
     * one's instant has passed: while this phase runs, each player reads and confirms the next,
     * which then needs only its {@code run} (the round trip of sending a phase to every player
     * was most of a phase's overhead), and makes its first step's process ready. What is sent
     * ahead and not run is forgotten ({@link WorkerRun#prepare}).
     *
     * <p>Sent from the release gate's thread, back to back: from threads at normal priority, on a
     * machine whose CPUs the players' steps kept busy, the phases went out 40 ms after the
     * instant (median, 32 players on 2 CPUs) instead of 2, when this phase was ending, and each
     * player then made its next step ready just as it should have sent this phase's results
     * (docs/PERFORMANCE.md). Where the gate cannot, from {@code pool}.
     */
    private void sendAhead(ExecutorService pool, RealtimeGate gate, List<WorkerRun> running, int trial, Phase phase,
                           long startAt) {
        int at = options.phases().indexOf(phase);
        int nextTrial = at + 1 < options.phases().size() ? trial : trial + 1;
        if (interrupted.get() || at < 0 || nextTrial > options.trials()) {
            return;
        }
        Phase next = options.phases().get(nextTrial == trial ? at + 1 : 0);
        int id = phaseIds.incrementAndGet();
        Reserved ahead = new Reserved(nextTrial, next, id);
        reserved = ahead;
        List<V2Link> links = new ArrayList<>();
        List<PhaseOrder> orders = new ArrayList<>();
        for (WorkerRun r : running) {
            if (r.link instanceof V2Link v2 && v2.takesPhasesAhead()) {
                orders.add(order(nextTrial, next, r.worker));
                links.add(v2);
                r.ahead = new Ahead(ahead, v2);
            }
        }
        if (links.isEmpty()) {
            return;
        }
        // Not before the instant: reading it then would take a CPU from the start.
        long sendAt = startAt + AHEAD_AFTER_START_MICROS;
        Runnable send = () -> {
            for (int i = 0; i < links.size(); i++) {
                V2Link v2 = links.get(i);
                try {
                    v2.sendAhead(id, orders.get(i));
                } catch (LinkException e) {
                    continue; // The link is broken: the phase's own sending says so.
                }
                pool.submit(() -> {
                    try {
                        v2.probeAhead(PROBE_AHEAD_MICROS);
                    } catch (InterruptedException e) {
                        // The run is ending.
                    }
                });
            }
        };
        var sent = gate.submit(sendAt, t -> {
            send.run();
            return Boolean.TRUE;
        });
        pool.submit(() -> {
            if (sent.await(RELEASE_DEADLINE).isEmpty() && !interrupted.get()) {
                send.run(); // The gate could not get to it.
            }
        });
    }

    private static final long AHEAD_AFTER_START_MICROS = 2_000;
    /** How far ahead a phase sent ahead makes sure of a good clock estimate: phases are rarely longer. */
    private static final long PROBE_AHEAD_MICROS = 5_000_000;

    private boolean markLost(int trial, Phase phase, WorkerRun r, String reason) {
        r.lost = true;
        if (r.link != null && (r.link.broken() || r.link.protocol() == 2)) {
            // A v2 player that missed a deadline may be stuck: start afresh next time.
            r.link.close();
            r.link = null;
        }
        events.accept(new Event.WorkerLost(Instant.now(), trial, phase, r.worker.name(), reason));
        return true;
    }

    private PhaseOrder order(int trial, Phase phase, Worker worker) {
        List<PhaseOrder.StepSpec> specs = new ArrayList<>();
        for (Step s : worker.steps(phase)) {
            specs.add(spec(s));
        }
        return new PhaseOrder(worker.coordinator().conductor(), worker.coordinator().resultsport(), specs,
                Optional.of(trial), Optional.of(phase.key()), Optional.of(worker.name()),
                plan.onFailure() == OnFailure.CONTINUE);
    }

    /** A step as the wire carries it; see docs/PROTOCOL.md for each kind's arguments. */
    static PhaseOrder.StepSpec spec(Step step) {
        long seconds = Math.max(1, (step.limit().toMillis() + 999) / 1000);
        if (step instanceof Step.Command c) {
            return new PhaseOrder.StepSpec(c.command(), c.spawn(), c.limit().toSeconds(), PhaseOrder.StepSpec.COMMAND,
                    c.key(), null);
        }
        com.fasterxml.jackson.databind.node.ObjectNode args = dev.conductor.wire.Json.object();
        switch (step) {
            case Step.Sleep x -> args.put("ms", x.duration().toMillis());
            case Step.Barrier x -> args.put("name", x.name()).put("limit_ms", x.limit().toMillis());
            case Step.Expect x -> args.put("target", x.target()).put("regex", x.regex()).put("limit_ms", x.limit().toMillis());
            case Step.Send x -> args.put("target", x.target()).put("data", java.util.Base64.getEncoder()
                    .encodeToString(x.data().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)));
            case Step.Close x -> args.put("target", x.target());
            case Step.Signal x -> args.put("target", x.target()).put("signal", x.signal());
            case Step.Terminate x -> args.put("target", x.target()).put("grace_ms", x.grace().toMillis());
            case Step.Wait x -> args.put("target", x.target()).put("limit_ms", x.limit().toMillis());
            case Step.Put x -> args.put("remote", x.remote()).put("local", x.local());
            case Step.Get x -> args.put("remote", x.remote()).put("name", x.name());
            case Step.Command x -> throw new IllegalStateException("handled above");
        }
        return new PhaseOrder.StepSpec(step.text(), false, seconds, step.mode().key(), step.key(), args);
    }

    /** A player made ready to start a phase, or why it could not be. */
    private record Readied(String problem, WorkerLink.Starter starter) {
    }

    private static Readied awaitReadied(Future<Readied> f, Duration limit, String onTimeout) {
        try {
            return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            return new Readied(onTimeout, null);
        } catch (Exception e) {
            return new Readied("failed: " + e, null);
        }
    }

    private static <T> Optional<T> awaitValue(Future<Optional<T>> f, Duration limit) {
        try {
            return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            f.cancel(true);
            return Optional.empty();
        }
    }

    /** One worker over the whole run: its current link (re-opened when lost) and state. */
    private final class WorkerRun implements AutoCloseable {
        final Worker worker;
        final long maxMessageSize;
        final Reporter reporter;
        volatile WorkerLink link;
        volatile boolean lost;
        /** Bound on the first fallback to v1 and kept: its port is the worker's for the run. */
        private ResultPort resultPort;

        WorkerRun(Worker worker, long maxMessageSize) {
            this.worker = worker;
            this.maxMessageSize = maxMessageSize;
            this.reporter = new Reporter(events, transcripts, worker.name(), folderOf(plan.testFile()));
        }

        /** Sent ahead during the last phase, on that phase's link; null when nothing was. */
        volatile Ahead ahead;

        /**
         * Opens a link if there is none, then sends the phase, or confirms it when it was sent
         * ahead (forgetting one sent ahead that is not this phase). Empty when all went well.
         */
        Optional<String> prepare(int trial, Phase phase, int phaseId, PhaseOrder order) {
            Ahead sent = ahead;
            ahead = null;
            boolean taken = sent != null && sent.link() == link && !sent.link().broken();
            if (taken && !(sent.phase().is(trial, phase) && sent.phase().id() == phaseId)) {
                sent.link().forget(sent.phase().id());
                taken = false;
            }
            try {
                if (link == null || link.broken()) {
                    if (link != null) {
                        link.close();
                    }
                    link = open();
                }
                if (taken) {
                    sent.link().confirm(phaseId);
                } else {
                    link.send(phaseId, order);
                }
                return Optional.empty();
            } catch (LinkException e) {
                return Optional.of(e.getMessage());
            }
        }

        private WorkerLink open() throws LinkException {
            var c = worker.coordinator();
            String address = c.player() + ":" + c.cmdport();
            V1Link v1 = new V1Link(worker.name(), c.player(), c.cmdport(), maxMessageSize, options.ioDeadline());
            WorkerLink opened;
            if (options.maxProtocol() >= 2) {
                Socket socket = Dialer.connect(v1.describe(), c.player(), c.cmdport(), options.ioDeadline());
                if (options.tls().isPresent()) {
                    socket = Dialer.secure(socket, v1.describe(), c.player(), c.cmdport(), options.tls().get(),
                            options.ioDeadline());
                }
                try {
                    V2Link v2 = V2Link.open(worker.name(), address, socket, maxMessageSize, options.ioDeadline(),
                            options.token(), clock);
                    events.accept(new Event.LinkOpened(Instant.now(), worker.name(), address, 2, v2.playerVersion(),
                            v2.offsetMicros(), v2.rttMicros()));
                    return v2;
                } catch (V2Link.NotV2 e) {
                    if (options.tls().isPresent()) {
                        throw new LinkException(v1.describe() + " speaks only protocol v1, which has no TLS");
                    }
                    if (options.token().isPresent()) {
                        throw new LinkException(v1.describe() + " speaks only protocol v1, which has no authentication;"
                                + " refusing to use it while a token is set");
                    }
                    // A reference player: speak v1 to it alone.
                }
            }
            if (resultPort == null) {
                try {
                    resultPort = new ResultPort(worker.name(), c.conductor(), c.resultsport(), maxMessageSize,
                            options.ioDeadline());
                } catch (IOException e) {
                    throw new LinkException(e.getMessage());
                }
            }
            opened = new V1WorkerLink(v1, resultPort, c.conductor());
            events.accept(new Event.LinkOpened(Instant.now(), worker.name(), address, 1, "reference or v1", 0, -1));
            return opened;
        }

        @Override
        public void close() {
            if (link != null) {
                link.close();
            }
            if (resultPort != null) {
                resultPort.close();
            }
        }
    }

    private static java.nio.file.Path folderOf(java.nio.file.Path file) {
        java.nio.file.Path parent = file.toAbsolutePath().getParent();
        return parent == null ? java.nio.file.Path.of("").toAbsolutePath() : parent;
    }
}
