package dev.conductor.it;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.conduct.Conductor;
import dev.conductor.conduct.Transcripts;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.plan.TestPlan;
import dev.conductor.player.Player;
import dev.conductor.wire.DataFrame;
import dev.conductor.wire.Frame;
import dev.conductor.wire.Frames;
import dev.conductor.wire.Json;
import dev.conductor.wire.V2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bulk bytes over v2's data frames arrive exact: output, get and put through a player in its
 * own JVM; a conductor without the capability still gets JSON with base64; a bad data frame is
 * refused, by name, on either side.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DataFramesTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private static String sha256(Path file) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Random bytes, every value 0-255 included: nothing is text-safe by luck. */
    private static void randomFile(Path file, long bytes, long seed) throws IOException {
        Random r = new Random(seed);
        byte[] block = new byte[1 << 20];
        try (OutputStream o = Files.newOutputStream(file)) {
            for (long left = bytes; left > 0; left -= block.length) {
                r.nextBytes(block);
                o.write(block, 0, (int) Math.min(block.length, left));
            }
        }
    }

    @Test
    void tensOfMegabytesOfOutputAGetAndAPutThroughAPlayerJvmArriveExact() throws Exception {
        Path playerDir = Files.createDirectories(dir.resolve("player-files"));
        randomFile(playerDir.resolve("out.bin"), 64L << 20, 1);
        randomFile(playerDir.resolve("big.bin"), 80L << 20, 2);
        Files.writeString(playerDir.resolve("marker.txt"), "\nEND-OF-THE-FLOOD\n");
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: cat out.bin\nstep2: cat out.bin >&2\n"
                + "spawn3: cat out.bin marker.txt\nstep4: expect: spawn3 /END-OF-THE-FLOOD/ 60\nstep5: wait: spawn3 60\n"
                + "step6: get: big.bin fetched.bin 120\nstep7: put: results:dut/fetched.bin back.bin 120\n");
        Path test = lab.write();
        List<String> argv = Jvm.command("dev.conductor.cli.PlayerCommand");
        argv.add(lab.workerFile("dut").toString());
        Process player = new ProcessBuilder(argv).directory(playerDir.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(dir.resolve("player.stderr").toFile()).start();
        try {
            org.awaitility.Awaitility.await("the player JVM listening on its port").atMost(WAIT).until(() -> {
                try (Socket s = new Socket("127.0.0.1", lab.cmdport("dut"))) {
                    return true;
                } catch (IOException e) {
                    return false;
                }
            });
            TestPlan plan = PlanLoader.load(test);
            EventLog log = new EventLog(List.of());
            int code;
            Path run = dir.resolve("run");
            try (var transcripts = Transcripts.in(run)) {
                code = new Conductor(plan, Conductor.Options.defaults(plan), log, transcripts).run();
            }
            assertThat(code).as(log.events().toString()).isZero();

            String outSha = sha256(playerDir.resolve("out.bin"));
            // stdout: out.bin from step 1, then out.bin and the marker from the spawned step 3.
            Path stdout = run.resolve("trial-1/dut.out");
            assertThat(Files.size(stdout)).isEqualTo(2 * (64L << 20) + 18);
            assertThat(sha256(dir.resolve("stdout-1"), stdout, 0, 64L << 20)).isEqualTo(outSha);
            assertThat(sha256(dir.resolve("stdout-3"), stdout, 64L << 20, 64L << 20)).isEqualTo(outSha);
            assertThat(sha256(run.resolve("trial-1/dut.err"))).isEqualTo(outSha);
            List<Event.StepFinished> steps = log.events().stream().filter(Event.StepFinished.class::isInstance)
                    .map(Event.StepFinished.class::cast).toList();
            assertThat(steps.get(3).stdout()).isEqualTo("END-OF-THE-FLOOD");

            String bigSha = sha256(playerDir.resolve("big.bin"));
            assertThat(sha256(run.resolve("trial-1/dut/fetched.bin"))).isEqualTo(bigSha);
            assertThat(sha256(playerDir.resolve("back.bin"))).isEqualTo(bigSha);
            List<Event.FileCopied> copies = log.events().stream().filter(Event.FileCopied.class::isInstance)
                    .map(Event.FileCopied.class::cast).toList();
            assertThat(copies).extracting(Event.FileCopied::direction).containsExactly("get", "put");
            assertThat(copies).allSatisfy(c -> {
                assertThat(c.error()).isEmpty();
                assertThat(c.entries()).singleElement().satisfies(e -> {
                    assertThat(e.sha256()).isEqualTo(bigSha);
                    assertThat(e.bytes()).isEqualTo(80L << 20);
                });
            });
        } finally {
            player.destroy();
            player.waitFor(15, TimeUnit.SECONDS);
        }
    }

    /** The SHA-256 of {@code length} bytes of {@code file} from {@code offset}, via a copy in {@code scratch}. */
    private static String sha256(Path scratch, Path file, long offset, long length) throws Exception {
        try (var in = Files.newByteChannel(file); var out = Files.newByteChannel(scratch,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
            in.position(offset);
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 20);
            for (long left = length; left > 0; ) {
                buf.clear().limit((int) Math.min(buf.capacity(), left));
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                left -= n;
                out.write(buf.flip());
            }
        }
        String sha = sha256(scratch);
        Files.delete(scratch);
        return sha;
    }

    private static ObjectNode data(Object... kv) {
        ObjectNode d = Json.object();
        for (int i = 0; i < kv.length; i += 2) {
            d.set((String) kv[i], Json.MAPPER.valueToTree(kv[i + 1]));
        }
        return d;
    }

    /** A v2 conductor by hand, over one socket. */
    private static final class HandConductor implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        HandConductor(InetSocketAddress player) throws IOException {
            socket = new Socket();
            socket.connect(player, 5000);
            socket.setSoTimeout((int) WAIT.toMillis());
            in = socket.getInputStream();
            out = socket.getOutputStream();
        }

        void send(String type, ObjectNode data) throws IOException {
            Frames.write(out, V2.encode(type, data));
        }

        /** The next frame that is not a heartbeat. */
        Frame next() throws Exception {
            while (true) {
                Frame f = V2.read(in, Frames.DEFAULT_LIMIT);
                assertThat(f).as("a frame before the player closed the connection").isNotNull();
                if (!(f instanceof V2.Message m && m.type().equals(V2.HEARTBEAT))) {
                    return f;
                }
            }
        }

        V2.Message hello(boolean offerDataFrames) throws Exception {
            ObjectNode hello = data("versions", List.of(2), "conductor", "hand", "worker", "dut", "nonce", "n");
            if (offerDataFrames) {
                hello.putArray("capabilities").add(DataFrame.CAPABILITY);
            }
            send(V2.HELLO, hello);
            return (V2.Message) next();
        }

        /** Sends a one-phase run of {@code steps} and returns every frame up to phase_done. */
        List<Frame> runPhase(String... steps) throws Exception {
            ObjectNode phase = data("id", 1, "trial", 1, "phase", "run", "worker", "dut");
            var list = phase.putArray("steps");
            for (String s : steps) {
                list.addObject().put("command", s).put("spawn", false).put("timeout", 30);
            }
            send(V2.PHASE, phase);
            assertThat(((V2.Message) next()).type()).isEqualTo(V2.PHASE_OK);
            send(V2.RUN, data("id", 1, "start_at", 0));
            List<Frame> frames = new ArrayList<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                Frame f = next();
                frames.add(f);
                if (f instanceof V2.Message m && m.type().equals(V2.PHASE_DONE)) {
                    return frames;
                }
            }
            throw new AssertionError("no phase_done within " + WAIT.toSeconds() + " s; got " + frames);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private Player player() throws IOException {
        return Player.start(new Player.Options(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "dut",
                Frames.DEFAULT_LIMIT, Duration.ofSeconds(10), dir));
    }

    @Test
    void aConductorThatDoesNotOfferDataFramesGetsJsonWithBase64() throws Exception {
        try (Player p = player(); HandConductor c = new HandConductor(p.address())) {
            V2.Message welcome = c.hello(false);
            assertThat(welcome.data().path("capabilities").toString()).contains(DataFrame.CAPABILITY);
            List<Frame> frames = c.runPhase("printf 'abc\\000\\377'");
            assertThat(frames).noneMatch(DataFrame.class::isInstance);
            byte[] got = frames.stream().map(V2.Message.class::cast).filter(m -> m.type().equals(V2.OUTPUT))
                    .map(m -> Base64.getDecoder().decode(m.data().path("data").asText()))
                    .reduce(new byte[0], DataFramesTest::concat);
            assertThat(got).isEqualTo(new byte[]{'a', 'b', 'c', 0, (byte) 0xff});
        }
    }

    @Test
    void aConductorThatOffersDataFramesGetsRawBytes() throws Exception {
        try (Player p = player(); HandConductor c = new HandConductor(p.address())) {
            c.hello(true);
            List<Frame> frames = c.runPhase("printf 'abc\\000\\377'; printf 'e' >&2");
            assertThat(frames).noneMatch(f -> f instanceof V2.Message m && m.type().equals(V2.OUTPUT));
            List<DataFrame> data = frames.stream().filter(DataFrame.class::isInstance).map(DataFrame.class::cast).toList();
            assertThat(data).allMatch(d -> d.kind() == DataFrame.Kind.OUTPUT && d.phaseId() == 1 && d.index() == 0);
            assertThat(data.stream().filter(d -> d.stream() == DataFrame.STDOUT).map(DataFrame::data)
                    .reduce(new byte[0], DataFramesTest::concat)).isEqualTo(new byte[]{'a', 'b', 'c', 0, (byte) 0xff});
            assertThat(data.stream().filter(d -> d.stream() == DataFrame.STDERR).map(DataFrame::data)
                    .reduce(new byte[0], DataFramesTest::concat)).isEqualTo(new byte[]{'e'});
        }
    }

    @Test
    void aBadDataFrameFromTheConductorIsRefusedWithTheReason() throws Exception {
        try (Player p = player(); HandConductor c = new HandConductor(p.address())) {
            c.hello(true);
            byte[] frame = new DataFrame(DataFrame.Kind.FILE, 1, 0, 0, new byte[8]).encode();
            frame[5] = 9;
            c.out.write(frame);
            V2.Message error = (V2.Message) c.next();
            assertThat(error.type()).isEqualTo(V2.ERROR);
            assertThat(error.data().path("message").asText())
                    .isEqualTo("bad message: unknown data frame kind 9 (known: 1 output, 2 file data)");
            assertThat(V2.read(c.in, Frames.DEFAULT_LIMIT)).as("the player closes the connection").isNull();
        }
    }

    /** A plan of one worker, 'dut', with {@code phases}, whose player is whoever listens on {@code server}. */
    private TestPlan planFacing(ServerSocket server, String phases) throws Exception {
        Lab lab = new Lab(dir);
        Path test = lab.worker("dut", phases).write();
        Files.writeString(lab.workerFile("dut"), Files.readString(lab.workerFile("dut"))
                .replace("cmdport: " + lab.cmdport("dut"), "cmdport: " + server.getLocalPort()));
        return PlanLoader.load(test);
    }

    @Test
    void aBadDataFrameFromThePlayerLosesItByNameWithTheReason() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread fake = Thread.ofPlatform().daemon().start(() -> fakePlayerSendingABadFrame(server));
            TestPlan plan = planFacing(server, "[Run]\nstep1: echo hi\n");
            EventLog log = new EventLog(List.of());
            int code = new Conductor(plan, Conductor.Options.defaults(plan), log).run();
            assertThat(code).isNotZero();
            // Lost in its first phase (Startup, empty but still sent), with the reason; Reset then tries a new connection.
            assertThat(log.events().stream().filter(Event.WorkerLost.class::isInstance).map(Event.WorkerLost.class::cast)
                    .filter(l -> l.phase() != dev.conductor.plan.Phase.RESET))
                    .singleElement().satisfies(lost -> assertThat(lost.reason())
                            .startsWith("player of worker 'dut' at 127.0.0.1:" + server.getLocalPort() + " sent garbage: "
                                    + "data frame of kind output with stream 7 (output: 1 stdout, 2 stderr; file data: 0)"));
            fake.join(WAIT.toMillis());
        }
    }

    /** Says hello and answers probes like a player, confirms the phase, then sends output of stream 7. */
    private static void fakePlayerSendingABadFrame(ServerSocket server) {
        try (Socket s = server.accept()) {
            s.setSoTimeout((int) WAIT.toMillis());
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                Frame f = V2.read(in, Frames.DEFAULT_LIMIT);
                if (!(f instanceof V2.Message m)) {
                    return;
                }
                switch (m.type()) {
                    case V2.HELLO -> Frames.write(out, V2.encode(V2.WELCOME, data("player", "fake", "player_version", "0",
                            "capabilities", List.of(DataFrame.CAPABILITY), "nonce", "p", "auth", "none")));
                    case V2.PROBE -> Frames.write(out, V2.encode(V2.PROBE_REPLY, data("t0", m.data().path("t0").asLong(),
                            "t1", 0, "t2", 0)));
                    case V2.PHASE -> Frames.write(out, V2.encode(V2.PHASE_OK, data("id", m.data().path("id").asInt())));
                    case V2.RUN -> {
                        byte[] frame = new DataFrame(DataFrame.Kind.OUTPUT, m.data().path("id").asInt(), 0, 1,
                                "hi\n".getBytes()).encode();
                        frame[6] = 7;
                        out.write(frame);
                    }
                    default -> {
                    }
                }
            }
        } catch (Exception e) {
            // The conductor closed the connection: what the test expects.
        }
    }

    /**
     * The bytes in the middle of a large get are read from the socket's channel, without the
     * socket's timeout: a player that goes silent inside such a frame is still lost, by name,
     * within the link's silence and a heartbeat.
     */
    @Test
    void aPlayerSilentInTheMiddleOfAGetsBytesIsLostByNameSoon() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread fake = Thread.ofPlatform().daemon().start(() -> fakePlayerStoppingInsideAGet(server));
            TestPlan plan = planFacing(server, "[Run]\nstep1: get: big.bin fetched.bin 60\n");
            EventLog log = new EventLog(List.of());
            long t0 = System.nanoTime();
            int code;
            try (var transcripts = Transcripts.in(dir.resolve("run"))) {
                code = new Conductor(plan, Conductor.Options.defaults(plan), log, transcripts).run();
            }
            assertThat(code).isNotZero();
            assertThat(log.events().stream().filter(Event.WorkerLost.class::isInstance).map(Event.WorkerLost.class::cast)
                    .filter(l -> l.phase() == dev.conductor.plan.Phase.RUN))
                    .singleElement().satisfies(lost -> assertThat(lost.reason())
                            .startsWith("player of worker 'dut' at 127.0.0.1:" + server.getLocalPort() + " went silent")
                            .contains("in the middle of a file's data"));
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(WAIT);
            fake.join(WAIT.toMillis());
        }
    }

    /**
     * Says hello and answers like a player; in the Run phase sends 12 MiB of a file as data
     * frames, then the header of one more and a few of its bytes, and nothing after.
     */
    private static void fakePlayerStoppingInsideAGet(ServerSocket server) {
        try (Socket s = server.accept()) {
            s.setSoTimeout((int) WAIT.toMillis() * 2);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int runId = -1;
            while (true) {
                Frame f = V2.read(in, Frames.DEFAULT_LIMIT);
                if (!(f instanceof V2.Message m)) {
                    return;
                }
                int id = m.data().path("id").asInt();
                switch (m.type()) {
                    case V2.HELLO -> Frames.write(out, V2.encode(V2.WELCOME, data("player", "fake", "player_version", "0",
                            "capabilities", List.of(DataFrame.CAPABILITY, "crc32c"), "nonce", "p", "auth", "none")));
                    case V2.PROBE -> Frames.write(out, V2.encode(V2.PROBE_REPLY, data("t0", m.data().path("t0").asLong(),
                            "t1", 0, "t2", 0)));
                    case V2.PHASE -> {
                        runId = "run".equals(m.data().path("phase").asText()) ? id : runId;
                        Frames.write(out, V2.encode(V2.PHASE_OK, data("id", id)));
                    }
                    case V2.RUN -> {
                        if (id != runId) {
                            Frames.write(out, V2.encode(V2.PHASE_DONE, data("id", id)));
                            continue;
                        }
                        Frames.write(out, V2.encode(V2.STEP_STARTED, data("id", id, "index", 0, "at", 0)));
                        Frames.write(out, V2.encode("file_begin", data("id", id, "index", 0, "path", "")));
                        byte[] frame = new DataFrame(DataFrame.Kind.FILE, id, 0, 0, new byte[256 * 1024]).encode();
                        for (int i = 0; i < 48; i++) {
                            out.write(frame);
                        }
                        out.write(frame, 0, 5000);
                        out.flush();
                        while (in.read() >= 0) {
                            // silent, the connection open, until the conductor closes it
                        }
                        return;
                    }
                    default -> {
                    }
                }
            }
        } catch (Exception e) {
            // The conductor closed the connection: what the test expects.
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
