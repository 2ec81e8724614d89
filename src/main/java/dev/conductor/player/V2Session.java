package dev.conductor.player;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.clock.PreciseClock;
import dev.conductor.wire.Auth;
import dev.conductor.wire.DataFrame;
import dev.conductor.wire.FileTransfer;
import dev.conductor.wire.Frame;
import dev.conductor.wire.Frames;
import dev.conductor.wire.Json;
import dev.conductor.wire.PhaseOrder;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.V2;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * One conductor's v2 session on a player: a persistent connection over which phases arrive and
 * events stream back. Everything the session started is killed when it ends, however it ends:
 * {@code bye}, the conductor's connection dropping, or its heartbeats stopping.
 */
final class V2Session {
    private static final Logger log = LoggerFactory.getLogger(V2Session.class);
    static final Duration HEARTBEAT = Duration.ofSeconds(1);
    /** Silence after which the peer is taken for gone. */
    static final Duration SILENCE = Duration.ofSeconds(5);
    /** Farther ahead than this, a start instant is a mistake, not a plan. */
    private static final long MAX_START_AHEAD_MICROS = 10_000_000L;
    /** Small messages are read from here; data frames' bytes go past it, straight into their own arrays. */
    private static final int READ_BUFFER = 64 * 1024;
    /**
     * File data of a 'put' waiting for its step, in messages: at most this many times a chunk
     * (~4 MiB). When the step falls behind (a slow disk), the reader waits, TCP's window closes
     * and the conductor's sender blocks: nothing piles up.
     */
    private static final int PUT_QUEUE = 16;

    private final Socket socket;
    private final String peer;
    private final Player.Options options;
    private final PreciseClock clock;
    private final OutputStream out;
    private final Set<Long> groups = ConcurrentHashMap.newKeySet();
    private final StepRunner steps;
    private final ExecutorService runner;
    /** Forks each phase's first step at its instant, at real-time priority where allowed (see RealtimeGate). */
    private final dev.conductor.clock.RealtimeGate gate;
    /**
     * Phases received and not started, by id. Concurrent, not locked: the reader, at real-time
     * priority, takes a phase out for its 'run', and must never wait for the handler, at normal
     * priority, to get the CPU back and let go of a lock.
     */
    private final Map<Integer, Order> phases = new ConcurrentHashMap<>();

    /**
     * A phase received and not yet started, with what its start needs made in advance: its
     * environment, and its first step either forked and held until the instant
     * ({@code --hold-first-step}) or its fork made ({@code firstFork}; both null when that step
     * is not a command), so that reading its {@code run} costs little more than the message.
     * On a machine that many players share, what that costs is what makes a start late.
     */
    private record Order(PhaseOrder order, Map<String, String> env, StepRunner.ShellFork firstFork, StepRunner.Prepared held) {
        /** Kills the held first step, or gives back its fork made ready, if there is one: the phase will not run. */
        void discard() {
            if (held != null) {
                held.discard();
            }
            if (firstFork != null) {
                firstFork.discard();
            }
        }
    }
    /** Phases started and not yet done in this session. */
    private final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean ended;
    private String conductorName = "?";
    /** Spawned steps by key, for expect, send, close, signal, terminate and wait. */
    private final Map<String, Spawned> spawned = new ConcurrentHashMap<>();
    private volatile String latestSpawned;
    /** Releases the conductor sent, by barrier name, for the step waiting at it. */
    private final Map<String, java.util.concurrent.BlockingQueue<ObjectNode>> releases = new ConcurrentHashMap<>();

    record Spawned(Process process, OutputWatch watch) {
    }

    /** File messages of a 'put' in progress, by step index. */
    private final Map<Integer, java.util.concurrent.BlockingQueue<Frame>> incoming = new ConcurrentHashMap<>();

    /** The player's processes that outlive a session: adopted at a clean end, killed at a Reset or shutdown. */
    interface Leftovers {
        void adopt(Set<Long> groups);

        void killAll(String why);
    }

    private final Leftovers leftovers;
    private volatile boolean saidBye;
    /** Both sides listed {@link DataFrame#CAPABILITY} at hello: output and file bytes go as data frames. */
    private boolean dataFrames;
    /**
     * The conductor checks files by CRC32C and computes their SHA-256 itself: this side computes
     * CRC32C only (see {@link FileTransfer}).
     */
    private boolean crcPeer;
    private long peerLimit = Frames.DEFAULT_LIMIT;

    /** Starts steps and signals their groups (see {@link Launcher}); null where the player has none. */
    private final Launcher launcher;

