package dev.conductor.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Ctrl-C on a real {@code conduct} process with its players inside (--local). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class InterruptTest {
    @TempDir
    Path dir;

    private record Conduct(Process process, ByteArrayOutputStream out) {
        String stdout() {
            synchronized (out) {
                return out.toString(StandardCharsets.UTF_8);
            }
        }
    }

    private Conduct start(Path test) throws Exception {
        // Through perl, which puts SIGINT and SIGQUIT back to their default: a process started
        // in the background by a shell without job control (`(./mvnw verify &)`) has them
        // ignored, its children inherit that, and a JVM started so leaves SIGINT ignored, as a
        // command run with nohup should (Ctrl-C then does nothing, and this test would fail for
        // a reason that is not the conductor's).
        List<String> argv = new ArrayList<>(List.of("perl", "-e",
                "$SIG{INT} = $SIG{QUIT} = 'DEFAULT'; exec { $ARGV[0] } @ARGV or die \"exec $ARGV[0]: $!\\n\";"));
        argv.addAll(Jvm.command("dev.conductor.cli.ConductCommand"));
        argv.addAll(List.of("--local", "--results", dir.resolve("results").toString(), test.toString()));
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread.ofPlatform().daemon().start(() -> {
            byte[] buf = new byte[4096];
            try (var in = p.getInputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (out) {
                        out.write(buf, 0, n);
                    }
                }
            } catch (Exception ignored) {
                // Process gone.
            }
        });
        return new Conduct(p, out);
    }

    private static void interrupt(Process p) throws Exception {
        new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start().waitFor(5, TimeUnit.SECONDS);
    }

    @Test
    void firstCtrlCAbortsTheRunningStepRunsResetWritesTheReportAndExits130() throws Exception {
        String marker = Processes.marker();
        String running = Processes.marker(); // only the Run step has this one
        Lab lab = new Lab(dir).test("trials: 3");
        lab.worker("dut", "[Startup]\nspawn1: sleep " + marker + "\n[Run]\nstep1: sleep " + running
                + "\nstep2: echo never\n[Collect]\nstep1: echo never\n[Reset]\nstep1: echo reset-ran");
        Path test = lab.write();
        Conduct c = start(test);
        try {
            await().atMost(Duration.ofSeconds(40)).until(() -> !Processes.withArgument(running).isEmpty());
            interrupt(c.process());
            assertThat(c.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(c.process().exitValue()).isEqualTo(130);
            String out = c.stdout();
            assertThat(out).contains("KILLED").contains("SKIP").contains("| reset-ran").contains("INTERRUPTED")
                    .doesNotContain("== trial 1/3 · collect").doesNotContain("trial 2/3");
            await().atMost(Duration.ofSeconds(5)).until(() -> Processes.withArgument(marker).isEmpty()
                    && Processes.withArgument(running).isEmpty());
            try (var runs = Files.list(dir.resolve("results"))) {
                Path run = runs.findFirst().orElseThrow();
                assertThat(Files.readString(run.resolve("report.json"))).contains("\"interrupted\" : true");
                assertThat(Files.readString(run.resolve("events.jsonl"))).contains("\"type\":\"run_finished\"");
            }
        } finally {
            c.process().destroyForcibly();
            Processes.killAll(marker);
            Processes.killAll(running);
        }
    }

    @Test
    void secondCtrlCQuitsAtOnceAndLeavesNothingRunning() throws Exception {
        String marker = Processes.marker();
        String running = Processes.marker();
        Lab lab = new Lab(dir);
        lab.worker("dut", "[Startup]\nspawn1: sleep " + marker + "\n[Run]\nstep1: sleep " + running
                + "\n[Reset]\nstep1: sleep " + marker);
        Path test = lab.write();
        Conduct c = start(test);
        try {
            await().atMost(Duration.ofSeconds(40)).until(() -> !Processes.withArgument(running).isEmpty());
            interrupt(c.process());
            // Reset is now running its own long step; a second Ctrl-C must not wait for it.
            await().atMost(Duration.ofSeconds(20)).until(() -> c.stdout().contains("KILLED"));
            Thread.sleep(500);
            long t0 = System.nanoTime();
            interrupt(c.process());
            assertThat(c.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
            assertThat(c.process().exitValue()).isEqualTo(130);
            await().atMost(Duration.ofSeconds(5)).until(() -> Processes.withArgument(marker).isEmpty()
                    && Processes.withArgument(running).isEmpty());
        } finally {
            c.process().destroyForcibly();
            Processes.killAll(marker);
            Processes.killAll(running);
        }
    }
}
