package dev.conductor.conduct;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.clock.ClockProbe;
import dev.conductor.clock.ClockWindow;
import dev.conductor.clock.PreciseClock;
import dev.conductor.plan.Phase;
import dev.conductor.plan.Step;
import dev.conductor.wire.ArrayPool;
import dev.conductor.wire.Auth;
import dev.conductor.wire.DataFrame;
import dev.conductor.wire.FileTransfer;
import dev.conductor.wire.FrameInput;
import dev.conductor.wire.Frame;
import dev.conductor.wire.Frames;
import dev.conductor.wire.Json;
import dev.conductor.wire.PhaseOrder;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.Sockets;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.V2;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Protocol v2 towards one player: one persistent connection, heartbeats both ways, clock
 * probes at {@code hello} and in every heartbeat, results and output streamed as they happen. A reader thread takes
 * every frame off the socket at once, so a busy conductor never makes a player block.
 */
final class V2Link implements WorkerLink {
    static final Duration HEARTBEAT = Duration.ofSeconds(1);
    /** Silence after which the player is declared lost. */
    static final Duration SILENCE = Duration.ofSeconds(5);
    private static final int PROBES = 8;
    /** Probes before a phase whose estimate is not good enough (see {@link #refreshClock}). */
    private static final int PROBES_PER_PHASE = 2;
    /**
     * Worse than this, a phase waits for fresh probes before it is released. Better, it uses
     * what the heartbeats' probes found: a probe before every phase costs every phase a round
     * trip, which on a busy machine is tens of milliseconds.
     */
    private static final long GOOD_ENOUGH_MICROS = 1_000;
    /** A probe unanswered this long is given up on for this phase (silence is the reader's to judge). */
    private static final Duration PROBE_PATIENCE = Duration.ofSeconds(1);

    /** What the reader hands over: a message, or the reason the link broke. */
    private sealed interface Incoming {
        record Message(V2.Message message, long receivedMicros) implements Incoming {
        }

        record Broken(String reason) implements Incoming {
        }

        /** Output or file bytes, as a data frame brought them. */
        record Data(DataFrame frame) implements Incoming {
        }

        /** A get's transfer is over: the reader received it (see {@link Intake}). */
        record Copied(int index, java.nio.file.Path target, List<FileTransfer.Entry> entries, String error)
                implements Incoming {
        }
    }

    /** A phase whose 'get' steps' files the reader receives, as long as {@link #collect} runs for it. */
    private record Gets(int trial, Phase phase, List<Step> steps, Reporter reporter) {
    }

    /**
     * A get's transfer being received, on the reader's thread: a file's first megabytes go from
     * the socket into arrays of {@code arrays}, through CRC32C into the file and to the SHA-256
     * thread, which gives them back; the rest straight into the file's blocks
     * ({@link FileTransfer.Receiver#fill}). Handing every frame to the collecting thread instead
     * cost a wake-up and a fresh 256 KiB array per frame. {@code receiver} is null when the
     * target was refused or the transfer is no get's: the rest of it is dropped.
     */
    private record Intake(Gets gets, int index, java.nio.file.Path target, FileTransfer.Receiver receiver,
                          ArrayPool arrays) {
    }

    private final String worker;
    private final String address;
    private final Socket socket;
    private final OutputStream out;
    private final long maxMessageSize;
    private final PreciseClock clock;
    private final BlockingQueue<Incoming> control = new LinkedBlockingQueue<>();
    /**
     * Bounded: when the phase's collector falls behind (a slow disk, a slow terminal), the
     * reader stops reading, TCP's window closes, and the player's step blocks on its output.
     * Nothing piles up in memory. 16 messages are at most ~4 MB of output chunks (data frames
     * of up to 256 KiB, or base64 messages of 64 KiB from a player without them); the socket's
     * own buffers hold more. Few queued chunks also means few survive a young collection to be
     * promoted, which keeps the heap, and so the conductor's RSS, small while output floods in.
     */
    private final BlockingQueue<Incoming> events = new LinkedBlockingQueue<>(16);
    /** Phases being collected, by phase id: the reader receives their gets' files. */
    private final Map<Integer, Gets> collectingGets = new ConcurrentHashMap<>();
    /** Files being received, by phase id (high half) and step index; the reader thread's alone. */
    private final Map<Long, Intake> intakes = new java.util.HashMap<>();
    /** Which trial and phase each phase id was, for output of spawned steps arriving later. */
    private final Map<Integer, int[]> phaseOfId = new ConcurrentHashMap<>();
    private volatile String brokenReason;
    private final Object brokenLock = new Object();
    private volatile Reporter lateReporter;
    private final ClockWindow clocks = new ClockWindow();
    /** Answered probes, by their t0, for the prober waiting for them. */
    private final BlockingQueue<Long> probeReplies = new LinkedBlockingQueue<>();
    /** The estimate in use: set before each phase's start instant is converted, kept for its results. */
    private volatile ClockWindow.Estimate clock0;
    /** How long before its start instant the player was ready to start the last phase (negative: after). */
    private volatile java.util.OptionalLong startSlack = java.util.OptionalLong.empty();
    private String playerVersion = "?";
    /** The player listed {@link DataFrame#CAPABILITY} in its welcome: put data goes as data frames. */
    private boolean dataFrames;
    /** The player listed {@link V2#AHEAD_CAPABILITY}: the next phase may be sent while one runs. */
    private boolean ahead;
    /** The player's frame size limit, from its welcome. */
    private long playerLimit = Frames.DEFAULT_LIMIT;
    private Thread reader;
    private Thread beat;
    /** What the reader reads from, for the heartbeat thread to see a read from the channel that hangs. */
    private volatile FrameInput input;

