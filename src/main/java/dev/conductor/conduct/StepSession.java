package dev.conductor.conduct;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.clock.PreciseClock;
import dev.conductor.events.Event;
import dev.conductor.events.EventSink;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.Frames;
import dev.conductor.wire.PhaseOrder;
import dev.conductor.wire.StepResult.Status;

import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs steps on players one at a time, for code that chooses each step after seeing the last
 * one's outcome (a {@code Scenario}'s testers). Each worker gets its own protocol-v2 link; a
 * step travels as a phase of one step, so the player runs it exactly as it runs a step of a
 * test file, and its events land in the same log, numbered as one sequence per worker.
 * Barriers meet here, at the conductor. Every call has a deadline; a player that breaks its
 * link or goes silent is reported lost by name and its later steps fail at once.
 *
 * <p>Thread-safe for one caller per worker: the workers' steps run side by side.
 */
public final class StepSession implements AutoCloseable {
    /** What a step may take beyond its own limit: sending it, and its result coming back. */
    private static final Duration SLACK = Duration.ofSeconds(10);

    /**
     * @param ioDeadline     connecting and each message exchange
     * @param maxMessageSize largest frame accepted, in bytes
     * @param token          shared secret the players must prove they hold (and so must we)
     * @param tls            mutual TLS towards the players
     */
    public record Settings(Duration ioDeadline, long maxMessageSize, Optional<byte[]> token,
                           Optional<javax.net.ssl.SSLContext> tls) {
        public static Settings defaults() {
            return new Settings(Duration.ofSeconds(5), Frames.DEFAULT_LIMIT, Optional.empty(), Optional.empty());
        }
    }

    private final Path folder;
    private final Settings settings;
    private final EventSink events;
    private final Transcripts transcripts;
    private final int trial;
    private final Phase phase;
    private final PreciseClock clock = new PreciseClock();
    private final Map<String, V2Link> links = new ConcurrentHashMap<>();
    private final Map<String, String> lost = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<ObjectNode>> waiting = new ConcurrentHashMap<>();
    private final AtomicInteger phaseIds = new AtomicInteger();
    private final BarrierDesk desk;
    private final BarrierDesk noBarriers;

    /**
     * @param folder   where {@code put} finds its files (a test's folder)
     * @param trial    the trial and phase the steps are logged under
     * @param barriers who must come to each named barrier; a barrier not named here waits for {@code everyone}
     */
    public StepSession(Path folder, Settings settings, EventSink events, Transcripts transcripts, int trial, Phase phase,
                       Map<String, Set<String>> barriers, Set<String> everyone) {
        this.folder = folder.toAbsolutePath().normalize();
        this.settings = settings;
        this.events = events;
        this.transcripts = transcripts;
        this.trial = trial;
        this.phase = phase;
        Map<String, BarrierDesk.Expected> expected = new java.util.HashMap<>();
        barriers.forEach((name, who) -> expected.put(name, new BarrierDesk.Expected(Set.copyOf(who), null)));
        Set<String> all = Set.copyOf(everyone);
        this.desk = new BarrierDesk(trial, phase, expected, name -> new BarrierDesk.Expected(all, null), events,
                (worker, message) -> {
                    CompletableFuture<ObjectNode> f = waiting.remove(worker + "\0" + message.path("name").asText());
                    if (f != null) {
                        f.complete(message);
                    }
                });
        this.noBarriers = new BarrierDesk(trial, phase, Map.of(), events, (w, m) -> {
        });
    }

    /** Opens the worker's link: hello, authentication, clock probes. Logged as {@code LinkOpened}. */
    public void connect(String worker, String host, int port) throws LinkException {
        String address = host + ":" + port;
        String who = "player of worker '" + worker + "' at " + address;
        Socket socket = Dialer.connect(who, host, port, settings.ioDeadline());
        if (settings.tls().isPresent()) {
            socket = Dialer.secure(socket, who, host, port, settings.tls().get(), settings.ioDeadline());
        }
        V2Link link;
        try {
            link = V2Link.open(worker, address, socket, settings.maxMessageSize(), settings.ioDeadline(),
                    settings.token(), clock);
        } catch (V2Link.NotV2 e) {
            throw new LinkException(who + " speaks only protocol v1 (" + e.getMessage()
                    + "); a scenario needs protocol v2, which our players speak");
        }
        V2Link old = links.put(worker, link);
        if (old != null) {
            old.close();
        }
        lost.remove(worker);
        events.accept(new Event.LinkOpened(Instant.now(), worker, address, 2, link.playerVersion(), link.offsetMicros(),
                link.rttMicros()));
    }