    V2Session(Socket socket, String peer, Player.Options options, PreciseClock clock, Launcher launcher,
              StepStarter starter, Leftovers leftovers) throws IOException {
        this.launcher = launcher;
        this.leftovers = leftovers;
        this.socket = socket;
        this.peer = peer;
        this.options = options;
        this.clock = clock;
        this.out = socket.getOutputStream();
        this.steps = new StepRunner(options.workDir(), groups::add, clock, launcher, starter);
        this.runner = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("v2-runner-" + peer).unstarted(r));
        this.gate = new dev.conductor.clock.RealtimeGate(clock, options.realtimeStart(), "start-" + peer);
    }

    /**
     * The messages the session's reader handles itself, as soon as they are read: they are small
     * and cheap, and their time matters (a start, a clock probe, a barrier's release) or their
     * order with data frames does (a file's messages). The others (a phase to decode and make
     * ready, an abort, a goodbye) go to the session's handler thread, in the order they came.
     */
    private static final Set<String> READER_HANDLES = Set.of(V2.RUN, V2.PROBE, V2.HEARTBEAT, V2.BARRIER_RELEASE,
            FileTransfer.BEGIN, FileTransfer.DATA, FileTransfer.FILE_DONE, FileTransfer.DONE);
    /** Messages for the handler thread, in order; an empty body ends it. */
    private final java.util.concurrent.BlockingQueue<byte[]> forHandler = new java.util.concurrent.LinkedBlockingQueue<>(256);
    private static final byte[] END_OF_MESSAGES = new byte[0];
    /** Messages handed to the handler and not yet handled: a 'run' waits until it has caught up. */
    private int handlerBehind;
    /** The handler ended the session (a goodbye, a refusal): the reader's closed socket is no surprise. */
    private volatile boolean stopping;

    /**
     * Serves the session until it ends; {@code hello} is the frame that opened it.
     *
     * <p>The thread that reads runs at real-time priority where the system allows it (with
     * {@link Player.Options#realtimeStart}): on a machine shared by many players and their steps, a
     * reader at normal priority read its {@code run} tens of milliseconds after it came, and its
     * start was that late (docs/PERFORMANCE.md). What it does itself is kept small: reading frames
     * and the messages of {@link #READER_HANDLES}; the rest is decoded and handled by another
     * thread ({@link #handleInOrder}).
     */
    void serve(V2.Message hello) {
        Thread beat = null;
        Thread handler = null;
        try {
            if (!handshake(hello)) {
                return;
            }
            beat = Thread.ofVirtual().name("v2-heartbeat-" + peer).start(this::heartbeats);
            if (options.realtimeStart()) {
                dev.conductor.clock.RealtimeGate.raiseCurrentThread("the reader of the session with " + peer);
            }
            handler = Thread.ofPlatform().daemon().name("v2-handler-" + peer).start(this::handleInOrder);
            socket.setSoTimeout((int) SILENCE.toMillis());
            InputStream in = new java.io.BufferedInputStream(socket.getInputStream(), READ_BUFFER);
            while (!ended && !stopping) {
                V2.Raw frame;
                try {
                    frame = V2.readRaw(in, options.maxMessageSize());
                } catch (SocketTimeoutException e) {
                    log.warn("conductor {} at {} silent for {} s: ending its session", conductorName, peer, SILENCE.toSeconds());
                    return;
                } catch (ProtocolException e) {
                    refuse("bad message: " + e.getMessage());
                    return;
                }
                if (frame == null) {
                    if (!stopping) {
                        log.info("conductor {} at {} closed the connection", conductorName, peer);
                    }
                    return;
                }
                boolean goOn = switch (frame) {
                    case V2.Raw.Data d -> handle(d.header().readData(in, DataFrame.Landing.OWN));
                    case V2.Raw.Json j -> READER_HANDLES.contains(j.type()) ? handleNow(j.body()) : handOn(j.body());
                };
                if (!goOn) {
                    return;
                }
            }
        } catch (IOException e) {
            if (!stopping) {
                log.info("session with {} ended: {}", peer, e.getMessage());
            }
        } finally {
            stopHandler(handler);
            end(beat);
        }
    }

    /** Decodes and handles a message on the reader's thread. */
    private boolean handleNow(byte[] body) throws IOException {
        V2.Message m;
        try {
            m = V2.decode(body);
        } catch (ProtocolException e) {
            refuse("bad message: " + e.getMessage());
            return false;
        }
        if (V2.RUN.equals(m.type()) && !received(m.data().path("id").asInt(-1))) {
            awaitHandler();
        }
        return handle(m);
    }

    /** Gives a message to the handler thread, waiting for room (the conductor then waits too). */
    private boolean handOn(byte[] body) throws java.io.InterruptedIOException {
        synchronized (forHandler) {
            handlerBehind++;
        }
        try {
            forHandler.put(body);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while handing a message on");
        }
    }

    /** Whether phase {@code id} has been received and made ready (its {@code run} need wait for nothing). */
    private boolean received(int id) {
        return phases.containsKey(id);
    }

    /**
     * Waits until the handler has handled what was handed to it (up to {@link #SILENCE}): a
     * {@code run} must not overtake its phase. The conductor sends a phase's {@code run} only
     * once the player confirmed the phase, so this happens only when a conductor does not keep
     * to that. (Waiting whenever the handler had anything in hand made the reader, at real-time
     * priority, wait for a thread at normal priority that had sent {@code phase_ok} and not yet
     * got the CPU back to note it: starts tens of milliseconds late on a busy machine.)
     */
    private void awaitHandler() throws java.io.InterruptedIOException {
        long deadline = System.nanoTime() + SILENCE.toNanos();
        synchronized (forHandler) {
            while (handlerBehind > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    log.warn("conductor {} at {}: a run came while the messages before it were still being handled",
                            conductorName, peer);
                    return;
                }
                try {
                    forHandler.wait(left / 1_000_000 + 1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for the session's handler");
                }
            }
        }
    }

    /**
     * The handler thread: decodes and handles what the reader handed on, in order, until told to
     * stop. At real-time priority too where the reader is (reset on fork): it handles the phases
     * sent ahead, and makes their first step's process ready (see {@link StepStarter}); at normal
     * priority it read them 25 to 38 ms after they came (median, 32 players on 2 CPUs, whose steps
     * kept every CPU busy), and the steps were made ready as the phase ended, delaying its end
     * (docs/PERFORMANCE.md).
     */
    private void handleInOrder() {
        if (options.realtimeStart()) {
            dev.conductor.clock.RealtimeGate.raiseCurrentThread("the handler of the session with " + peer);
        }
        try {
            while (true) {
                byte[] body = forHandler.take();
                if (body == END_OF_MESSAGES) {
                    return;
                }
                boolean goOn;
                try {
                    goOn = handle(V2.decode(body));
                } catch (ProtocolException e) {
                    refuse("bad message: " + e.getMessage());
                    goOn = false;
                } catch (IOException e) {
                    log.info("session with {} ended: {}", peer, e.getMessage());
                    goOn = false;
                }
                synchronized (forHandler) {
                    handlerBehind--;
                    forHandler.notifyAll();
                }
                if (!goOn) {
                    // The reader is blocked reading: closing the socket ends it, and the session with it.
                    stopping = true;
                    try {
                        socket.close();
                    } catch (IOException ignored) {
                        // Closed is what we want.
                    }
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Lets the handler finish what it was given (a goodbye read just before the connection closed
     * decides what happens to the session's processes), then ends it: within 10 s, or it is
     * interrupted.
     */
    private void stopHandler(Thread handler) {
        if (handler == null) {
            return;
        }
        try {
            if (!forHandler.offer(END_OF_MESSAGES, 10, TimeUnit.SECONDS) || !handler.join(Duration.ofSeconds(10))) {
                log.warn("the handler of the session with {} did not end within 10 s", peer);
                handler.interrupt();
            }
        } catch (InterruptedException e) {
            handler.interrupt();
            Thread.currentThread().interrupt();
        }
    }

    private boolean handshake(V2.Message hello) throws IOException {
        String conductorNonce = hello.data().path("nonce").asText("");
        conductorName = hello.data().path("conductor").asText("?");
        for (var c : hello.data().path("capabilities")) {
            dataFrames |= DataFrame.CAPABILITY.equals(c.asText());
            crcPeer |= FileTransfer.CRC_CAPABILITY.equals(c.asText());
        }
        // The conductor's own limit bounds our data frames; one that does not say takes the default.
        peerLimit = hello.data().path("max_message_size").asLong(Frames.DEFAULT_LIMIT);
        boolean offersV2 = false;
        for (var v : hello.data().path("versions")) {
            offersV2 |= v.asInt() == V2.VERSION;
        }
        if (!offersV2) {
            refuse("no common protocol version (this player speaks 1 and 2)");
            return false;
        }
        String playerNonce = Auth.nonce();
        ObjectNode welcome = Json.object();
        welcome.put("player", options.name());
        welcome.put("player_version", Player.VERSION);
        welcome.putArray("capabilities").add("stream").add("spawn_exit").add("abort").add("clock")
                .add(DataFrame.CAPABILITY).add(FileTransfer.CRC_CAPABILITY).add(V2.AHEAD_CAPABILITY);
        welcome.put("max_message_size", options.maxMessageSize());
        welcome.put("nonce", playerNonce);
        welcome.put("auth", options.token().isPresent() ? Auth.SCHEME : "none");
        options.token().ifPresent(t -> welcome.put("proof", Auth.proof(t, "player", conductorNonce, playerNonce)));
        send(V2.WELCOME, welcome);
        if (options.token().isEmpty()) {
            return true;
        }
        socket.setSoTimeout((int) SILENCE.toMillis());
        byte[] body = Frames.read(socket.getInputStream(), options.maxMessageSize());
        V2.Message auth;
        try {
            auth = body == null ? null : V2.decode(body);
        } catch (ProtocolException e) {
            auth = null;
        }
        String expected = Auth.proof(options.token().get(), "conductor", conductorNonce, playerNonce);
        if (auth == null || !V2.AUTH.equals(auth.type()) || !Auth.matches(expected, auth.data().path("proof").asText(null))) {
            log.warn("refused conductor at {}: authentication failed (wrong or missing token)", peer);
            refuse("authentication failed: this player needs the shared token (--token-file)");
            return false;
        }
        send(V2.AUTH_OK, Json.object());
        return true;
    }

    /** @return false when the session is to end */
    private boolean handle(V2.Message m) throws IOException {
        switch (m.type()) {
            case V2.HEARTBEAT -> {
            }
            case V2.PROBE -> {
                long t1 = clock.micros();
                ObjectNode d = Json.object();
                d.put("t0", m.data().path("t0").asLong());
                d.put("t1", t1);
                d.put("t2", clock.micros());
                send(V2.PROBE_REPLY, d);
            }
            case V2.PHASE -> {
                int id = m.data().path("id").asInt(-1);
                PhaseOrder order;
                try {
                    order = PhaseOrder.fromData(withResultTarget(m.data()));
                } catch (ProtocolException e) {
                    refuse("bad phase: " + e.getMessage());
                    return false;
                }
                // Before phase_ok: the conductor picks the start instant after every player confirmed.
                // A phase sent ahead, while another runs here, is only kept: a held fork now would
                // take the CPU from the running phase, and a Reset's end would kill it.
                Map<String, String> env = Player.environment(order, options.name());
                StepRunner.Prepared held = running.get() > 0 ? null : prepareFirst(id, order, env);
                ObjectNode ok = Json.object();
                ok.put("id", id);
                send(V2.PHASE_OK, ok);
                // After phase_ok: the conductor need not wait for the first step's process (see
                // StepStarter) to be started; a 'run' that comes before it is ready waits for it
                // (awaitHandler). The other order was measured and not kept (docs/PERFORMANCE.md).
                boolean command = !order.steps().isEmpty() && order.steps().getFirst().isCommand();
                StepRunner.ShellFork fork = command && held == null ? steps.forkOf(order.steps().getFirst(), env) : null;
                Order replaced = phases.put(id, new Order(order, env, fork, held));
                if (replaced != null) {
                    replaced.discard();
                }
            }
            case V2.RUN -> {
                int id = m.data().path("id").asInt(-1);
                Order pending = phases.remove(id);
                if (pending == null) {
                    refuse("run of phase " + id + ", which was never sent");
                    return false;
                }
                long startAt = m.data().path("start_at").asLong(0);
                // Ready to start: what the conductor needs to know to give the next phase enough lead.
                long slack = startAt - clock.micros();
                long instant = startAt;
                if (slack > MAX_START_AHEAD_MICROS) {
                    // A clock offset gone wrong must not park the session: start now and say so.
                    log.warn("phase {} was to start {} s from now; starting at once", id, slack / 1_000_000);
                    instant = 0;
                }
                steps.resetAbort();
                // The start is handed to the gate here, on the thread that read 'run': the
                // phase's own thread may not get a CPU before the instant on a busy machine.
                StepRunner.Prepared first = pending.held();
                StepRunner.Start start = steps.now();
                if (pending.firstFork() instanceof StepRunner.SpareFork spare) {
                    // The spare waits for the instant itself: told now, no thread of ours involved.
                    start = steps.timed(spare, instant);
                } else if (instant > 0) {
                    start = first != null ? steps.armedRelease(gate, instant, first)
                            : pending.firstFork() != null ? steps.armed(gate, instant, pending.firstFork())
                            : steps.at(gate, instant);
                }
                StepRunner.Start firstStart = start;
                long at = instant;
                running.incrementAndGet();
                runner.execute(() -> {
                    try {
                        runPhase(id, pending, at, slack, first, firstStart);
                    } finally {
                        running.decrementAndGet();
                    }
                });
            }
            case V2.FORGET -> {
                Order forgotten = phases.remove(m.data().path("id").asInt(-1));
                if (forgotten != null) {
                    forgotten.discard();
                }
            }
            case V2.BARRIER_RELEASE -> releases
                    .computeIfAbsent(m.data().path("name").asText(), n -> new java.util.concurrent.LinkedBlockingQueue<>())
                    .add(m.data());
            case FileTransfer.BEGIN, FileTransfer.DATA, FileTransfer.FILE_DONE, FileTransfer.DONE ->
                    toPut(m.data().path("index").asInt(-1), m);
            case V2.ABORT -> {
                log.info("conductor {} aborted the running phase: {}", conductorName, m.data().path("reason").asText(""));
                steps.abort();
            }
            case V2.BYE -> {
                saidBye = true;
                return false;
            }
            default -> {
                refuse("unknown message type '" + m.type() + "'");
                return false;
            }
        }
        return true;
    }

    /** A data frame from the conductor: bytes of a 'put'. */
    private boolean handle(DataFrame d) {
        if (d.kind() != DataFrame.Kind.FILE) {
            refuse("a data frame of kind " + d.kind() + " from the conductor (only file data goes this way)");
            return false;
        }
        toPut(d.index(), d);
        return true;
    }

    /** Hands a file message to its 'put' step, waiting for room; dropped when no step takes it (any more). */
    private void toPut(int index, Frame f) {
        try {
            var q = incoming.get(index);
            while (q != null && !ended && !q.offer(f, 1, TimeUnit.SECONDS)) {
                q = incoming.get(index);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** v2 phases carry no result address (results go back on this connection). */
    private static ObjectNode withResultTarget(ObjectNode data) {
        ObjectNode copy = data.deepCopy();
        copy.put("resulthost", "session");
        copy.put("resultport", 1);
        return copy;
    }

    /** The phase's first step forked and held, when it is a command; null otherwise. */
    private StepRunner.Prepared prepareFirst(int id, PhaseOrder order, Map<String, String> env) {
        if (!options.holdFirstStep() || order.steps().isEmpty() || !order.steps().getFirst().isCommand()) {
            return null;
        }
        PhaseOrder.StepSpec step = order.steps().getFirst();
        return steps.prepare(step, env, listener(id, 0, step));
    }

    /**
     * @param instant when the first step starts on this player's clock, 0 for at once
     * @param slack   how long before the instant its start was handed to the gate
     * @param start   how the first step starts: at the instant, from the gate (see the 'run' message)
     */
    private void runPhase(int id, Order pending, long instant, long slack, StepRunner.Prepared first,
                          StepRunner.Start start) {
        PhaseOrder order = pending.order();
        Map<String, String> env = pending.env();
        long startedAt = 0;
        String failedAt = null;
        List<PhaseOrder.StepSpec> list = order.steps();
        if (list.isEmpty() || !list.getFirst().isCommand()) {
            startedAt = PreciseClock.toMicros(start.start(null).at());
        }
        for (int i = 0; i < list.size() && !ended; i++) {
            PhaseOrder.StepSpec step = list.get(i);
            StepResult result;
            if (i == 0 && first != null) {
                result = steps.release(0, first, start);
                startedAt = startedMicros(result);
                StepResult.Status status = result.details().map(StepResult.Details::status).orElse(StepResult.Status.FAILED);
                if (status == StepResult.Status.KILLED) {
                    failedAt = "the phase was aborted at step 1;";
                } else if (result.code() != 0 && !order.continueOnFailure()) {
                    failedAt = "step 1 (" + step.command() + ")";
                }
            } else if (failedAt != null) {
                result = Player.skipped(i, step, failedAt + " failed earlier in this phase");
            } else if (!step.isCommand()) {
                result = coordination(id, i, step);
                StepResult.Status status = result.details().map(StepResult.Details::status).orElse(StepResult.Status.FAILED);
                if (result.code() != 0 && status != StepResult.Status.OK && !order.continueOnFailure()) {
                    failedAt = "step " + (i + 1) + " (" + step.command() + ")";
                }
            } else {
                result = i == 0 && pending.firstFork() != null
                        ? steps.run(i, step, listener(id, i, step), start, pending.firstFork())
                        : steps.run(i, step, env, listener(id, i, step), i == 0 ? start : steps.now());
                if (i == 0) {
                    startedAt = startedMicros(result);
                }
                StepResult.Status status = result.details().map(StepResult.Details::status).orElse(StepResult.Status.FAILED);
                if (status == StepResult.Status.KILLED) {
                    failedAt = "the phase was aborted at step " + (i + 1) + ";";
                } else if (result.code() != 0 && !order.continueOnFailure()) {
                    failedAt = "step " + (i + 1) + " (" + step.command() + ")";
                }
            }
            ObjectNode d = result.toData();
            d.put("id", id);
            d.put("index", i);
            trySend(V2.STEP_FINISHED, d);
        }
        if (first != null && ended) {
            first.discard();
        }
        boolean reset = order.phase().filter("reset"::equals).isPresent();
        // Taken before phase_done: a next phase may be sent at once, and its held first step
        // must not be killed as a leftover of this one.
        Set<Long> leftOfTrial = reset ? takeGroups() : Set.of();
        ObjectNode done = Json.object();
        done.put("id", id);
        if (instant > 0) {
            done.put("start_late_us", Math.max(0, startedAt - instant));
            done.put("start_slack_us", slack);
        }
        drainSpools();
        // Said before the clean-up below, which reads /proc and would otherwise delay every
        // player's answer, all at the same moment.
        trySend(V2.PHASE_DONE, done);
        if (reset) {
            killGroups(leftOfTrial, "the trial's Reset phase finished");
            leftovers.killAll("the trial's Reset phase finished");
        }
    }

    /** When a step started, on this player's clock (now, for a result that does not say). */
    private long startedMicros(StepResult result) {
        return result.details().map(d -> PreciseClock.toMicros(d.startedAt())).orElseGet(clock::micros);
    }

    private StepRunner.Listener listener(int id, int index, PhaseOrder.StepSpec step) {
        OutputWatch watch = step.spawn() ? new OutputWatch() : null;
        // A spawned step's output may be expected: it goes through spools (see OutputSpool).
        OutputSpool[] spools = watch == null ? null : new OutputSpool[]{spool(id, index, 1, watch), spool(id, index, 2, watch)};
        if (watch != null) {
            watch.onWaitingChanged(() -> {
                spools[0].expectChanged();
                spools[1].expectChanged();
            });
        }
        return new StepRunner.Listener() {
            @Override
            public void spawned(Process process) {
                if (step.key() != null) {
                    spawned.put(step.key(), new Spawned(process, watch));
                    latestSpawned = step.key();
                }
            }

            @Override
            public void outputEnded() {
                if (watch != null) {
                    watch.end();
                    spools[0].end();
                    spools[1].end();
                }
            }

            @Override
            public void started(Instant at) {
                ObjectNode d = Json.object();
                d.put("id", id);
                d.put("index", index);
                d.put("at", PreciseClock.toMicros(at));
                trySend(V2.STEP_STARTED, d);
            }

            @Override
            public void output(int stream, byte[] buf, int off, int len) {
                if (watch != null) {
                    watch.feed(buf, off, len);
                    try {
                        spools[stream - 1].output(buf, off, len);
                    } catch (IOException e) {
                        log.debug("sending output to {} failed: {}", peer, e.getMessage());
                    }
                    return;
                }
                try {
                    sendOutput(id, index, stream, buf, off, len);
                } catch (IOException e) {
                    log.debug("sending output to {} failed: {}", peer, e.getMessage());
                }
            }

            @Override
            public void spawnExited(int code) {
                ObjectNode d = Json.object();
                d.put("id", id);
                d.put("index", index);
                d.put("code", code);
                // Its output read so far goes first; waited for on a thread of its own, not on
                // the JDK's thread that saw the process end.
                Thread.ofPlatform().daemon().name("spawn-exited-" + (index + 1)).start(() -> {
                    awaitSent(spools[0]);
                    awaitSent(spools[1]);
                    trySend(V2.SPAWN_EXITED, d);
                });
            }
        };
    }

    /** Spools of the spawned steps' output, until their streams end and all of it went out. */
    private final Set<OutputSpool> spools = ConcurrentHashMap.newKeySet();
    /** How long a spool may send nothing before a phase's end stops waiting for it (the conductor is not reading). */
    private static final Duration SPOOL_STALL = SILENCE.multipliedBy(2);

    private OutputSpool spool(int id, int index, int stream, OutputWatch watch) {
        OutputSpool s = new OutputSpool((buf, off, len) -> sendOutput(id, index, stream, buf, off, len),
                Path.of(System.getProperty("java.io.tmpdir")), watch::expecting,
                (stream == 1 ? "stdout" : "stderr") + "-of-step-" + (index + 1));
        spools.add(s);
        return s;
    }

    /** Waits until what {@code s} has read went out, while it keeps sending. */
    private void awaitSent(OutputSpool s) {
        try {
            if (!s.awaitSent(SPOOL_STALL)) {
                log.warn("output of a spawned step could not be sent to {} for {} s: going on without it", peer,
                        SPOOL_STALL.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Before a phase's end is told: the output its spawned steps printed so far is sent. */
    private void drainSpools() {
        for (OutputSpool s : spools) {
            awaitSent(s);
            if (s.done()) {
                spools.remove(s);
                s.close();
            }
        }
    }

    /** Output of a step: data frames when agreed, else JSON with base64. Throws when the link is broken. */
    private void sendOutput(int id, int index, int stream, byte[] buf, int off, int len) throws IOException {
        if (ended) {
            throw new IOException("the session ended");
        }
        if (dataFrames) {
            sendOutputFrames(id, index, stream, buf, off, len);
            return;
        }
        ObjectNode d = Json.object();
        d.put("id", id);
        d.put("index", index);
        d.put("stream", stream == 1 ? "stdout" : "stderr");
        d.put("data", Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(buf, off, off + len)));
        send(V2.OUTPUT, d);
    }

    /** Runs a step that is not a command; see docs/CONFIG.md for what each kind does. */
    private StepResult coordination(int id, int index, PhaseOrder.StepSpec step) {
        Instant started = clock.now();
        long t0 = System.nanoTime();
        ObjectNode begun = Json.object();
        begun.put("id", id);
        begun.put("index", index);
        begun.put("at", PreciseClock.toMicros(started));
        trySend(V2.STEP_STARTED, begun);
        ObjectNode a = step.args() == null ? Json.object() : step.args();
        Outcome o;
        try {
            o = switch (step.kind()) {
                case "sleep" -> {
                    Thread.sleep(a.path("ms").asLong());
                    yield new Outcome(0, StepResult.Status.OK, "slept " + a.path("ms").asLong() + " ms", "");
                }
                case "barrier" -> barrier(id, index, a);
                case "put" -> put(id, index, a);
                case "get" -> get(id, index, a);
                case "expect" -> expect(a);
                case "send" -> withTarget(a, sp -> {
                    byte[] data = java.util.Base64.getDecoder().decode(a.path("data").asText());
                    sp.process().getOutputStream().write(data);
                    sp.process().getOutputStream().flush();
                    return new Outcome(0, StepResult.Status.OK, "sent " + data.length + " bytes", "");
                });
                case "close" -> withTarget(a, sp -> {
                    sp.process().getOutputStream().close();
                    return new Outcome(0, StepResult.Status.OK, "stdin closed", "");
                });
                case "signal" -> withTarget(a, sp -> {
                    ProcessGroups.signal(List.of(sp.process().pid()), a.path("signal").asText(), launcher);
                    return new Outcome(0, StepResult.Status.OK, "sent SIG" + a.path("signal").asText(), "");
                });
                case "terminate" -> withTarget(a, sp -> terminate(sp, Duration.ofMillis(a.path("grace_ms").asLong(5000))));
                case "wait" -> withTarget(a, sp -> {
                    long limit = a.path("limit_ms").asLong(30_000);
                    if (!sp.process().waitFor(limit, TimeUnit.MILLISECONDS)) {
                        return new Outcome(V1_ERROR, StepResult.Status.TIMEOUT, "'" + target(a) + "' still running after "
                                + limit / 1000.0 + " s (left running)", "");
                    }
                    int code = sp.process().exitValue();
                    return new Outcome(code, code == 0 ? StepResult.Status.OK : StepResult.Status.FAILED,
                            "'" + target(a) + "' exited with code " + code, "");
                });
                default -> new Outcome(V1_ERROR, StepResult.Status.FAILED,
                        "this player does not know steps of kind '" + step.kind() + "' (player " + Player.VERSION + ")", "");
            };
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            o = new Outcome(V1_ERROR, StepResult.Status.KILLED, "interrupted: the session is ending", "");
        } catch (IOException e) {
            o = new Outcome(V1_ERROR, StepResult.Status.FAILED, e.getMessage(), "");
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        return new StepResult(o.code(), o.message(), java.util.Optional.of(new StepResult.Details(index, o.status(),
                step.command(), started, took, o.stdout(), "", o.stdout().length(), 0)));
    }

    private static final int V1_ERROR = 1;

    private record Outcome(int code, StepResult.Status status, String message, String stdout) {
    }

    private interface TargetAction {
        Outcome apply(Spawned target) throws IOException, InterruptedException;
    }

    private static String target(ObjectNode a) {
        return a.path("target").asText("-");
    }

    private Outcome withTarget(ObjectNode a, TargetAction action) throws IOException, InterruptedException {
        String name = target(a);
        String key = name.equals("-") ? latestSpawned : name;
        Spawned sp = key == null ? null : spawned.get(key);
        if (sp == null) {
            return new Outcome(V1_ERROR, StepResult.Status.FAILED, "no spawned step '" + name
                    + "' in this session (spawned so far: " + String.join(", ", new java.util.TreeSet<>(spawned.keySet())) + ")", "");
        }
        return action.apply(sp);
    }

    private Outcome expect(ObjectNode a) throws IOException, InterruptedException {
        return withTarget(a, sp -> {
            long limit = a.path("limit_ms").asLong(30_000);
            String regex = a.path("regex").asText();
            OutputWatch.Result r = sp.watch().await(regex, Duration.ofMillis(limit));
            if (r.matched()) {
                return new Outcome(0, StepResult.Status.OK, "matched /" + regex + "/: " + r.match(), r.match());
            }
            String why = r.ended() ? "its output ended" : "no match within " + limit / 1000.0 + " s";
            return new Outcome(V1_ERROR, r.ended() ? StepResult.Status.FAILED : StepResult.Status.TIMEOUT,
                    "/" + regex + "/ not found in the output of '" + target(a) + "': " + why
                            + "\n--- output read (tail) ---\n" + r.tail(), r.tail());
        });
    }

    private Outcome terminate(Spawned sp, Duration grace) throws InterruptedException {
        long pgid = sp.process().pid();
        ProcessGroups.signal(List.of(pgid), "TERM", launcher);
        if (sp.process().waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            return new Outcome(0, StepResult.Status.OK, "terminated by SIGTERM (exit code " + sp.process().exitValue() + ")", "");
        }
        ProcessGroups.signal(List.of(pgid), "KILL", launcher);
        sp.process().waitFor(5, TimeUnit.SECONDS);
        return new Outcome(0, StepResult.Status.OK, "still running " + grace.toMillis() / 1000.0
                + " s after SIGTERM: killed with SIGKILL", "");
    }

    /** A path under the player's files folder (its working folder), or null when it would leave it. */
    private Path inFiles(String relative) {
        Path root = options.workDir().toAbsolutePath().normalize();
        Path p = root.resolve(relative).normalize();
        return p.startsWith(root) && !p.equals(root) ? p : null;
    }

    private Outcome put(int id, int index, ObjectNode a) throws InterruptedException {
        Path target = inFiles(a.path("remote").asText());
        if (target == null) {
            return new Outcome(V1_ERROR, StepResult.Status.FAILED, "'" + a.path("remote").asText()
                    + "' is outside this player's files folder " + options.workDir(), "");
        }
        var queue = new java.util.concurrent.LinkedBlockingQueue<Frame>(PUT_QUEUE);
        incoming.put(index, queue);
        try (var receiver = new dev.conductor.wire.FileTransfer.Receiver(target, !crcPeer)) {
            ObjectNode pull = Json.object();
            pull.put("id", id);
            pull.put("index", index);
            trySend(V2.PULL, pull);
            while (true) {
                // Silence from the conductor ends the whole session anyway; this bounds a stuck sender.
                Frame f = queue.poll(SILENCE.toMillis() * 4, TimeUnit.MILLISECONDS);
                if (f == null) {
                    return new Outcome(V1_ERROR, StepResult.Status.TIMEOUT, "the conductor stopped sending '"
                            + a.path("local").asText() + "'", "");
                }
                if (receiver.accept(f)) {
                    break;
                }
            }
            if (receiver.error() != null) {
                return new Outcome(V1_ERROR, StepResult.Status.FAILED, "put " + a.path("local").asText() + ": "
                        + receiver.error(), "");
            }
            return new Outcome(0, StepResult.Status.OK, "received " + summary(receiver.entries()) + " into " + target,
                    listing(receiver.entries()));
        } finally {
            incoming.remove(index);
        }
    }

    private Outcome get(int id, int index, ObjectNode a) {
        Path source = inFiles(a.path("remote").asText());
        if (source == null) {
            return new Outcome(V1_ERROR, StepResult.Status.FAILED, "'" + a.path("remote").asText()
                    + "' is outside this player's files folder " + options.workDir(), "");
        }
        try {
            var entries = FileTransfer.send(source, id, index, sender(), !crcPeer);
            return new Outcome(0, StepResult.Status.OK, "sent " + summary(entries) + " from " + source, listing(entries));
        } catch (IOException e) {
            return new Outcome(V1_ERROR, StepResult.Status.FAILED, "get " + source + ": " + e.getMessage(), "");
        }
    }

    private static String summary(List<dev.conductor.wire.FileTransfer.Entry> entries) {
        return entries.size() + " file(s), " + entries.stream().mapToLong(dev.conductor.wire.FileTransfer.Entry::bytes).sum()
                + " bytes";
    }

    /**
     * What 'sha256sum' would print for the files, so users can compare at a glance; the CRC32C
     * where the conductor computes the SHA-256 (its event log has it).
     */
    private static String listing(List<dev.conductor.wire.FileTransfer.Entry> entries) {
        StringBuilder b = new StringBuilder();
        for (var e : entries) {
            b.append(e.sha256().isEmpty() ? "crc32c:" + e.crc32c() : e.sha256()).append("  ")
                    .append(e.path().isEmpty() ? "-" : e.path()).append('\n');
        }
        return b.toString();
    }

    private Outcome barrier(int id, int index, ObjectNode a) throws InterruptedException {
        String name = a.path("name").asText();
        long limit = a.path("limit_ms").asLong(30_000);
        var queue = releases.computeIfAbsent(name, n -> new java.util.concurrent.LinkedBlockingQueue<>());
        queue.clear();
        ObjectNode arrive = Json.object();
        arrive.put("id", id);
        arrive.put("index", index);
        arrive.put("name", name);
        trySend(V2.BARRIER_ARRIVE, arrive);
        // The conductor decides when the barrier times out; the slack covers its message.
        ObjectNode release = queue.poll(limit + 10_000, TimeUnit.MILLISECONDS);
        if (release == null) {
            return new Outcome(V1_ERROR, StepResult.Status.TIMEOUT, "barrier '" + name + "': no word from the conductor", "");
        }
        if (release.path("ok").asBoolean()) {
            return new Outcome(0, StepResult.Status.OK, "barrier '" + name + "' released: " + release.path("arrived"), "");
        }
        return new Outcome(V1_ERROR, StepResult.Status.TIMEOUT, "barrier '" + name + "' failed: "
                + release.path("reason").asText("timed out") + "; never came: " + release.path("missing"), "");
    }

    private void heartbeats() {
        byte[] frame = Frames.encode(V2.encode(V2.HEARTBEAT));
        while (!ended) {
            try {
                Thread.sleep(HEARTBEAT);
                synchronized (out) {
                    out.write(frame);
                    out.flush();
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                return; // the reader sees the broken connection and ends the session
            }
        }
    }

    private void send(String type, ObjectNode data) throws IOException {
        byte[] frame = Frames.encode(V2.encode(type, data));
        synchronized (out) {
            out.write(frame);
            out.flush();
        }
    }

    /**
     * Output as data frames, each written in one piece with its header in the room the reader
     * left before the bytes (see {@link StepRunner.Listener#output}); split when the conductor's
     * limit is smaller than the chunk.
     */
    private void sendOutputFrames(int id, int index, int stream, byte[] buf, int off, int len) throws IOException {
        int most = (int) Math.min(len, Math.max(1, Math.min(Integer.MAX_VALUE, peerLimit) - DataFrame.HEADER));
        for (int at = off; at < off + len && !ended; at += most) {
            int n = Math.min(most, off + len - at);
            int from = DataFrame.frameInPlace(buf, at, n, DataFrame.Kind.OUTPUT, id, index, stream);
            synchronized (out) {
                out.write(buf, from, n + DataFrame.HEADROOM);
                out.flush();
            }
        }
    }

    /** How file transfers of this session write: data frames when agreed, else JSON. */
    private FileTransfer.Sender sender() {
        return FileTransfer.Sender.over(out, socket.getChannel(), this::send, dataFrames, peerLimit);
    }

    /** Sends from a step's threads; a broken connection is the reader's to notice. */
    private void trySend(String type, ObjectNode data) {
        if (ended) {
            return;
        }
        try {
            send(type, data);
        } catch (IOException e) {
            log.debug("sending {} to {} failed: {}", type, peer, e.getMessage());
        }
    }

    private void refuse(String why) {
        log.warn("conductor at {}: {}", peer, why);
        ObjectNode d = Json.object();
        d.put("message", why);
        trySend(V2.ERROR, d);
    }

    private void end(Thread beat) {
        ended = true;
        if (beat != null) {
            beat.interrupt();
        }
        if (saidBye) {
            // A clean goodbye (e.g. 'conduct -p startup'): what was spawned keeps running, as with
            // v1, until a later Reset or the player's shutdown.
            try {
                runner.shutdown();
                runner.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            leftovers.adopt(new HashSet<>(groups));
            groups.clear();
        }
        steps.close(); // nothing forks after this, and what was forking is registered
        runner.shutdownNow();
        gate.close();
        discardPending();
        killGroups("the session with conductor " + conductorName + " at " + peer + " ended without goodbye");
        try {
            runner.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        killGroups("the session ended");
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closed either way.
        }
        // After the socket: a spool's sender blocked in a write ends with it.
        spools.forEach(OutputSpool::close);
        spools.clear();
    }

    /** Phases received and never run: what was made ready for them is given back. */
    private void discardPending() {
        for (Integer id : phases.keySet()) {
            Order left = phases.remove(id); // null when the reader took it meanwhile
            if (left != null) {
                left.discard();
            }
        }
    }

    private Set<Long> takeGroups() {
        Set<Long> ours = new HashSet<>(groups);
        groups.removeAll(ours);
        return ours;
    }

    /**
     * Held while groups are taken and killed: the session's own thread (its connection closing)
     * and {@link #shutdown} (a second Ctrl-C, just before the process halts) may both come here,
     * and the one that finds nothing left to take must not return before the other's kill is done.
     */
    private final Object killing = new Object();

    private void killGroups(String why) {
        synchronized (killing) {
            killGroups(takeGroups(), why);
        }
    }

    private void killGroups(Set<Long> ours, String why) {
        synchronized (killing) {
            Set<Long> killed = ProcessGroups.killLive(ours, launcher);
            if (!killed.isEmpty()) {
                log.info("{}: killed {} process group(s): {}", why, killed.size(), killed);
            }
        }
    }

    /** Ends the session from outside (the player is closing): kills what it started. */
    void shutdown() {
        ended = true;
        steps.close(); // nothing forks after this, and what was forking is registered
        try {
            socket.close();
        } catch (IOException ignored) {
            // The serving thread finishes the clean-up.
        }
        // A start the gate is forking now is waited for, so that its process is killed below.
        gate.close();
        discardPending();
        killGroups("the player is shutting down");
    }
}