    private V2Link(String worker, String address, Socket socket, long maxMessageSize, PreciseClock clock) throws IOException {
        this.worker = worker;
        this.address = address;
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.maxMessageSize = maxMessageSize;
        this.clock = clock;
    }

    /** The answer a reference (v1-only) player gives to a v2 hello. */
    static final class NotV2 extends Exception {
        NotV2(String message) {
            super(message);
        }
    }

    /**
     * Says hello on a connected socket: version, optional authentication both ways, clock probes.
     *
     * @throws NotV2        when the player answers as a v1-only player does
     * @throws LinkException when anything else goes wrong, with a message naming the player
     */
    static V2Link open(String worker, String address, Socket socket, long maxMessageSize, Duration ioDeadline,
                       Optional<byte[]> token, PreciseClock clock) throws LinkException, NotV2 {
        String who = "player of worker '" + worker + "' at " + address;
        try {
            V2Link link = new V2Link(worker, address, socket, maxMessageSize, clock);
            socket.setSoTimeout((int) ioDeadline.toMillis());
            String nonce = Auth.nonce();
            ObjectNode hello = Json.object();
            hello.putArray("versions").add(V2.VERSION);
            hello.put("conductor", "conductor-java/" + dev.conductor.player.Player.VERSION);
            hello.put("worker", worker);
            hello.put("nonce", nonce);
            hello.putArray("capabilities").add(DataFrame.CAPABILITY).add(dev.conductor.wire.FileTransfer.CRC_CAPABILITY);
            hello.put("max_message_size", maxMessageSize);
            link.write(V2.encode(V2.HELLO, hello));
            InputStream in = socket.getInputStream();
            byte[] body = Frames.read(in, maxMessageSize);
            if (body == null) {
                throw new LinkException(who + " closed the connection at hello");
            }
            if (V2.versionOf(body) == 1) {
                // A reference player: {"version": 1, "type": "result", "data": {"code": 1,
                // "message": "Unsupported protocol version: 2"}}.
                String message = Json.MAPPER.readTree(body).path("data").path("message").asText("");
                if (message.startsWith("Unsupported protocol version")) {
                    throw new NotV2(message);
                }
                throw new LinkException(who + " answered hello with a v1 error: " + message);
            }
            V2.Message welcome = V2.decode(body);
            if (V2.ERROR.equals(welcome.type())) {
                throw new LinkException(who + " refused the session: " + welcome.data().path("message").asText());
            }
            if (!V2.WELCOME.equals(welcome.type())) {
                throw new LinkException(who + " answered hello with '" + welcome.type() + "'");
            }
            link.playerVersion = welcome.data().path("player_version").asText("?");
            for (var c : welcome.data().path("capabilities")) {
                link.dataFrames |= DataFrame.CAPABILITY.equals(c.asText());
                link.ahead |= V2.AHEAD_CAPABILITY.equals(c.asText());
            }
            link.playerLimit = welcome.data().path("max_message_size").asLong(Frames.DEFAULT_LIMIT);
            String playerNonce = welcome.data().path("nonce").asText("");
            boolean playerWantsAuth = Auth.SCHEME.equals(welcome.data().path("auth").asText());
            if (token.isPresent()) {
                String expected = Auth.proof(token.get(), "player", nonce, playerNonce);
                if (!playerWantsAuth || !Auth.matches(expected, welcome.data().path("proof").asText(null))) {
                    throw new LinkException(who + " could not prove it has the shared token"
                            + (playerWantsAuth ? " (wrong token)" : " (it runs without --token-file)")
                            + "; refusing to run anything there");
                }
                ObjectNode auth = Json.object();
                auth.put("proof", Auth.proof(token.get(), "conductor", nonce, playerNonce));
                link.write(V2.encode(V2.AUTH, auth));
                V2.Message ok = V2.decode(require(Frames.read(in, maxMessageSize), who));
                if (!V2.AUTH_OK.equals(ok.type())) {
                    throw new LinkException(who + " refused our token: " + ok.data().path("message").asText(ok.type()));
                }
            } else if (playerWantsAuth) {
                throw new LinkException(who + " requires a shared token: give the conductor --token-file");
            }
            for (int i = 0; i < PROBES; i++) {
                ObjectNode p = Json.object();
                long t0 = clock.micros();
                p.put("t0", t0);
                link.write(V2.encode(V2.PROBE, p));
                V2.Message reply;
                long t3;
                do {
                    byte[] frame = require(Frames.read(in, maxMessageSize), who);
                    t3 = clock.micros();
                    reply = V2.decode(frame);
                } while (V2.HEARTBEAT.equals(reply.type()));
                if (!V2.PROBE_REPLY.equals(reply.type()) || reply.data().path("t0").asLong() != t0) {
                    throw new LinkException(who + " answered a clock probe with '" + reply.type() + "'");
                }
                link.clocks.add(new ClockProbe(t0, reply.data().path("t1").asLong(), reply.data().path("t2").asLong(), t3));
            }
            link.clock0 = link.clocks.best(clock.micros());
            link.startThreads();
            return link;
        } catch (SocketTimeoutException e) {
            Sockets.close(socket);
            throw new LinkException(who + " did not answer hello within " + ioDeadline.toSeconds() + " s");
        } catch (ProtocolException e) {
            Sockets.close(socket);
            throw new LinkException(who + " sent a bad message during hello: " + e.getMessage());
        } catch (IOException e) {
            Sockets.close(socket);
            throw new LinkException(who + ": " + e.getMessage());
        } catch (LinkException | NotV2 e) {
            Sockets.close(socket);
            throw e;
        }
    }