    /**
     * Runs one step on the worker's player and waits for its result, at most the step's limit
     * plus a slack for the messages. Its events (start, output, end, files) go to the log as
     * step {@code index} of the worker.
     *
     * @return the step's end as logged; a lost player gives a failed one saying why
     */
    public Event.StepFinished run(String worker, int index, Step step) {
        Instant began = Instant.now();
        String gone = lost.get(worker);
        V2Link link = links.get(worker);
        if (gone == null && link == null) {
            gone = "no link to its player was opened";
        }
        if (gone != null) {
            return refused(worker, index, step, began, "not run: the player of worker '" + worker + "' is lost: " + gone);
        }
        int id = phaseIds.incrementAndGet();
        PhaseOrder order = new PhaseOrder("conductor", 1, List.of(Conductor.spec(step)), Optional.of(trial),
                Optional.of(phase.key()), Optional.of(worker), false);
        CompletableFuture<Event.StepFinished> finished = new CompletableFuture<>();
        Reporter reporter = new Reporter(e -> {
            if (e instanceof Event.WorkerFinished) {
                return; // the end of a one-step phase; the worker's part ends when its caller says so
            }
            events.accept(e);
            if (e instanceof Event.StepFinished f && f.worker().equals(worker) && f.index() == index) {
                finished.complete(f);
            }
        }, transcripts, worker, folder);
        try {
            link.send(id, order, index);
            try (WorkerLink.Starter s = link.arm(id)) {
                s.go(clock.micros());
            }
        } catch (LinkException e) {
            return lose(worker, index, step, began, e.getMessage());
        }
        long deadline = System.nanoTime() + step.limit().plus(SLACK).toNanos();
        WorkerLink.Collected c;
        try {
            c = link.collect(id, trial, phase, List.of(step), deadline, reporter, noBarriers);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            link.abort("the scenario was interrupted");
            return lose(worker, index, step, began, "interrupted while waiting for step '" + step.key() + "'");
        }
        if (c.lostReason() != null) {
            return lose(worker, index, step, began, c.lostReason());
        }
        return finished.getNow(null) != null ? finished.getNow(null)
                : lose(worker, index, step, began, link.describe() + " ended the step without its result");
    }

    /**
     * Waits at a barrier of the conductor's. The barrier fails for everyone when {@code limit}
     * passes for this worker before all have come, or when one of them can no longer come.
     */
    public Event.StepFinished barrier(String worker, int index, Step.Barrier step) {
        Instant began = Instant.now();
        events.accept(new Event.StepStarted(began, trial, phase, worker, index, began));
        CompletableFuture<ObjectNode> released = new CompletableFuture<>();
        waiting.put(worker + "\0" + step.name(), released);
        long t0 = System.nanoTime();
        desk.arrive(worker, step.name(), step.limit());
        ObjectNode m;
        try {
            // The desk answers at the limit; the extra second only guards against a desk gone wrong.
            m = released.get(step.limit().plusSeconds(1).toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            m = null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            m = null;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        boolean ok = m != null && m.path("ok").asBoolean();
        String message = m == null ? "barrier '" + step.name() + "': no release within " + step.text()
                : ok ? "barrier '" + step.name() + "' released: " + m.path("arrived")
                : "barrier '" + step.name() + "' failed: " + m.path("reason").asText("timed out") + "; never came: "
                + m.path("missing");
        return finish(worker, index, step, began, took, ok ? Status.OK : Status.TIMEOUT, ok ? 0 : 1, message);
    }

    /** The worker will reach no more barriers (it finished or stopped): those waiting for it are told at once. */
    public void gone(String worker, String why) {
        desk.gone(worker, why);
    }

    /**
     * Ends every worker's session on its player the way a trial's Reset does: whatever its steps
     * left running (spawned steps and their children) is killed. Waits for each player's word.
     */
    public void reset() {
        for (Map.Entry<String, V2Link> e : links.entrySet()) {
            String worker = e.getKey();
            V2Link link = e.getValue();
            if (link.broken()) {
                continue;
            }
            int id = phaseIds.incrementAndGet();
            PhaseOrder order = new PhaseOrder("conductor", 1, List.of(), Optional.of(trial), Optional.of(Phase.RESET.key()),
                    Optional.of(worker), false);
            Reporter reporter = new Reporter(events, transcripts, worker, folder);
            try {
                link.send(id, order, 0);
                try (WorkerLink.Starter s = link.arm(id)) {
                    s.go(clock.micros());
                }
                WorkerLink.Collected c = link.collect(id, trial, Phase.RESET, List.of(),
                        System.nanoTime() + SLACK.toNanos(), reporter, noBarriers);
                if (c.lostReason() != null) {
                    events.accept(new Event.WorkerLost(Instant.now(), trial, Phase.RESET, worker, c.lostReason()));
                }
            } catch (LinkException ex) {
                events.accept(new Event.WorkerLost(Instant.now(), trial, Phase.RESET, worker, ex.getMessage()));
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Why the worker's player was lost, if it was. */
    public Optional<String> lost(String worker) {
        return Optional.ofNullable(lost.get(worker));
    }

    private Event.StepFinished lose(String worker, int index, Step step, Instant began, String reason) {
        if (lost.putIfAbsent(worker, reason) == null) {
            events.accept(new Event.WorkerLost(Instant.now(), trial, phase, worker, reason));
        }
        V2Link link = links.get(worker);
        if (link != null) {
            link.close();
        }
        desk.gone(worker, "its player was lost");
        return refused(worker, index, step, began, reason);
    }

    private Event.StepFinished refused(String worker, int index, Step step, Instant began, String reason) {
        return finish(worker, index, step, began, Duration.between(began, Instant.now()), Status.FAILED, 1, reason);
    }

    private Event.StepFinished finish(String worker, int index, Step step, Instant began, Duration took, Status status,
                                      int code, String message) {
        Event.StepFinished f = new Event.StepFinished(Instant.now(), trial, phase, worker, index, step.key(), step.text(),
                step.mode(), status, code, message, Optional.of(began), Optional.of(took),
                status == Status.OK ? message : "", "");
        events.accept(f);
        return f;
    }

    /** Closes every link (after {@link #reset}, nothing of ours is left on the players). */
    @Override
    public void close() {
        desk.close();
        noBarriers.close();
        links.values().forEach(V2Link::close);
        waiting.values().forEach(f -> f.complete(null));
    }
}
