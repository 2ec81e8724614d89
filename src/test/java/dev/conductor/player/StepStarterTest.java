package dev.conductor.player;

import dev.conductor.wire.PhaseOrder.StepSpec;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@code stepstart}, the program built with the jar, run for real: its start, its instant, its refusals. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StepStarterTest {
    @TempDir
    Path dir;
    private StepStarter starter;

    @BeforeEach
    void find() {
        starter = StepStarter.find(false).orElse(null);
        Assumptions.assumeTrue(starter != null,
                "no working stepstart in this build (no C compiler when it was built, see src/main/c/build.sh): steps start through the JVM here");
    }

    private ProcessBuilder in(Path folder) {
        return new ProcessBuilder().directory(folder.toFile());
    }

    private static CompletableFuture<String> readAll(InputStream in) {
        return LauncherTest.readAll(in);
    }

    private static int exit(Process p) throws InterruptedException {
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("the process ended").isTrue();
        return p.exitValue();
    }

    @Test
    void runsTheStepAsTheLeaderOfItsOwnGroupAndTakesItsLineOffTheOutput() throws Exception {
        var spare = starter.prepare(in(dir), "echo out; echo err >&2; echo $$ $(cut -d' ' -f5 /proc/$$/stat); pwd; exit 3",
                false, 0);
        long before = System.nanoTime();
        spare.arm(0);
        long woke = spare.started();
        var out = readAll(spare.process().getInputStream());
        var err = readAll(spare.process().getErrorStream());
        assertThat(exit(spare.process())).isEqualTo(3);
        assertThat(woke).isBetween(before, System.nanoTime());
        String[] lines = out.get(10, TimeUnit.SECONDS).split("\n");
        assertThat(lines[0]).isEqualTo("out");
        String pid = Long.toString(spare.process().pid());
        assertThat(lines[1]).as("its pid, then its group").isEqualTo(pid + " " + pid);
        assertThat(Path.of(lines[2])).isEqualTo(dir.toRealPath());
        assertThat(err.get(10, TimeUnit.SECONDS)).isEqualTo("err\n");
    }

    @Test
    void waitsForItsInstantAndSaysWhenItWoke() throws Exception {
        Path marker = dir.resolve("started");
        var spare = starter.prepare(in(dir), "touch " + marker, false, 0);
        long at = System.nanoTime() + Duration.ofMillis(300).toNanos();
        spare.arm(at);
        Thread.sleep(100);
        assertThat(marker).as("not before its instant").doesNotExist();
        long woke = spare.started();
        assertThat(woke).isGreaterThanOrEqualTo(at).isLessThan(at + Duration.ofMillis(200).toNanos());
        assertThat(exit(spare.process())).isZero();
        assertThat(marker).exists();
    }

    @Test
    void manyAtOneInstantAllWakeAtItOrAfter() throws Exception {
        List<StepStarter.Spare> spares = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            spares.add(starter.prepare(in(dir), "exit 0", false, 0));
        }
        long at = System.nanoTime() + Duration.ofMillis(200).toNanos();
        for (var s : spares) {
            s.arm(at);
        }
        for (var s : spares) {
            assertThat(s.started()).isGreaterThanOrEqualTo(at);
            assertThat(exit(s.process())).isZero();
        }
    }

    @Test
    void aDiscardedOneRunsNothingAndEnds() throws Exception {
        Path marker = dir.resolve("ran");
        var spare = starter.prepare(in(dir), "touch " + marker, false, 0);
        spare.discard();
        assertThat(exit(spare.process())).isZero();
        assertThat(marker).doesNotExist();
    }

    @Test
    void aStepThatReadsNothingReadsDevNullAndASpawnedOneItsPipe() throws Exception {
        var quiet = starter.prepare(in(dir), "cat; echo end", false, 0);
        quiet.arm(0);
        quiet.started();
        assertThat(readAll(quiet.process().getInputStream()).get(10, TimeUnit.SECONDS)).isEqualTo("end\n");

        var spawned = starter.prepare(in(dir), "cat", true, 0);
        spawned.arm(0);
        spawned.started();
        var out = readAll(spawned.process().getInputStream());
        spawned.process().getOutputStream().write("to the step\n".getBytes(StandardCharsets.UTF_8));
        spawned.process().getOutputStream().close();
        assertThat(out.get(10, TimeUnit.SECONDS)).isEqualTo("to the step\n");
        assertThat(exit(spawned.process())).isZero();
    }

    @Test
    void givesASpawnedStepTheLargerPipes() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/perl")), "no /usr/bin/perl to read a pipe's size with");
        var spare = starter.prepare(in(dir), "perl -e 'print fcntl(STDOUT, " + ProcessGroups.F_GETPIPE_SZ + ", 0)'", true,
                1 << 20);
        spare.arm(0);
        spare.started();
        spare.process().getOutputStream().close();
        assertThat(readAll(spare.process().getInputStream()).get(10, TimeUnit.SECONDS)).isEqualTo(Integer.toString(1 << 20));
    }

    @Test
    void refusesAnInstantThatIsNoNumberAndSaysWhy() throws Exception {
        var spare = starter.prepare(in(dir), "echo ran", false, 0);
        spare.process().getOutputStream().write("soon\n".getBytes(StandardCharsets.US_ASCII));
        spare.process().getOutputStream().close();
        assertThatThrownBy(spare::started).isInstanceOf(IOException.class)
                .hasMessageContaining("ended before it started")
                .hasMessageContaining("exit code 125")
                .hasMessageContaining("no instant on stdin");
    }

    @Test
    void runsNothingWhenItsParentIsGoneAtTheInstant() throws Exception {
        Path marker = dir.resolve("orphan-ran");
        // Started by a shell that exits at once: when it wakes, its parent is no longer the one that started it.
        long at = System.nanoTime() + Duration.ofMillis(300).toNanos();
        Process shell = new ProcessBuilder("/bin/sh", "-c",
                "echo " + at + " | '" + starter.program() + "' -P $$ -- /bin/sh -c 'touch " + marker + "' >/dev/null &")
                .start();
        assertThat(exit(shell)).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(h -> h.info().commandLine().orElse("").contains(marker.toString())));
        assertThat(marker).doesNotExist();
    }

    @Test
    void aRunnerThatClosesEndsTheOnesItMadeReadyAndNeverStarted() throws Exception {
        Path marker = dir.resolve("never");
        StepRunner runner = new StepRunner(dir, g -> {
        }, new dev.conductor.clock.PreciseClock(), null, starter);
        var fork = runner.forkOf(new StepSpec("touch " + marker, false, 30), java.util.Map.of());
        assertThat(fork).isInstanceOf(StepRunner.SpareFork.class);
        runner.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(h -> h.info().commandLine().orElse("").contains(marker.toString())));
        assertThat(marker).doesNotExist();
    }

    @Test
    void aStepThroughTheRunnerGivesItsOutputAndItsOwnStartTime() throws Exception {
        var clock = new dev.conductor.clock.PreciseClock();
        StepRunner runner = new StepRunner(dir, g -> {
        }, clock, null, starter);
        StepRunner throughTheJvm = new StepRunner(dir, g -> {
        }, clock, null, null);
        try {
            StepSpec step = new StepSpec("echo hello; echo there >&2; exit 4", false, 30);
            long before = clock.micros();
            var result = runner.run(0, step, java.util.Map.of());
            var expected = throughTheJvm.run(0, step, java.util.Map.of());
            assertThat(result.code()).isEqualTo(4);
            assertThat(result.message()).isEqualTo(expected.message()).contains("hello").doesNotContain("stepstart");
            var details = result.details().orElseThrow();
            assertThat(details.stdout()).isEqualTo("hello\n");
            assertThat(dev.conductor.clock.PreciseClock.toMicros(details.startedAt())).isBetween(before, clock.micros());
        } finally {
            runner.close();
            throughTheJvm.close();
        }
    }
}