    private static byte[] require(byte[] body, String who) throws LinkException {
        if (body == null) {
            throw new LinkException(who + " closed the connection during hello");
        }
        return body;
    }

    private void startThreads() throws IOException {
        socket.setSoTimeout((int) SILENCE.toMillis());
        reader = Thread.ofPlatform().daemon().name("v2-reader-" + worker).start(this::readLoop);
        beat = Thread.ofVirtual().name("v2-heartbeat-" + worker).start(this::heartbeats);
    }

    private void readLoop() {
        String reason;
        try {
            // Small messages come out of this buffer; data frames' bytes go past it, into arrays or a file's blocks.
            FrameInput in = new FrameInput(socket.getInputStream(), socket.getChannel(), 64 * 1024);
            input = in;
            while (true) {
                Frame frame;
                try {
                    V2.Head head = V2.readHead(in, maxMessageSize);
                    if (head instanceof DataFrame.Header h && h.kind() == DataFrame.Kind.FILE && fillInPlace(h, in)) {
                        continue;
                    }
                    frame = switch (head) {
                        case null -> null;
                        case V2.Message m -> m;
                        case DataFrame.Header h -> h.readData(in, this::landing);
                    };
                } catch (SocketTimeoutException e) {
                    reason = describe() + " went silent: no message or heartbeat for " + SILENCE.toSeconds() + " s";
                    break;
                } catch (ProtocolException e) {
                    reason = describe() + " sent garbage: " + e.getMessage();
                    break;
                }
                // As soon as the frame is in: a probe's t3 should include as little of our own work as can be.
                long now = clock.micros();
                if (frame == null) {
                    reason = describe() + " closed the connection";
                    break;
                }
                if (frame instanceof DataFrame d) {
                    if (d.kind() == DataFrame.Kind.FILE) {
                        intake(d.phaseId(), d.index(), d);
                    } else {
                        route(d.phaseId(), new Incoming.Data(d));
                    }
                    continue;
                }
                V2.Message m = (V2.Message) frame;
                switch (m.type()) {
                    case FileTransfer.BEGIN, FileTransfer.DATA, FileTransfer.FILE_DONE, FileTransfer.DONE ->
                            intake(m.phaseId(), m.data().path("index").asInt(-1), m);
                    case V2.HEARTBEAT -> {
                    }
                    case V2.PROBE_REPLY -> {
                        long t0 = m.data().path("t0").asLong();
                        clocks.add(new ClockProbe(t0, m.data().path("t1").asLong(), m.data().path("t2").asLong(), now));
                        probeReplies.add(t0);
                    }
                    case V2.PHASE_OK -> control.add(new Incoming.Message(m, now));
                    case V2.ERROR -> {
                        reason = describe() + " reported an error: " + m.data().path("message").asText();
                        markBroken(reason);
                        return;
                    }
                    default -> route(m.phaseId(), new Incoming.Message(m, now));
                }
            }
        } catch (IOException e) {
            reason = describe() + ": connection lost: " + e.getMessage();
        } catch (RuntimeException | Error e) {
            // Whatever stops the reader must not leave the phase waiting for its deadline.
            reason = describe() + ": the conductor stopped reading from it: " + e;
        } finally {
            intakes.values().forEach(t -> close(t.receiver()));
            intakes.clear();
        }
        markBroken(reason);
    }

