package dev.conductor.it;

import dev.conductor.events.Event;
import dev.conductor.plan.Step;
import dev.conductor.scenario.Outcome;
import dev.conductor.scenario.Scenario;
import dev.conductor.scenario.ScenarioResult;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The Java scenario API against real players in their own JVMs, with real processes and sockets. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ScenarioTest {
    @TempDir
    Path dir;

    private final List<PlayerProcess> players = new ArrayList<>();
    private String serverAt;
    private String clientAt;
    private final String marker = Processes.marker();

    @BeforeEach
    void startPlayers() throws Exception {
        Lab lab = new Lab(dir);
        lab.worker("server", "").worker("client", "");
        players.add(PlayerProcess.start(lab.workerFile("server"), "-q"));
        players.add(PlayerProcess.start(lab.workerFile("client"), "-q"));
        serverAt = "127.0.0.1:" + lab.cmdport("server");
        clientAt = "127.0.0.1:" + lab.cmdport("client");
    }

    @AfterEach
    void stopPlayers() {
        players.forEach(PlayerProcess::close);
        Processes.killAll(marker);
    }

    private Scenario.Builder scenario(String name) {
        return Scenario.named(name).results(dir.resolve("results")).folder(dir)
                .live(new PrintStream(PrintStream.nullOutputStream(), true, StandardCharsets.UTF_8),
                        dev.conductor.report.Verbosity.NORMAL);
    }

    @Test
    void aClientTalksToAServerItWaitedForAndEveryStepIsReportedWithoutAnOk() throws Exception {
        int port = Lab.freePort();
        String server = "perl -MIO::Socket::INET -e '$|=1; $s = IO::Socket::INET->new(LocalAddr => \"127.0.0.1\","
                + " LocalPort => " + port + ", Listen => 1, ReuseAddr => 1) or die; print \"listening on " + port + "\\n\";"
                + " while ($c = $s->accept) { $l = <$c>; print \"got: $l\"; print $c \"echo: $l\"; close $c }'";
        String client = "perl -MIO::Socket::INET -e '$c = IO::Socket::INET->new(\"127.0.0.1:" + port + "\") or die \"no server\";"
                + " print $c \"hello\\n\"; print scalar <$c>'";
        List<Outcome> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        ScenarioResult r = scenario("client-server")
                .tester("server", serverAt, t -> {
                    t.spawn("srv", server);
                    seen.add(t.expect("srv", "listening on (\\d+)", Duration.ofSeconds(10)));
                    t.barrier("ready", Duration.ofSeconds(10));
                    t.barrier("done", Duration.ofSeconds(10));
                    t.expect("srv", "got: hello", Duration.ofSeconds(5));
                    t.terminate("srv", Duration.ofSeconds(2));
                })
                .tester("client", clientAt, t -> {
                    t.barrier("ready", Duration.ofSeconds(10));
                    Outcome o = t.run(client, Duration.ofSeconds(10));
                    t.check("the server echoed our line", () -> o.stdout().contains("echo: hello"));
                    t.barrier("done", Duration.ofSeconds(10));
                })
                .run();

        r.assertPassed();
        assertThat(seen.getFirst().stdout()).isEqualTo("listening on " + port);
        assertThat(r.steps("server")).extracting(Event.StepFinished::mode).containsExactly(Step.Mode.SPAWN,
                Step.Mode.EXPECT, Step.Mode.BARRIER, Step.Mode.BARRIER, Step.Mode.EXPECT, Step.Mode.TERMINATE);
        assertThat(r.steps("client")).extracting(Event.StepFinished::mode).containsExactly(Step.Mode.BARRIER,
                Step.Mode.TIMEOUT, Step.Mode.CHECK, Step.Mode.BARRIER);
        // One sequence of indexes per tester, as a test file's phase has.
        assertThat(r.steps("server")).extracting(Event.StepFinished::index).containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(r.events()).filteredOn(e -> e instanceof Event.BarrierReleased).hasSize(2)
                .allMatch(e -> ((Event.BarrierReleased) e).ok());
        // The server's output went to its transcript, as in a conduct run.
        Path run = r.runDir().orElseThrow();
        assertThat(Files.readString(run.resolve("trial-1/server.out"))).contains("listening on " + port, "got: hello");
        assertThat(run.resolve("events.jsonl")).exists();
        assertThat(run.resolve("report.json")).exists();
        assertThat(run.resolve("sequence.svg")).exists();
        String tap = Files.readString(run.resolve("report.tap"));
        assertThat(tap).startsWith("TAP version 14\n1..12\n")
                .contains("ok 1 - server: " + server.substring(0, 40))
                .contains(" - client: the server echoed our line\n")
                .contains(" - barrier ready (2 arrived)\n")
                .doesNotContain("\nnot ok");
        assertThat(r.junit()).contains("<testsuite name=\"trial-1.server\"", "<testsuite name=\"trial-1.client\"");
    }

    @Test
    void aFailedExpectStopsItsTesterShowsWhatWasReadAndReleasesThePeerAtOnce() throws Exception {
        long t0 = System.nanoTime();
        ScenarioResult r = scenario("no-match")
                .tester("server", serverAt, t -> {
                    t.spawn("talker", "echo warming up; echo still warming; exec sleep " + marker);
                    t.expect("talker", "ready to serve", Duration.ofSeconds(1));
                    t.barrier("ready", Duration.ofSeconds(60));
                    t.run("echo never runs");
                })
                .tester("client", clientAt, t -> {
                    t.barrier("ready", Duration.ofSeconds(60));
                    t.run("echo never runs either");
                })
                .run();
        long tookMs = (System.nanoTime() - t0) / 1_000_000;

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(tookMs).as("the client must not wait out its 60 s at the barrier").isLessThan(30_000);
        Event.StepFinished expect = r.steps("server").get(1);
        assertThat(expect.status()).isEqualTo(Status.TIMEOUT);
        assertThat(expect.message()).contains("ready to serve", "warming up", "still warming");
        assertThat(r.steps("server")).hasSize(2);
        Event.StepFinished barrier = r.steps("client").getFirst();
        assertThat(barrier.mode()).isEqualTo(Step.Mode.BARRIER);
        assertThat(barrier.failed()).isTrue();
        assertThat(barrier.message()).contains("server", "will not come");
        assertThat(r.steps("client")).hasSize(1);
        assertThatThrownBy(r::assertPassed).isInstanceOf(AssertionError.class)
                .hasMessageContaining("scenario no-match: FAILED (exit code 1)")
                .hasMessageContaining("TIMEOUT server expect2")
                .hasMessageContaining("BARRIER ready failed")
                .hasMessageContaining("never came: server");
        // The spawned process is killed when the scenario ends.
        await().atMost(Duration.ofSeconds(10)).until(() -> Processes.withArgument(marker).isEmpty());
        assertThat(r.tap()).contains("not ok 2 - server: expect: talker /ready to serve/ 1");
    }

    @Test
    void aScriptThatThrowsIsAFailedStepAndAnUnreachablePlayerIsLostByName() throws Exception {
        int nobody = Lab.freePort();
        ScenarioResult r = scenario("broken")
                .tester("server", serverAt, t -> {
                    t.run("true");
                    throw new IllegalStateException("the script's own bug");
                })
                .tester("client", clientAt, t -> {
                    t.barrier("meet", Duration.ofSeconds(60));
                })
                .tester("ghost", "127.0.0.1:" + nobody, t -> t.run("true"))
                .barrier("meet", "server", "client")
                .run();

        assertThat(r.exitCode()).isEqualTo(3);
        Event.StepFinished thrown = r.steps("server").getLast();
        assertThat(thrown.key()).isEqualTo("script");
        assertThat(thrown.message()).contains("IllegalStateException: the script's own bug", "ScenarioTest");
        assertThat(r.steps("client").getFirst().message()).contains("will not come", "threw");
        assertThat(r.events()).filteredOn(e -> e instanceof Event.WorkerLost).singleElement()
                .satisfies(e -> assertThat(((Event.WorkerLost) e).reason())
                        .contains("ghost", "127.0.0.1:" + nobody, "connection refused"));
        assertThat(r.summary()).contains("LOST ghost", "FAILED server script");
    }

    @Test
    void continueOnFailureLetsTheScriptDecideFromTheOutcome() throws Exception {
        ScenarioResult r = scenario("decide").onFailure(dev.conductor.plan.OnFailure.CONTINUE)
                .tester("server", serverAt, t -> {
                    Outcome o = t.run("echo oops >&2; exit 3");
                    t.check("it failed with 3 and said so", () -> o.code() == 3 && o.stderr().contains("oops"));
                    if (!t.lastOk()) {
                        t.run("echo not reached");
                    }
                    t.skip("a step for later", "not written yet");
                    t.todo("a known bug", "issue 12", false);
                })
                .run();
        assertThat(r.steps("server")).extracting(Event.StepFinished::status)
                .containsExactly(Status.FAILED, Status.OK, Status.SKIPPED, Status.TODO);
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.tap()).contains("not ok 1 - server: echo oops", "ok 2 - server: it failed with 3 and said so\n",
                "ok 3 - server: a step for later # SKIP not written yet\n", "not ok 4 - server: a known bug # TODO issue 12\n");
    }

    @Test
    void aTokenGuardedPlayerServesAScenarioWithTheTokenAndRefusesOneWithout() throws Exception {
        Path token = dir.resolve("token");
        Files.writeString(token, "0123456789abcdef0123456789abcdef\n");
        Lab lab = new Lab(dir);
        lab.worker("vault", "");
        try (PlayerProcess vault = PlayerProcess.start(lab.workerFile("vault"), "-q", "--token-file", token.toString())) {
            String at = "127.0.0.1:" + lab.cmdport("vault");
            var withToken = new dev.conductor.conduct.StepSession.Settings(Duration.ofSeconds(5),
                    dev.conductor.wire.Frames.DEFAULT_LIMIT, java.util.Optional.of(dev.conductor.wire.Auth.readToken(token)),
                    java.util.Optional.empty());
            scenario("with-token").settings(withToken).tester("t", at, t -> t.run("echo in")).run().assertPassed();

            ScenarioResult without = scenario("without-token").tester("t", at, t -> t.run("echo in")).run();
            assertThat(without.exitCode()).isEqualTo(3);
            assertThat(without.summary()).contains("LOST t", "requires a shared token");
            assertThat(without.steps()).isEmpty();
        }
    }

    @Test
    void aScriptsOwnCatchOfExceptionDoesNotSwallowTheStopAfterAFailedStep() throws Exception {
        ScenarioResult r = scenario("catching")
                .tester("server", serverAt, t -> {
                    try {
                        t.run("exit 4");
                    } catch (Exception e) {
                        // a habit of scripts that call code of their own
                    }
                    t.run("echo must not run");
                })
                .run();
        assertThat(r.steps("server")).singleElement().satisfies(s -> assertThat(s.code()).isEqualTo(4));
        assertThat(r.exitCode()).isEqualTo(1);
    }
}
