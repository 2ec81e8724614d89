package dev.conductor.it;

import dev.conductor.conduct.Conductor;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.plan.Phase;
import dev.conductor.plan.TestPlan;
import dev.conductor.wire.Frames;
import dev.conductor.wire.StepResult.Status;
import dev.conductor.wire.V1;
import dev.conductor.wire.V2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.awaitility.Awaitility.await;

/** Protocol v2's promises, with real players in their own JVMs and real processes. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProtocolV2Test {
    @TempDir
    Path dir;

    private record Run(int exitCode, List<Event> events) {
        <T extends Event> List<T> all(Class<T> type) {
            return events.stream().filter(type::isInstance).map(type::cast).toList();
        }

        List<Event.StepFinished> steps(String worker, Phase phase) {
            return all(Event.StepFinished.class).stream().filter(s -> s.worker().equals(worker) && s.phase() == phase).toList();
        }
    }

    private static Run conduct(Path test, Conductor.Options options, Event.RunStarted... ignored) throws Exception {
        TestPlan plan = PlanLoader.load(test);
        EventLog log = new EventLog(List.of());
        int code = new Conductor(plan, options, log).run();
        return new Run(code, log.events());
    }

    private static Conductor.Options defaults(Path test) throws Exception {
        return Conductor.Options.defaults(PlanLoader.load(test));
    }

    @Test
    void ourPlayersSpeakV2WithMeasuredClocksAndStreamedEvents() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("a", "[Run]\nstep1: echo one; echo two >&2\nspawn1: sh -c 'echo late; exit 4'\n[Reset]\nstep1: sleep 0.3");
        lab.worker("b", "[Run]\nstep1: echo b");
        Path test = lab.write();
        try (var a = PlayerProcess.start(lab.workerFile("a")); var b = PlayerProcess.start(lab.workerFile("b"))) {
            Run run = conduct(test, defaults(test));
            assertThat(run.exitCode()).isZero();
            assertThat(run.all(Event.LinkOpened.class)).hasSize(2).allSatisfy(l -> {
                assertThat(l.protocol()).isEqualTo(2);
                assertThat(l.rttMicros()).isBetween(0L, 50_000L);
                // Same machine, same clock: the measured offset is within the round trip.
                assertThat(Math.abs(l.offsetMicros())).isLessThanOrEqualTo(Math.max(1000, l.rttMicros()));
            });
            assertThat(run.all(Event.StepStarted.class)).hasSizeGreaterThanOrEqualTo(3);
            List<Event.Output> out = run.all(Event.Output.class).stream().filter(o -> o.worker().equals("a")).toList();
            assertThat(out).extracting(Event.Output::stream).contains("stdout", "stderr");
            assertThat(run.all(Event.SpawnExited.class)).singleElement().satisfies(e -> {
                assertThat(e.worker()).isEqualTo("a");
                assertThat(e.code()).isEqualTo(4);
            });
            Event.PhaseReleased released = run.all(Event.PhaseReleased.class).stream()
                    .filter(p -> p.phase() == Phase.RUN).findFirst().orElseThrow();
            for (Event.StepStarted s : run.all(Event.StepStarted.class)) {
                if (s.phase() == Phase.RUN && s.index() == 0) {
                    // Nobody starts before the instant (allowing for the offset's error bound).
                    assertThat(s.startedAt()).isAfter(released.startAt().minusMillis(2));
                }
            }
        }
    }

    @Test
    void aPhaseStartedAtRealTimePriorityRunsItsStepsAtNormalPriority() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root (or CAP_SYS_NICE) for the real-time start; "
                + "running as " + System.getProperty("user.name"));
        Lab lab = new Lab(dir);
        // The first step is forked by the player's real-time start gate, the second by its runner.
        lab.worker("a", "[Run]\nstep1: chrt -p $$\nstep2: chrt -p $$");
        Path test = lab.write();
        try (var a = PlayerProcess.start(lab.workerFile("a"))) {
            Run run = conduct(test, defaults(test));
            assertThat(run.exitCode()).isZero();
            assertThat(run.steps("a", Phase.RUN)).hasSize(2).allSatisfy(s ->
                    assertThat(s.stdout()).contains("scheduling policy: SCHED_OTHER").doesNotContain("FIFO"));
        }
    }

    @Test
    void aReferencePlayerGetsV1AfterItsExactAnswerToHello() throws Exception {
        // The reference's recorded answer to a version-2 frame, from the interop folder.
        String answer = Files.readAllLines(dev.conductor.interop.Transcript.reference(
                "malformed-input-responses.tsv")).stream().filter(l -> l.startsWith("frame {\"version\":2"))
                .findFirst().orElseThrow().split("\t")[1];
        Lab lab = new Lab(dir);
        lab.worker("old", "[Run]\nstep1: echo hi");
        Path test = lab.write();
        TestPlan plan = PlanLoader.load(test);
        int resultPort = plan.workers().getFirst().coordinator().resultsport();
        List<String> received = new ArrayList<>();
        try (ServerSocket fake = new ServerSocket(lab.cmdport("old"), 50, InetAddress.getLoopbackAddress())) {
            Thread player = Thread.ofVirtual().start(() -> fakeReferencePlayer(fake, answer, resultPort, received));
            Run run = conduct(test, new Conductor.Options(1, List.of(Phase.RUN), List.of(), Optional.empty(),
                    Optional.empty(), Duration.ofSeconds(5)));
            assertThat(run.exitCode()).isZero();
            assertThat(run.all(Event.LinkOpened.class)).singleElement().extracting(Event.LinkOpened::protocol).isEqualTo(1);
            assertThat(run.steps("old", Phase.RUN)).singleElement().satisfies(s -> {
                assertThat(s.status()).isEqualTo(Status.OK);
                assertThat(s.stdout()).isEqualTo("hi\n");
            });
            fake.close();
            player.join(5000);
        }
        assertThat(received.getFirst()).contains("\"version\": 2").contains("\"hello\"");
        assertThat(received).anyMatch(r -> r.contains("\"phase\"") && r.contains("\"version\": 1"));
    }

    /** Answers hello as the reference does, then plays v1: phase received, one result, phases complete. */
    private static void fakeReferencePlayer(ServerSocket server, String helloAnswer, int resultPort, List<String> received) {
        try {
            while (true) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(5000);
                    byte[] body = Frames.read(s.getInputStream(), Frames.DEFAULT_LIMIT);
                    if (body == null) {
                        continue;
                    }
                    String text = new String(body, StandardCharsets.UTF_8);
                    synchronized (received) {
                        received.add(text);
                    }
                    if (text.contains("\"version\": 2")) {
                        Frames.write(s.getOutputStream(), helloAnswer.getBytes(StandardCharsets.UTF_8));
                    } else if (text.contains("\"phase\"")) {
                        Frames.write(s.getOutputStream(), V1.result(0, "phase received"));
                    } else if (text.contains("\"run\"")) {
                        for (byte[] r : List.of(V1.result(0, "hi\n"), V1.result(V1.PHASE_DONE, "phases complete"))) {
                            try (Socket back = new Socket("127.0.0.1", resultPort)) {
                                Frames.write(back.getOutputStream(), r);
                            }
                        }
                    }
                }
            }
        } catch (IOException closed) {
            // The test closed the server: done.
        }
    }

    @Test
    void forcedV1StillWorksWithOurPlayer() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: echo v1\nstep2: false\nstep3: echo never");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test, defaults(test).withMaxProtocol(1));
            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.all(Event.LinkOpened.class)).singleElement().extracting(Event.LinkOpened::protocol).isEqualTo(1);
            assertThat(run.steps("dut", Phase.RUN)).extracting(Event.StepFinished::status)
                    .containsExactly(Status.OK, Status.FAILED, Status.SKIPPED);
        }
    }

    @Test
    void aFrozenPlayerIsDeclaredLostWithinFiveSecondsByName() throws Exception {
        String marker = Processes.marker();
        Lab lab = new Lab(dir);
        lab.worker("frozen", "[Run]\nstep1: sleep " + marker + "\n[Reset]\nstep1: true");
        lab.worker("fine", "[Run]\nstep1: echo ok");
        Path test = lab.write();
        try (var frozen = PlayerProcess.start(lab.workerFile("frozen")); var fine = PlayerProcess.start(lab.workerFile("fine"))) {
            long[] frozenAt = {0};
            Thread stopper = Thread.ofVirtual().start(() -> {
                // Freeze it while its step runs: it stops reading and stops its heartbeats.
                await().atMost(Duration.ofSeconds(60)).until(() -> !Processes.withArgument(marker).isEmpty());
                signal(frozen.pid(), "STOP");
                frozenAt[0] = System.nanoTime();
            });
            Run run = conduct(test, new Conductor.Options(1, List.of(Phase.RUN), List.of(), Optional.empty(),
                    Optional.empty(), Duration.ofSeconds(5)));
            long lostAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt[0]);
            stopper.join();
            signal(frozen.pid(), "CONT");
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(lostAfter).as("lost about 5 s after freezing, not at the step's 30 s deadline").isLessThan(15_000);
            assertThat(run.all(Event.WorkerLost.class)).singleElement().satisfies(l -> {
                assertThat(l.worker()).isEqualTo("frozen");
                assertThat(l.reason()).contains("went silent").contains("worker 'frozen'").contains("sleep " + marker);
            });
            assertThat(run.steps("fine", Phase.RUN)).singleElement().extracting(Event.StepFinished::status).isEqualTo(Status.OK);
        } finally {
            Processes.killAll(marker);
        }
    }

    @Test
    void aPlayerSendingGarbageAfterHelloIsReportedClearly() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("liar", "[Run]\nstep1: true");
        Path test = lab.write();
        try (ServerSocket fake = new ServerSocket(lab.cmdport("liar"), 50, InetAddress.getLoopbackAddress())) {
            Thread t = Thread.ofVirtual().start(() -> {
                try (Socket s = fake.accept()) {
                    InputStream in = s.getInputStream();
                    Frames.read(in, Frames.DEFAULT_LIMIT);
                    var w = dev.conductor.wire.Json.object();
                    w.put("player", "liar").put("nonce", "x").put("auth", "none");
                    Frames.write(s.getOutputStream(), V2.encode(V2.WELCOME, w));
                    Frames.write(s.getOutputStream(), "{this is not json".getBytes(StandardCharsets.UTF_8));
                    sleep(3000);
                } catch (IOException ignored) {
                    // The conductor hung up, as it should.
                }
            });
            long t0 = System.nanoTime();
            Run run = conduct(test, new Conductor.Options(1, List.of(Phase.RUN), List.of(), Optional.empty(),
                    Optional.empty(), Duration.ofSeconds(2)));
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(10_000);
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(run.all(Event.WorkerLost.class)).singleElement().extracting(Event.WorkerLost::reason).asString()
                    .contains("worker 'liar'").contains("bad message");
            t.join(5000);
        }
    }

    @Test
    void aPlayerRestartedBetweenTrialsIsReconnectedAndEveryOtherResultKept() throws Exception {
        Lab lab = new Lab(dir).test("trials: 3");
        lab.worker("phoenix", "[Run]\nstep1: echo trial $CONDUCTOR_TRIAL");
        lab.worker("steady", "[Run]\nstep1: echo steady");
        Path test = lab.write();
        PlayerProcess[] phoenix = {PlayerProcess.start(lab.workerFile("phoenix"))};
        try (var steady = PlayerProcess.start(lab.workerFile("steady"))) {
            TestPlan plan = PlanLoader.load(test);
            EventLog log = new EventLog(List.of(e -> {
                if (e instanceof Event.TrialFinished t && t.trial() == 1) {
                    phoenix[0].process().destroyForcibly(); // dies between trials...
                    try {
                        phoenix[0].process().waitFor(10, TimeUnit.SECONDS);
                        phoenix[0] = PlayerProcess.start(lab.workerFile("phoenix")); // ...and comes back
                    } catch (Exception ex) {
                        throw new IllegalStateException(ex);
                    }
                }
            }));
            int code = new Conductor(plan, Conductor.Options.defaults(plan), log).run();
            Run run = new Run(code, log.events());
            assertThat(run.steps("phoenix", Phase.RUN)).extracting(Event.StepFinished::stdout)
                    .containsExactly("trial 1\n", "trial 2\n", "trial 3\n");
            assertThat(run.steps("steady", Phase.RUN)).hasSize(3);
            assertThat(run.all(Event.LinkOpened.class).stream().filter(l -> l.worker().equals("phoenix"))).hasSize(2);
        } finally {
            phoenix[0].close();
        }
    }

    @Test
    void aConductorKilledMidPhaseLeavesNoProcessOnThePlayerWhichServesTheNextOne() throws Exception {
        String marker = Processes.marker();
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Startup]\nspawn1: sleep " + marker + "\n[Run]\nstep1: sleep " + marker + "\n[Reset]\nstep1: true");
        Path test = lab.write();
        try (var player = PlayerProcess.start(lab.workerFile("dut"))) {
            Process conductor = new ProcessBuilder(Jvm.command("dev.conductor.cli.ConductCommand"))
                    .command(withArgs(Jvm.command("dev.conductor.cli.ConductCommand"), "--results", dir.resolve("r").toString(),
                            test.toString()))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> Processes.withArgument(marker).size() >= 2);
                conductor.destroyForcibly(); // kill -9: no goodbye
                long t0 = System.nanoTime();
                await().atMost(Duration.ofSeconds(10)).until(() -> Processes.withArgument(marker).isEmpty());
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(10_000);
            } finally {
                conductor.destroyForcibly();
            }
            // Ready for the next conductor.
            Files.writeString(lab.workerFile("dut"), Files.readString(lab.workerFile("dut")).replace("sleep " + marker, "echo again"));
            Run run = conduct(test, defaults(test));
            assertThat(run.exitCode()).isZero();
        } finally {
            Processes.killAll(marker);
        }
    }

    @Test
    void aSharedTokenIsRequiredBothWaysAndNeverSent() throws Exception {
        Path token = dir.resolve("token");
        Files.writeString(token, "0123456789abcdef0123456789abcdef\n");
        Path wrong = dir.resolve("wrong");
        Files.writeString(wrong, "fedcba9876543210fedcba9876543210\n");
        Lab lab = new Lab(dir);
        lab.worker("vault", "[Run]\nstep1: echo inside");
        Path test = lab.write();
        byte[] secret = dev.conductor.wire.Auth.readToken(token);
        try (var p = PlayerProcess.start(lab.workerFile("vault"), "--token-file", token.toString())) {
            Run ok = conduct(test, defaults(test).withToken(secret));
            assertThat(ok.exitCode()).isZero();
            assertThat(ok.steps("vault", Phase.RUN).getFirst().stdout()).isEqualTo("inside\n");

            Run none = conduct(test, defaults(test));
            assertThat(none.exitCode()).isEqualTo(3);
            assertThat(none.all(Event.WorkerLost.class).getFirst().reason()).contains("requires a shared token");

            Run bad = conduct(test, defaults(test).withToken(dev.conductor.wire.Auth.readToken(wrong)));
            assertThat(bad.exitCode()).isEqualTo(3);
            assertThat(bad.all(Event.WorkerLost.class).getFirst().reason()).contains("could not prove it has the shared token");

            Run v1 = conduct(test, defaults(test).withMaxProtocol(1));
            assertThat(v1.exitCode()).isEqualTo(3);
            assertThat(v1.all(Event.WorkerLost.class).getFirst().reason()).contains("requires authentication");
            assertThat(v1.all(Event.StepFinished.class)).isEmpty();

            await().atMost(Duration.ofSeconds(5)).until(() -> p.stderr().contains("authentication failed")
                    || p.stderr().contains("refused"));
            assertThat(p.stderr()).contains("127.0.0.1").doesNotContain("0123456789abcdef");
        }
        try (var open = PlayerProcess.start(lab.workerFile("vault"))) {
            Run refused = conduct(test, defaults(test).withToken(secret));
            assertThat(refused.exitCode()).isEqualTo(3);
            assertThat(refused.all(Event.WorkerLost.class).getFirst().reason()).contains("runs without --token-file");
            assertThat(refused.all(Event.StepFinished.class)).isEmpty();
        }
    }

    @Test
    void aCutNetworkIsNoticedOnBothSides() throws Exception {
        String marker = Processes.marker();
        String running = Processes.marker(); // only the Run step has this one
        Lab lab = new Lab(dir);
        // The conductor reaches the player only through the relay on the worker's cmdport.
        lab.worker("far", "[Startup]\nspawn1: sleep " + marker + "\n[Run]\nstep1: sleep " + running + "\n[Reset]\nstep1: true");
        Path test = lab.write();
        int playerPort = Lab.freePort();
        try (var player = PlayerProcess.start(lab.workerFile("far"), "-p", String.valueOf(playerPort));
             CutProxy wire = new CutProxy(lab.cmdport("far"), playerPort)) {
            Thread cutter = Thread.ofVirtual().start(() -> {
                await().atMost(Duration.ofSeconds(30)).until(() -> !Processes.withArgument(running).isEmpty());
                wire.cut();
            });
            long t0 = System.nanoTime();
            Run run = conduct(test, new Conductor.Options(1, List.of(Phase.STARTUP, Phase.RUN), List.of(), Optional.empty(),
                    Optional.empty(), Duration.ofSeconds(5)));
            cutter.join(30_000);
            // The conductor: lost by name, within seconds, not at the 40 s phase deadline.
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(25_000);
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(run.all(Event.WorkerLost.class)).singleElement().extracting(Event.WorkerLost::reason).asString()
                    .contains("worker 'far'").contains("went silent");
            // The player: hears nothing for 5 s, ends the session and kills what it started.
            await().atMost(Duration.ofSeconds(10)).until(() -> Processes.withArgument(marker).isEmpty()
                    && Processes.withArgument(running).isEmpty());
            assertThat(player.stderr()).contains("silent");
        } finally {
            Processes.killAll(marker);
            Processes.killAll(running);
        }
    }

    @Test
    void theNextPhaseIsSentWhileOneRunsAndOneThatWillNotRunIsForgotten() throws Exception {
        Lab lab = new Lab(dir);
        // Every phase lasts long enough for the next one to cross while it runs, even on a slow machine.
        lab.worker("a", "[Startup]\nstep1: sleep 0.3\n[Run]\nstep1: sleep 0.3\n[Collect]\nstep1: echo collected; sleep 0.3\n"
                + "[Reset]\nstep1: echo reset; sleep 0.3");
        Path test = lab.write();
        int playerPort = Lab.freePort();
        try (var player = PlayerProcess.start(lab.workerFile("a"), "-p", String.valueOf(playerPort));
             CutProxy wire = new CutProxy(lab.cmdport("a"), playerPort)) {
            Run run = conduct(test, new Conductor.Options(2, List.of(Phase.values()), List.of(), Optional.empty(),
                    Optional.empty(), Duration.ofSeconds(5)));
            assertThat(run.exitCode()).isZero();
            assertThat(run.all(Event.StepFinished.class)).hasSize(8).allSatisfy(s -> assertThat(s.code()).isZero());
            // The relay notes frames as they pass; the conductor's goodbye is the last of them.
            await().atMost(Duration.ofSeconds(10)).until(() -> wire.seen().contains("conductor>player bye"));
            List<String> seen = wire.seen();
            List<String> phases = seen.stream().filter(m -> m.startsWith("conductor>player phase ")).toList();
            List<String> runs = seen.stream().filter(m -> m.startsWith("conductor>player run ")).toList();
            // Each of the 8 phases sent once, each started once, in order.
            assertThat(phases).hasSize(8).doesNotHaveDuplicates();
            assertThat(runs).extracting(m -> m.replace(" run ", " phase ")).containsExactlyElementsOf(phases);
            // Every phase after the first went out while the one before it was still running there.
            for (int i = 1; i < phases.size(); i++) {
                String before = "player>conductor phase_done " + runs.get(i - 1).substring(runs.get(i - 1).lastIndexOf(' ') + 1);
                assertThat(seen.indexOf(phases.get(i))).as(phases.get(i) + " before " + before + " in " + seen)
                        .isLessThan(seen.indexOf(before)).isGreaterThan(seen.indexOf(runs.get(i - 1)));
            }
            assertThat(seen).noneMatch(m -> m.contains(" forget"));
        }

        // Interrupted during Run: the Collect sent ahead is forgotten, and Reset still runs.
        lab = new Lab(Files.createDirectories(dir.resolve("interrupted")));
        String running = Processes.marker();
        lab.worker("a", "[Run]\nstep1: sleep " + running + "\n[Collect]\nstep1: echo collected\n[Reset]\nstep1: echo reset");
        test = lab.write();
        playerPort = Lab.freePort();
        try (var player = PlayerProcess.start(lab.workerFile("a"), "-p", String.valueOf(playerPort));
             CutProxy wire = new CutProxy(lab.cmdport("a"), playerPort)) {
            Conductor conductor = new Conductor(PlanLoader.load(test), new Conductor.Options(1, List.of(Phase.values()),
                    List.of(), Optional.empty(), Optional.empty(), Duration.ofSeconds(5)), new EventLog(List.of()));
            Thread stopper = Thread.ofVirtual().start(() -> {
                await().atMost(Duration.ofSeconds(30)).until(() -> !Processes.withArgument(running).isEmpty());
                conductor.interrupt();
            });
            assertThat(conductor.run()).isEqualTo(Conductor.EXIT_INTERRUPTED);
            stopper.join(30_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> wire.seen().contains("conductor>player bye"));
            List<String> seen = wire.seen();
            List<String> sentIds = seen.stream().filter(m -> m.startsWith("conductor>player phase "))
                    .map(m -> m.substring(m.lastIndexOf(' ') + 1)).toList();
            List<String> runIds = seen.stream().filter(m -> m.startsWith("conductor>player run "))
                    .map(m -> m.substring(m.lastIndexOf(' ') + 1)).toList();
            // Startup, Run, Collect (sent ahead) and Reset went out; Collect alone was not run.
            assertThat(sentIds).as(seen.toString()).hasSize(4);
            String collect = sentIds.get(2);
            assertThat(runIds).containsExactly(sentIds.get(0), sentIds.get(1), sentIds.get(3));
            assertThat(seen.indexOf("conductor>player forget " + collect)).as(seen.toString())
                    .isPositive().isLessThan(seen.indexOf("conductor>player run " + sentIds.get(3)));
        } finally {
            Processes.killAll(running);
        }
    }

    private static List<String> withArgs(List<String> base, String... args) {
        List<String> all = new ArrayList<>(base);
        all.addAll(List.of(args));
        return all;
    }

    private static void signal(long pid, String sig) {
        try {
            new ProcessBuilder("kill", "-" + sig, String.valueOf(pid)).start().waitFor(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