    /**
     * A file data frame's bytes read straight into the file being received, when its transfer
     * is under way and its file past the start (see {@link FileTransfer.Receiver#fill}); false
     * when the frame is to be read as usual.
     */
    private boolean fillInPlace(DataFrame.Header h, FrameInput in) throws IOException {
        Intake t = intakes.get(key(h.phaseId(), h.index()));
        if (t == null || t.receiver() == null || !in.hasChannel() || collectingGets.get(h.phaseId()) != t.gets()
                || !t.receiver().fillsInPlace()) {
            return false;
        }
        if (t.receiver().fill(in, h.length())) {
            intakes.remove(key(h.phaseId(), h.index()));
            route(h.phaseId(), new Incoming.Copied(h.index(), t.target(), t.receiver().entries(), t.receiver().error()));
        }
        return true;
    }

    /** An array of the transfer's own for a file data frame's bytes, once its first frame has made the transfer. */
    private byte[] landing(DataFrame.Kind kind, int phaseId, int index, int length) {
        Intake t = kind == DataFrame.Kind.FILE ? intakes.get(key(phaseId, index)) : null;
        return t == null || t.receiver() == null ? null : t.arrays().take(length);
    }

    private static long key(int phaseId, int index) {
        return ((long) phaseId << 32) | (index & 0xffffffffL);
    }

    /**
     * One frame of a get's transfer, on the reader's thread: into the file being received,
     * whose end is then handed to the collecting thread. Frames of a phase nobody collects
     * (any more) are dropped.
     */
    private void intake(int phaseId, int index, Frame f) {
        long key = key(phaseId, index);
        Intake t = intakes.get(key);
        if (t != null && collectingGets.get(phaseId) != t.gets()) {
            // The phase's collecting ended before the transfer did: what came is left as it is.
            close(t.receiver());
            intakes.remove(key);
            return;
        }
        if (t == null) {
            t = start(phaseId, index);
            if (t == null) {
                return;
            }
            intakes.put(key, t);
        }
        boolean over;
        if (t.receiver() == null) {
            over = f instanceof V2.Message m && FileTransfer.DONE.equals(m.type());
        } else {
            ArrayPool arrays = t.arrays();
            if (!t.receiver().accept(f, arrays::give)) {
                return;
            }
            over = true;
            route(phaseId, new Incoming.Copied(index, t.target(), t.receiver().entries(), t.receiver().error()));
        }
        if (over) {
            intakes.remove(key);
        }
    }

