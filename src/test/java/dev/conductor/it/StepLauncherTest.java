package dev.conductor.it;

import dev.conductor.conduct.Conductor;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.plan.Phase;
import dev.conductor.plan.TestPlan;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Real players in their own JVMs, their steps started either way ({@code --step-launcher jvm}
 * or {@code perl}): the same results, and nothing left behind even when the player is killed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StepLauncherTest {
    @TempDir
    Path dir;

    private record Run(int exitCode, List<Event> events) {
        List<Event.StepFinished> steps(String worker, Phase phase) {
            return events.stream().filter(e -> e instanceof Event.StepFinished).map(e -> (Event.StepFinished) e)
                    .filter(s -> s.worker().equals(worker) && s.phase() == phase).toList();
        }
    }

    private static Run conduct(Path test) throws Exception {
        TestPlan plan = PlanLoader.load(test);
        EventLog log = new EventLog(List.of());
        int code = new Conductor(plan, Conductor.Options.defaults(plan), log).run();
        return new Run(code, log.events());
    }

    private static void assumePerl(String how) {
        Assumptions.assumeTrue(how.equals("jvm") || Files.isExecutable(Path.of("/usr/bin/perl")),
                "no /usr/bin/perl: steps cannot start through the launcher here");
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "perl"})
    void stepsRunAlikeWhicheverWayTheyStart(String how) throws Exception {
        assumePerl(how);
        Lab lab = new Lab(dir).test("trials: 2");
        String env = "echo \"$CONDUCTOR_TRIAL $CONDUCTOR_PHASE $CONDUCTOR_WORKER\"";
        lab.worker("w", "[Startup]\nstep1: " + env + "\nspawn2: cat; echo served >&2\n"
                + "step3: send: spawn2 ping\\n\nstep4: expect: spawn2 /ping/ 10\nstep5: close: spawn2\nstep6: wait: spawn2 10\n"
                + "[Run]\nstep1: " + env + "; sh -c 'exit 4'\n"
                + "[Collect]\ntimeout1: sleep 30 & sleep 30\nstep2: echo after\n"
                + "[Reset]\nstep1: " + env);
        Path test = lab.write();
        try (var player = PlayerProcess.start(lab.workerFile("w"), "--step-launcher", how)) {
            Run run = conduct(test);
            assertThat(run.exitCode()).as("a step failed, as planned").isEqualTo(1);
            assertThat(run.steps("w", Phase.STARTUP)).extracting(Event.StepFinished::status).containsOnly(
                    dev.conductor.wire.StepResult.Status.OK, dev.conductor.wire.StepResult.Status.SPAWNED);
            assertThat(run.steps("w", Phase.STARTUP).getFirst().stdout()).isIn("1 startup w\n", "2 startup w\n");
            assertThat(run.steps("w", Phase.RUN)).extracting(Event.StepFinished::code).containsExactly(4, 4);
            assertThat(run.steps("w", Phase.RUN)).extracting(Event.StepFinished::stdout).containsExactly("1 run w\n", "2 run w\n");
            assertThat(run.steps("w", Phase.COLLECT)).extracting(Event.StepFinished::status).containsExactly(
                    dev.conductor.wire.StepResult.Status.TIMEOUT, dev.conductor.wire.StepResult.Status.SKIPPED,
                    dev.conductor.wire.StepResult.Status.TIMEOUT, dev.conductor.wire.StepResult.Status.SKIPPED);
            assertThat(run.steps("w", Phase.RESET)).extracting(Event.StepFinished::stdout).containsExactly("1 reset w\n", "2 reset w\n");
        }
    }

    /**
     * A spawned step left running on purpose (the conductor ran only Startup and said goodbye)
     * and then the player killed with SIGKILL, which runs none of its clean-up: the launcher,
     * seeing its JVM gone, kills what was started.
     */
    @ParameterizedTest
    @ValueSource(strings = {"jvm", "perl"})
    void aPlayerKilledOutrightLeavesNoStepBehind(String how) throws Exception {
        assumePerl(how);
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/perl")), "no /usr/bin/perl: no launcher to kill what is left");
        String marker = Processes.marker();
        Lab lab = new Lab(dir);
        lab.worker("w", "[Startup]\nspawn1: sleep " + marker + "\n[Reset]\nstep1: true");
        Path test = lab.write();
        PlayerProcess player = PlayerProcess.start(lab.workerFile("w"), "--step-launcher", how);
        try {
            Jvm.Result startup = Jvm.run("dev.conductor.cli.ConductCommand", 60, "-q", "-p", "startup",
                    "--results", dir.resolve("results").toString(), test.toString());
            assertThat(startup.exitCode()).as(startup.stderr()).isZero();
            assertThat(Processes.withArgument(marker)).as("the spawned step runs on after the goodbye").isNotEmpty();
            player.process().destroyForcibly();
            player.process().waitFor(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> Processes.withArgument(marker).isEmpty());
        } finally {
            player.close();
            Processes.killAll(marker);
        }
    }
}
