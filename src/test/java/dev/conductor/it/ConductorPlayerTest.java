package dev.conductor.it;

import dev.conductor.conduct.Conductor;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.plan.Phase;
import dev.conductor.plan.TestPlan;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A real conductor against real players, each in its own JVM, over real loopback sockets. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConductorPlayerTest {
    @TempDir
    Path dir;

    private record Run(int exitCode, List<Event> events) {
        List<Event.StepFinished> steps() {
            return events.stream().filter(e -> e instanceof Event.StepFinished).map(e -> (Event.StepFinished) e).toList();
        }

        List<Event.StepFinished> steps(String worker, Phase phase) {
            return steps().stream().filter(s -> s.worker().equals(worker) && s.phase() == phase).toList();
        }

        List<Event.WorkerLost> lost() {
            return events.stream().filter(e -> e instanceof Event.WorkerLost).map(e -> (Event.WorkerLost) e).toList();
        }
    }

    private static Run conduct(Path test, Conductor.Options options) throws Exception {
        TestPlan plan = PlanLoader.load(test);
        EventLog log = new EventLog(List.of());
        int code = new Conductor(plan, options, log).run();
        return new Run(code, log.events());
    }

    private static Run conduct(Path test) throws Exception {
        return conduct(test, Conductor.Options.defaults(PlanLoader.load(test)));
    }

    @Test
    void twoPlayersRunEveryPhaseOfEveryTrialWithTheirEnvironment() throws Exception {
        Lab lab = new Lab(dir).test("trials: 2");
        String echoEnv = "echo \"$CONDUCTOR_TRIAL $CONDUCTOR_PHASE $CONDUCTOR_WORKER\"";
        String sections = "[Startup]\nstep1: " + echoEnv + "\n[Run]\nstep1: " + echoEnv + "\n[Collect]\nstep1: " + echoEnv
                + "\n[Reset]\nstep1: " + echoEnv;
        lab.worker("alpha", sections).worker("beta", sections);
        Path test = lab.write();
        try (var a = PlayerProcess.start(lab.workerFile("alpha")); var b = PlayerProcess.start(lab.workerFile("beta"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isZero();
            assertThat(run.steps()).hasSize(2 * 2 * 4).allMatch(s -> s.status() == Status.OK);
            assertThat(run.steps("beta", Phase.COLLECT)).extracting(Event.StepFinished::stdout)
                    .containsExactly("1 collect beta\n", "2 collect beta\n");
            assertThat(run.steps()).allMatch(s -> s.startedAt().isPresent() && s.duration().isPresent());
        }
    }

    @Test
    void aFailedStepSkipsTheRestOfThatPhaseButCollectAndResetStillRun() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", """
                [Run]
                step1: echo before
                step2: sh -c 'echo out; echo err >&2; exit 3'
                step3: echo never
                [Collect]
                step1: echo collected
                [Reset]
                step1: echo reset
                """);
        lab.worker("other", "[Run]\nstep1: echo unaffected\nstep2: echo still");
        Path test = lab.write();
        try (var p1 = PlayerProcess.start(lab.workerFile("dut")); var p2 = PlayerProcess.start(lab.workerFile("other"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_STEP_FAILED);
            List<Event.StepFinished> dutRun = run.steps("dut", Phase.RUN);
            assertThat(dutRun).extracting(Event.StepFinished::status)
                    .containsExactly(Status.OK, Status.FAILED, Status.SKIPPED);
            Event.StepFinished failed = dutRun.get(1);
            assertThat(failed.code()).isEqualTo(3);
            assertThat(failed.stdout()).isEqualTo("out\n");
            assertThat(failed.stderr()).isEqualTo("err\n");
            assertThat(failed.message()).contains("exited with code 3").contains("out").contains("err");
            assertThat(run.steps("other", Phase.RUN)).allMatch(s -> s.status() == Status.OK).hasSize(2);
            assertThat(run.steps("dut", Phase.COLLECT)).singleElement().extracting(Event.StepFinished::status).isEqualTo(Status.OK);
            assertThat(run.steps("dut", Phase.RESET)).singleElement().extracting(Event.StepFinished::status).isEqualTo(Status.OK);
        }
    }

    @Test
    void onFailureContinueRunsEveryStepAsTheReferenceDoes() throws Exception {
        Lab lab = new Lab(dir).test("on_failure: continue");
        lab.worker("dut", "[Run]\nstep1: false\nstep2: echo after");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_STEP_FAILED);
            assertThat(run.steps("dut", Phase.RUN)).extracting(Event.StepFinished::status)
                    .containsExactly(Status.FAILED, Status.OK);
        }
    }

    @Test
    void aTimeoutKillsTheWholeProcessTreeAndReportsIt() throws Exception {
        String marker = Processes.marker();
        Lab lab = new Lab(dir);
        // The shell starts a background child and a grandchild: all must die with the step.
        lab.worker("dut", "[Run]\ntimeout1: echo started; sh -c 'sleep " + marker + "' & sleep " + marker);
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            long t0 = System.nanoTime();
            Run run = conduct(test);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(15));
            Event.StepFinished step = run.steps("dut", Phase.RUN).getFirst();
            assertThat(step.status()).isEqualTo(Status.TIMEOUT);
            assertThat(step.message()).startsWith("Command timed out after 1 seconds");
            assertThat(step.stdout()).isEqualTo("started\n");
            assertThat(step.duration().orElseThrow()).isBetween(Duration.ofMillis(900), Duration.ofSeconds(8));
            await().atMost(Duration.ofSeconds(5)).until(() -> Processes.withArgument(marker).isEmpty());
        } finally {
            Processes.killAll(marker);
        }
    }

    @Test
    void spawnedProcessesAreKilledWhenResetFinishes() throws Exception {
        String marker = Processes.marker();
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Startup]\nspawn1: sleep " + marker + "\nstep2: spawn:sh -c 'sleep " + marker
                + "'\n[Run]\nstep1: pgrep -f 'sleep " + marker + "' >/dev/null && echo alive\n[Reset]\nstep1: true");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test);
            assertThat(run.exitCode()).isZero();
            assertThat(run.steps("dut", Phase.STARTUP)).extracting(Event.StepFinished::status)
                    .containsExactly(Status.SPAWNED, Status.SPAWNED);
            assertThat(run.steps("dut", Phase.RUN).getFirst().stdout()).isEqualTo("alive\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> Processes.withArgument(marker).isEmpty());
        } finally {
            Processes.killAll(marker);
        }
    }

    @Test
    void aPlayerStoppedBySigtermLeavesNoProcessBehind() throws Exception {
        String marker = Processes.marker();
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Startup]\nspawn1: sleep " + marker + "\nspawn2: sh -c 'sleep " + marker + " & wait'");
        Path test = lab.write();
        TestPlan plan = PlanLoader.load(test);
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test, new Conductor.Options(1, List.of(Phase.STARTUP), List.of(), Optional.empty(),
                    Optional.empty(), Duration.ofSeconds(5)));
            assertThat(run.exitCode()).isZero();
            await().atMost(Duration.ofSeconds(5)).until(() -> Processes.withArgument(marker).size() >= 3);
            p.process().destroy(); // SIGTERM
            assertThat(p.process().waitFor(15, TimeUnit.SECONDS)).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> Processes.withArgument(marker).isEmpty());
        } finally {
            Processes.killAll(marker);
        }
        assertThat(plan.workers()).hasSize(1);
    }

    @Test
    void anUnreachablePlayerIsReportedByNameWhileTheOthersRun() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("up", "[Run]\nstep1: echo here\n[Reset]\nstep1: echo reset");
        lab.worker("down", "[Run]\nstep1: echo never\n[Reset]\nstep1: echo reset");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("up"))) {
            long t0 = System.nanoTime();
            Run run = conduct(test);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(run.steps("up", Phase.RUN)).singleElement().extracting(Event.StepFinished::stdout).isEqualTo("here\n");
            assertThat(run.steps("up", Phase.RESET)).hasSize(1);
            assertThat(run.lost()).isNotEmpty().allMatch(l -> l.worker().equals("down"));
            assertThat(run.lost().getFirst().reason())
                    .contains("worker 'down'").contains("127.0.0.1:" + lab.cmdport("down")).contains("connection refused");
            // Reset is still attempted for the lost worker.
            assertThat(run.lost()).anyMatch(l -> l.phase() == Phase.RESET);
        }
    }

    @Test
    void aPlayerThatAcceptsButNeverAnswersIsLostWithinTheDeadline() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("mute", "[Run]\nstep1: true");
        Path test = lab.write();
        try (ServerSocket mute = new ServerSocket(lab.cmdport("mute"), 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                List<Socket> held = new java.util.ArrayList<>();
                try {
                    while (true) {
                        held.add(mute.accept()); // accept, read nothing, answer nothing
                    }
                } catch (Exception ignored) {
                    held.forEach(s -> {
                        try {
                            s.close();
                        } catch (Exception e) {
                            // closing test sockets
                        }
                    });
                }
            });
            long t0 = System.nanoTime();
            Run run = conduct(test, new Conductor.Options(1, List.of(Phase.RUN), List.of(), Optional.empty(),
                    Optional.empty(), Duration.ofSeconds(1)));
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(run.lost()).singleElement().extracting(Event.WorkerLost::reason).asString()
                    .contains("worker 'mute'").contains("did not answer hello within 1 s");
            mute.close();
            acceptor.join(5000);
        }
    }

    @Test
    void aPlayerKilledMidPhaseIsLostAndTheOtherWorkersResultsAreKept() throws Exception {
        String marker = Processes.marker();
        Lab lab = new Lab(dir);
        lab.worker("victim", "[Run]\nstep1: echo first\nstep2: sleep " + marker + "\n[Reset]\nstep1: true");
        lab.worker("survivor", "[Run]\nstep1: sleep 1; echo done\n[Reset]\nstep1: echo reset");
        Path test = lab.write();
        try (var victim = PlayerProcess.start(lab.workerFile("victim"));
             var survivor = PlayerProcess.start(lab.workerFile("survivor"))) {
            Thread killer = Thread.ofVirtual().start(() -> {
                await().atMost(Duration.ofSeconds(20)).until(() -> !Processes.withArgument(marker).isEmpty());
                victim.process().destroyForcibly(); // kill -9
            });
            long t0 = System.nanoTime();
            Run run = conduct(test, new Conductor.Options(1, List.of(Phase.values()), List.of(),
                    Optional.of(Duration.ofSeconds(15)), Optional.empty(), Duration.ofSeconds(5)));
            killer.join(20_000);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(60));
            assertThat(run.exitCode()).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            assertThat(run.steps("victim", Phase.RUN)).singleElement().extracting(Event.StepFinished::stdout).isEqualTo("first\n");
            assertThat(run.lost()).first().satisfies(l -> {
                assertThat(l.worker()).isEqualTo("victim");
                assertThat(l.phase()).isEqualTo(Phase.RUN);
                // v2 sees the connection drop at once, without waiting for the deadline.
                assertThat(l.reason()).contains("closed the connection").contains("no result for step 2")
                        .contains("1 of 2 results arrived");
            });
            assertThat(run.steps("survivor", Phase.RUN)).singleElement().extracting(Event.StepFinished::stdout).isEqualTo("done\n");
            assertThat(run.steps("survivor", Phase.RESET)).hasSize(1);
        } finally {
            // A player killed with SIGKILL cannot clean up after itself; its step is ours to reap here.
            Processes.killAll(marker);
        }
    }

    @Test
    void aStalledConnectionDoesNotBlockAConductor() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Run]\nstep1: echo served");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"));
             Socket stalled = new Socket("127.0.0.1", lab.cmdport("dut"))) {
            stalled.getOutputStream().write(new byte[]{0, 0});
            stalled.getOutputStream().flush();
            long t0 = System.nanoTime();
            Run run = conduct(test);
            assertThat(run.exitCode()).isZero();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            assertThat(run.steps("dut", Phase.RUN).getFirst().stdout()).isEqualTo("served\n");
        }
    }

    @Test
    void hugeOutputIsBoundedToItsTail() throws Exception {
        Lab lab = new Lab(dir);
        // 50 MB of output, then a last line that must survive.
        lab.worker("dut", "[Run]\nstep1: head -c 52428800 /dev/zero | tr '\\\\0' x; echo; echo THE-END");
        Path test = lab.write();
        try (var p = PlayerProcess.start(lab.workerFile("dut"))) {
            Run run = conduct(test);
            Event.StepFinished s = run.steps("dut", Phase.RUN).getFirst();
            assertThat(s.status()).isEqualTo(Status.OK);
            assertThat(s.stdout()).endsWith("THE-END\n").hasSizeLessThanOrEqualTo(64 * 1024);
        }
    }
}