    /**
     * The intake of a transfer's first frame; null for a phase that is over or unknown (the frame
     * is dropped). The player may answer a phase's {@code run} before {@link #collect} has begun
     * for it; then this waits for that a moment, as the bytes must not be read before there is
     * somewhere to put them. A transfer that is no get's, or comes to no collecting, is dropped
     * up to its end.
     */
    private Intake start(int phaseId, int index) {
        long deadline = System.nanoTime() + SILENCE.toNanos();
        Gets gets;
        while ((gets = collectingGets.get(phaseId)) == null) {
            int[] tp = phaseOfId.get(phaseId);
            if (tp == null || tp[2] == 0 || brokenReason != null) {
                return null;
            }
            if (System.nanoTime() > deadline) {
                return new Intake(null, index, null, null, null);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
        if (index < 0 || index >= gets.steps().size() || !(gets.steps().get(index) instanceof Step.Get get)) {
            return new Intake(gets, index, null, null, null);
        }
        java.nio.file.Path target;
        try {
            target = gets.reporter().getTarget(gets.trial(), get.name());
        } catch (IOException e) {
            route(phaseId, new Incoming.Copied(index, null, List.of(), e.getMessage()));
            return new Intake(gets, index, null, null, null);
        }
        int chunk = (int) Math.min(FileTransfer.FRAME_CHUNK, maxMessageSize - DataFrame.HEADER);
        return new Intake(gets, index, target, new FileTransfer.Receiver(target), new ArrayPool(chunk, INTAKE_ARRAYS));
    }

    /**
     * Arrays kept for one transfer: as many as the SHA-256 thread may hold (its queue, the
     * megabyte it hashes, the one being gathered for it) and the one being read.
     */
    private static final int INTAKE_ARRAYS = 17;

    private static void close(FileTransfer.Receiver r) {
        if (r != null) {
            r.close();
        }
    }

    /** Step events go to the phase collecting now, or are reported directly when they belong to an earlier one. */
    private void route(int phaseId, Incoming in) {
        int[] tp = phaseOfId.get(phaseId);
        if (tp != null && tp[2] == 0 && lateReporter != null) {
            switch (in) {
                case Incoming.Message m -> late(m.message());
                case Incoming.Data d -> late(d.frame());
                case Incoming.Broken b -> {
                }
                case Incoming.Copied c -> {
                }
            }
            return;
        }
        try {
            while (!events.offer(in, 1, TimeUnit.SECONDS)) {
                if (brokenReason != null) {
                    return; // the link was given up while we waited for room
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Output or exit of a spawned step whose phase is over: it still belongs in the log and the
     * transcripts. Anything else of a finished phase is a straggler of a phase given up on.
     */
    private void late(V2.Message m) {
        int[] tp = phaseOfId.get(m.data().path("id").asInt(-1));
        Reporter late = lateReporter;
        if (tp == null || late == null) {
            return;
        }
        Phase phase = Phase.values()[tp[1]];
        int index = tp[3] + m.data().path("index").asInt();
        switch (m.type()) {
            case V2.OUTPUT -> late.output(tp[0], phase, index, m.data().path("stream").asText(),
                    Base64.getDecoder().decode(m.data().path("data").asText()));
            case V2.SPAWN_EXITED -> late.spawnExited(tp[0], phase, index, m.data().path("code").asInt());
            default -> {
            }
        }
    }

    /** Output of a spawned step whose phase is over, as a data frame brought it. */
    private void late(DataFrame d) {
        int[] tp = phaseOfId.get(d.phaseId());
        Reporter late = lateReporter;
        if (tp != null && late != null && d.kind() == DataFrame.Kind.OUTPUT) {
            late.output(tp[0], Phase.values()[tp[1]], tp[3] + d.index(), d.streamName(), d.data());
        }
    }

    private void markBroken(String reason) {
        // The first reason is the one told everywhere: closing the socket below wakes the reader,
        // whose "connection lost" may reach the queues before the cause that closed it.
        String first;
        synchronized (brokenLock) {
            if (brokenReason == null) {
                brokenReason = reason;
            }
            first = brokenReason;
        }
        control.add(new Incoming.Broken(first));
        Sockets.close(socket);
        // Make room if the queue is full: the collector must learn of the break.
        while (!events.offer(new Incoming.Broken(first))) {
            events.poll();
        }
    }

    /**
     * A heartbeat is a clock probe (its reply is the player's sign of life too): probing all
     * along, at moments unrelated to the phases, finds the quiet ones, and costs no phase a
     * round trip.
     */
    private void heartbeats() {
        while (brokenReason == null) {
            try {
                Thread.sleep(HEARTBEAT);
                // A data frame's bytes read from the socket's channel wait without the socket's
                // timeout: silence in the middle of one is noticed here instead.
                FrameInput in = input;
                long since = in == null ? 0 : in.channelReadSince();
                if (since != 0 && System.nanoTime() - since > SILENCE.toNanos()) {
                    markBroken(describe() + " went silent: no message or heartbeat for " + SILENCE.toSeconds()
                            + " s (in the middle of a file's data)");
                    return;
                }
                ObjectNode p = Json.object();
                p.put("t0", clock.micros());
                write(V2.encode(V2.PROBE, p));
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                markBroken(describe() + ": connection lost: " + e.getMessage());
                return;
            }
        }
    }

    private void write(byte[] body) throws IOException {
        byte[] frame = Frames.encode(body);
        synchronized (out) {
            out.write(frame);
            out.flush();
        }
    }

    @Override
    public String describe() {
        return "player of worker '" + worker + "' at " + address;
    }

    @Override
    public int protocol() {
        return V2.VERSION;
    }

    @Override
    public long offsetMicros() {
        return clock0.offsetMicros();
    }

    @Override
    public long rttMicros() {
        return clock0.rttMicros();
    }

    @Override
    public long clockErrorMicros() {
        return clock0.errorMicros();
    }

    /**
     * The best estimate of the window; when that is not good enough, a few probes first, while
     * the player waits for its start order. An unanswered probe only costs this phase a fresher
     * estimate.
     */
    private void refreshClock() throws InterruptedException {
        probeIfWorseAt(0);
        clock0 = clocks.best(clock.micros());
    }

    /**
     * Probes the clock now, while a phase runs, when the estimate would no longer be good
     * enough by the time the next phase starts ({@code withinMicros} from now): that start then
     * waits for no probe. The estimate the running phase uses is not touched.
     */
    void probeAhead(long withinMicros) throws InterruptedException {
        probeIfWorseAt(withinMicros);
    }

    /**
     * Probes when the best estimate, {@code fromNowMicros} from now, is worse than
     * {@link #GOOD_ENOUGH_MICROS}; not while other probes are out (their answers are as good,
     * and come sooner).
     */
    private void probeIfWorseAt(long fromNowMicros) throws InterruptedException {
        if (clocks.best(clock.micros() + fromNowMicros).errorMicros() > GOOD_ENOUGH_MICROS && probing.tryLock()) {
            try {
                probe();
            } finally {
                probing.unlock();
            }
        }
    }

    private final java.util.concurrent.locks.ReentrantLock probing = new java.util.concurrent.locks.ReentrantLock();

    private void probe() throws InterruptedException {
        try {
            probeReplies.clear();
            for (int i = 0; i < PROBES_PER_PHASE && brokenReason == null; i++) {
                ObjectNode p = Json.object();
                long t0 = clock.micros();
                p.put("t0", t0);
                write(V2.encode(V2.PROBE, p));
                Long answered;
                do {
                    answered = probeReplies.poll(PROBE_PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
                } while (answered != null && answered != t0);
                if (answered == null) {
                    break;
                }
            }
        } catch (IOException e) {
            markBroken(describe() + ": connection lost: " + e.getMessage());
        }
    }

    /** What the player said of the last phase: how long before its instant it was ready to start it. */
    java.util.OptionalLong startSlack() {
        return startSlack;
    }

    String playerVersion() {
        return playerVersion;
    }

    @Override
    public boolean broken() {
        return brokenReason != null;
    }

    @Override
    public void send(int phaseId, PhaseOrder order) throws LinkException {
        send(phaseId, order, 0);
    }

    /**
     * Sends a phase whose steps are reported at {@code indexBase} and on: a scenario sends its
     * testers' steps one phase each, and the log numbers them as one sequence.
     */
    void send(int phaseId, PhaseOrder order, int indexBase) throws LinkException {
        post(phaseId, order, indexBase);
        confirm(phaseId);
    }

    /** True when the player takes a phase while another runs ({@link #sendAhead}). */
    boolean takesPhasesAhead() {
        return ahead;
    }

    /**
     * Sends a phase without waiting for the player to confirm it, while another phase may be
     * running there: the player reads it at once, so that its start later needs only the
     * {@code run}. {@link #confirm} then finds the confirmation waiting.
     */
    void sendAhead(int phaseId, PhaseOrder order) throws LinkException {
        if (!ahead) {
            throw new LinkException(describe() + " does not take phases ahead");
        }
        post(phaseId, order, 0);
    }

    /** Tells the player that a phase sent ahead will not be run; a lost link forgets it anyway. */
    void forget(int phaseId) {
        phaseOfId.remove(phaseId);
        if (brokenReason == null) {
            ObjectNode data = Json.object();
            data.put("id", phaseId);
            tell(V2.FORGET, data);
        }
    }

    /** Sends a message no answer is awaited for; a failed write breaks the link. */
    private void tell(String type, ObjectNode data) {
        try {
            write(V2.encode(type, data));
        } catch (IOException e) {
            markBroken(describe() + ": connection lost: " + e.getMessage());
        }
    }

    private void post(int phaseId, PhaseOrder order, int indexBase) throws LinkException {
        if (brokenReason != null) {
            throw new LinkException(brokenReason);
        }
        ObjectNode data = order.toData();
        data.remove("resulthost");
        data.remove("resultport");
        data.put("id", phaseId);
        phaseOfId.put(phaseId, new int[]{order.trial().orElse(0), Phase.parse(order.phase().orElse("run")).orElse(Phase.RUN).ordinal(), 1, indexBase});
        try {
            write(V2.encode(V2.PHASE, data));
        } catch (IOException e) {
            markBroken(describe() + ": sending the phase failed: " + e.getMessage());
            throw new LinkException(brokenReason);
        }
    }

    /** Waits for the player to confirm phase {@code phaseId}; other phases' confirmations are passed over. */
    void confirm(int phaseId) throws LinkException {
        long deadline = System.nanoTime() + SILENCE.toNanos();
        try {
            while (true) {
                Incoming in = control.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (in == null) {
                    throw new LinkException(describe() + " did not confirm the phase within " + SILENCE.toSeconds() + " s");
                }
                if (in instanceof Incoming.Broken b) {
                    throw new LinkException(b.reason());
                }
                V2.Message m = ((Incoming.Message) in).message();
                if (V2.PHASE_OK.equals(m.type()) && m.data().path("id").asInt() == phaseId) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LinkException("interrupted while sending the phase to " + describe());
        }
    }

    @Override
    public Starter arm(int phaseId) throws LinkException {
        try {
            refreshClock();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LinkException("interrupted while probing the clock of " + describe());
        }
        if (brokenReason != null) {
            throw new LinkException(brokenReason);
        }
        long offset = clock0.offsetMicros();
        return new Starter() {
            @Override
            public void go(long startAtMicros) throws LinkException {
                ObjectNode run = Json.object();
                run.put("id", phaseId);
                // The instant on the player's own clock.
                run.put("start_at", startAtMicros + offset);
                try {
                    write(V2.encode(V2.RUN, run));
                } catch (IOException e) {
                    markBroken(describe() + ": sending run failed: " + e.getMessage());
                    throw new LinkException(brokenReason);
                }
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public Collected collect(int phaseId, int trial, Phase phase, List<Step> steps, long deadlineNanos, Reporter reporter,
                             BarrierDesk desk) throws InterruptedException {
        lateReporter = reporter;
        Gets gets = new Gets(trial, phase, steps, reporter);
        collectingGets.put(phaseId, gets);
        long offsetMicros = clock0.offsetMicros();
        // Fixed for the phase: looked up once, not for every output chunk.
        int base = indexBase(phaseId);
        boolean failed = false;
        boolean[] reported = new boolean[steps.size()];
        try {
            while (true) {
                long left = deadlineNanos - System.nanoTime();
                Incoming in = left > 0 ? events.poll(left, TimeUnit.NANOSECONDS) : null;
                if (in == null) {
                    desk.gone(worker, "it went silent");
                    return new Collected(failed, silentReason(phase, steps, reported, phaseId));
                }
                if (in instanceof Incoming.Broken b) {
                    desk.gone(worker, "its link broke");
                    return new Collected(failed, b.reason() + " during " + phase.key() + " of trial " + trial
                            + firstMissing(steps, reported) + progress(steps, reported));
                }
                if (in instanceof Incoming.Data data) {
                    collectData(phaseId, base, trial, phase, steps, data.frame(), reporter);
                    continue;
                }
                if (in instanceof Incoming.Copied c) {
                    if (c.index() >= 0 && c.index() < steps.size() && steps.get(c.index()) instanceof Step.Get get) {
                        String where = c.target() == null ? get.name() : reporter.relativeToRun(c.target());
                        reporter.fileCopied(trial, phase, base + c.index(), "get", get.remote(), where, c.entries(),
                                c.error());
                    }
                    continue;
                }
                V2.Message m = ((Incoming.Message) in).message();
                int id = m.data().path("id").asInt(-1);
                if (id != phaseId) {
                    late(m);
                    continue;
                }
                int index = m.data().path("index").asInt(-1);
                int logged = base + index;
                switch (m.type()) {
                    case V2.STEP_STARTED -> reporter.stepStarted(trial, phase, logged,
                            PreciseClock.toInstant(m.data().path("at").asLong() - offsetMicros));
                    case V2.OUTPUT -> reporter.output(trial, phase, logged, m.data().path("stream").asText(),
                            Base64.getDecoder().decode(m.data().path("data").asText()));
                    case V2.SPAWN_EXITED -> reporter.spawnExited(trial, phase, logged, m.data().path("code").asInt());
                    case V2.STEP_FINISHED -> {
                        if (index < 0 || index >= steps.size()) {
                            continue;
                        }
                        StepResult r;
                        try {
                            r = StepResult.fromData(m.data());
                        } catch (ProtocolException e) {
                            return new Collected(failed, describe() + " sent a bad step result: " + e.getMessage());
                        }
                        reported[index] = true;
                        failed |= reporter.stepFinished(trial, phase, logged, steps.get(index), r,
                                StepResult.Status.FAILED, offsetMicros);
                    }
                    case V2.BARRIER_ARRIVE -> desk.arrive(worker, m.data().path("name").asText());
                    case V2.PULL -> {
                        if (index >= 0 && index < steps.size() && steps.get(index) instanceof Step.Put put) {
                            push(phaseId, trial, phase, index, logged, put, reporter);
                        }
                    }
                    case V2.PHASE_DONE -> {
                        desk.gone(worker, "it finished the phase without reaching the barrier");
                        var slack = m.data().path("start_slack_us");
                        startSlack = slack.isIntegralNumber() ? java.util.OptionalLong.of(slack.asLong())
                                : java.util.OptionalLong.empty();
                        var late = m.data().path("start_late_us");
                        reporter.finished(trial, phase, late.isIntegralNumber()
                                ? Optional.of(Reporter.micros(late.asLong())) : Optional.empty());
                        return new Collected(failed, null);
                    }
                    default -> {
                    }
                }
            }
        } finally {
            collectingGets.remove(phaseId, gets);
            int[] tp = phaseOfId.get(phaseId);
            if (tp != null) {
                tp[2] = 0; // over: later output of its spawned steps is routed to the late reporter
            }
        }
    }

    private int indexBase(int phaseId) {
        int[] tp = phaseOfId.get(phaseId);
        return tp == null ? 0 : tp[3];
    }

    /** Output of a data frame, into the transcripts (file bytes went to {@link #intake} on the reader). */
    private void collectData(int phaseId, int base, int trial, Phase phase, List<Step> steps, DataFrame d,
                             Reporter reporter) {
        if (d.phaseId() != phaseId) {
            late(d);
            return;
        }
        int index = d.index();
        int logged = base + index;
        if (d.kind() == DataFrame.Kind.OUTPUT) {
            reporter.output(trial, phase, logged, d.streamName(), d.data());
        }
    }

    /** Streams a put's file(s) to the player on a thread of its own, beside the other messages. */
    private void push(int phaseId, int trial, Phase phase, int index, int logged, Step.Put put, Reporter reporter) {
        Thread.ofVirtual().name("put-" + worker + "-" + index).start(() -> {
            Optional<java.nio.file.Path> source = Optional.empty();
            try {
                source = reporter.putSource(trial, put.local());
                if (source.isEmpty()) {
                    throw new IOException("'" + put.local() + "' is outside the test file's folder");
                }
                var entries = dev.conductor.wire.FileTransfer.send(source.get(), phaseId, index, fileSender());
                reporter.fileCopied(trial, phase, logged, "put", source.get().toString(), put.remote(), entries, null);
            } catch (IOException e) {
                if (source.isEmpty()) {
                    ObjectNode d = Json.object();
                    d.put("id", phaseId);
                    d.put("index", index);
                    d.put("error", e.getMessage());
                    try {
                        write(V2.encode(dev.conductor.wire.FileTransfer.DONE, d));
                    } catch (IOException ignored) {
                        // The link is breaking; the reader reports it.
                    }
                }
                reporter.fileCopied(trial, phase, logged, "put", put.local(), put.remote(), List.of(), e.getMessage());
            }
        });
    }

    /** How a put writes: data frames when the player takes them, else JSON. */
    private dev.conductor.wire.FileTransfer.Sender fileSender() {
        return dev.conductor.wire.FileTransfer.Sender.over(out, socket.getChannel(), (type, data) -> write(V2.encode(type, data)), dataFrames,
                playerLimit);
    }

    private String silentReason(Phase phase, List<Step> steps, boolean[] reported, int phaseId) {
        for (int i = 0; i < reported.length; i++) {
            if (!reported[i]) {
                Step s = steps.get(i);
                return describe() + " did not finish step " + (i + 1) + " '" + s.key() + "' (" + s.text()
                        + ") within the " + phase.key() + " phase's deadline" + progress(steps, reported);
            }
        }
        return describe() + " did not say the " + phase.key() + " phase (#" + phaseId + ") was done within its deadline";
    }

    private static String firstMissing(List<Step> steps, boolean[] reported) {
        for (int i = 0; i < reported.length; i++) {
            if (!reported[i]) {
                Step s = steps.get(i);
                return ", with no result for step " + (i + 1) + " '" + s.key() + "' (" + s.text() + ")";
            }
        }
        return "";
    }

    private static String progress(List<Step> steps, boolean[] reported) {
        int got = 0;
        for (boolean b : reported) {
            got += b ? 1 : 0;
        }
        return "; " + got + " of " + steps.size() + " results arrived";
    }

    /** Tells the player its barrier is released (or given up). */
    void releaseBarrier(ObjectNode message) {
        try {
            write(V2.encode(V2.BARRIER_RELEASE, message));
        } catch (IOException e) {
            markBroken(describe() + ": connection lost: " + e.getMessage());
        }
    }

    @Override
    public void abort(String reason) {
        ObjectNode d = Json.object();
        d.put("reason", reason);
        tell(V2.ABORT, d);
    }

    @Override
    public void close() {
        if (brokenReason == null) {
            try {
                write(V2.encode(V2.BYE));
            } catch (IOException ignored) {
                // Going away anyway.
            }
        }
        synchronized (brokenLock) {
            brokenReason = brokenReason == null ? "closed" : brokenReason;
        }
        if (beat != null) {
            beat.interrupt();
        }
        Sockets.close(socket);
    }
}
