package dev.conductor.player;

import org.junit.jupiter.api.AfterEach;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The step launcher with a real perl: spares, their starts, their exits, group signals. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LauncherTest {
    @TempDir
    Path dir;
    private Launcher launcher;

    @BeforeEach
    void start() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/perl")), "no /usr/bin/perl: the launcher is not used here");
        launcher = Launcher.start(dir, 0, Launcher.SPARES, false).orElseThrow();
        Assumptions.assumeTrue(launcher.startsSteps(), "this perl has no Time::HiRes: the launcher keeps no spares here");
    }

    @AfterEach
    void stop() {
        if (launcher != null) {
            launcher.close();
        }
    }

    private static Map<String, String> environment(String... more) {
        Map<String, String> env = new HashMap<>(System.getenv());
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    /** All of {@code in}, read on another thread (also for StepStarterTest). */
    static CompletableFuture<String> readAll(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "read failed: " + e;
            }
        });
    }

    /** Prepares a spare for {@code command} and starts it at once; its output read to the end. */
    private record Ran(LaunchedProcess process, long startedNanos, CompletableFuture<String> out, CompletableFuture<String> err) {
        int exit() throws InterruptedException {
            assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("the step ended").isTrue();
            return process.exitValue();
        }
    }

    private Ran run(Path folder, boolean stdinPipe, String command, Map<String, String> env) throws IOException {
        Launcher.Spare spare = launcher.take();
        LaunchedProcess p = spare.prepare(folder, stdinPipe, command, env);
        var out = readAll(p.getInputStream());
        var err = readAll(p.getErrorStream());
        spare.arm(0);
        long started = spare.started();
        p.settle();
        return new Ran(p, started, out, err);
    }

    @Test
    void aSpareRunsItsCommandInItsFolderWithItsEnvironmentAsTheLeaderOfItsGroup() throws Exception {
        Path folder = Files.createDirectory(dir.resolve("work"));
        Map<String, String> env = environment("CONDUCTOR_PHASE", "run", "ONLY_HERE", "it's \"quoted\"\nand two lines");
        String someInherited = env.keySet().stream().filter(k -> k.matches("[A-Z_]+") && !k.equals("PATH")).findFirst().orElse(null);
        if (someInherited != null) {
            env.remove(someInherited);
        }
        String command = "echo \"$PWD|$CONDUCTOR_PHASE|$ONLY_HERE\"; "
                + "echo \"removed=${" + (someInherited == null ? "NONE_AT_ALL" : someInherited) + "-unset}\"; "
                + "echo \"pgid=$(ps -o pgid= -p $$ | tr -d ' ') pid=$$\"; "
                + "read x || echo 'stdin at its end'; echo to-stderr >&2; exit 3";
        Ran r = run(folder, false, command, env);
        assertThat(r.exit()).isEqualTo(3);
        String[] lines = r.out().get(10, TimeUnit.SECONDS).split("\n");
        assertThat(lines[0]).isEqualTo(folder.toRealPath() + "|run|it's \"quoted\"");
        assertThat(lines[1]).isEqualTo("and two lines");
        assertThat(lines[2]).isEqualTo("removed=unset");
        assertThat(lines[3]).isEqualTo("pgid=" + r.process().pid() + " pid=" + r.process().pid());
        assertThat(lines[4]).isEqualTo("stdin at its end");
        assertThat(r.err().get(10, TimeUnit.SECONDS)).isEqualTo("to-stderr\n");
    }

    @Test
    void aSpawnedStepsStdinIsAPipeThatEndsWhenClosed() throws Exception {
        Ran r = run(dir, true, "cat; echo done", environment());
        r.process().getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
        r.process().getOutputStream().close();
        assertThat(r.exit()).isZero();
        assertThat(r.out().get(10, TimeUnit.SECONDS)).isEqualTo("hello\ndone\n");
    }

    @Test
    void aCommandsTextComesThroughAsTheShellWouldReadIt() throws Exception {
        String command = "a='it'\\''s'; printf '%s|%s|%s\\n' \"$a\" '$HOME `x`' \"$(echo 'nested \"q\"')\"\nprintf 'second line\\n'";
        Ran r = run(dir, false, command, environment());
        assertThat(r.exit()).isZero();
        assertThat(r.out().get(10, TimeUnit.SECONDS)).isEqualTo("it's|$HOME `x`|nested \"q\"\nsecond line\n");
    }

    @Test
    void exitCodesAreThoseJavaReports() throws Exception {
        assertThat(run(dir, false, "kill -TERM $$", environment()).exit()).isEqualTo(128 + 15);
        assertThat(run(dir, false, "exit 255", environment()).exit()).isEqualTo(255);
        assertThat(Launcher.exitCode(7 << 8)).isEqualTo(7);
        assertThat(Launcher.exitCode(9)).isEqualTo(137);
    }

    @Test
    void aTimedSpareWakesAtItsInstantItselfAndSaysWhen() throws Exception {
        Launcher.Spare spare = launcher.take();
        Path mark = dir.resolve("ran");
        LaunchedProcess p = spare.prepare(dir, false, "touch " + mark, environment());
        long instant = System.nanoTime() + 300_000_000L;
        spare.arm(instant);
        Thread.sleep(100);
        assertThat(mark).as("nothing runs before its instant").doesNotExist();
        long woke = spare.started();
        assertThat(woke).isGreaterThanOrEqualTo(instant).isLessThan(instant + 100_000_000L);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mark).exists();
    }

    @Test
    void aDiscardedSpareRunsNothing() throws Exception {
        Launcher.Spare spare = launcher.take();
        Path mark = dir.resolve("never");
        LaunchedProcess p = spare.prepare(dir, false, "touch " + mark, environment());
        spare.discard();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(125);
        assertThat(mark).doesNotExist();
    }

    @Test
    void aVariableNoShellCanSetIsRefusedSoThatTheStepStartsAnotherWay() throws Exception {
        Launcher.Spare spare = launcher.take();
        assertThatThrownBy(() -> spare.prepare(dir, false, "true", environment("NOT.A.NAME", "x")))
                .isInstanceOf(IOException.class).hasMessageContaining("NOT.A.NAME");
        spare.discard();
    }

    @Test
    void groupsAreToldLiveAndSignalledWithEveryMember() throws Exception {
        Ran r = run(dir, false, "sleep 60 & sleep 60 & wait", environment());
        long group = r.process().pid();
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> ProcessHandle.of(group).map(h -> h.children().count()).orElse(0L) == 2);
        List<ProcessHandle> members = ProcessHandle.of(group).orElseThrow().children().toList();
        assertThat(launcher.live(List.of(group, 999_999_999L))).containsExactly(group);
        assertThat(launcher.signal(List.of(group), "KILL")).containsExactly(group);
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> members.stream().noneMatch(ProcessHandle::isAlive));
        assertThat(r.exit()).isEqualTo(128 + 9);
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> launcher.live(List.of(group)).isEmpty());
    }

    @Test
    void whenTheLauncherDiesStepsStartAnotherWayAndItsStepsAreSeenToEnd() throws Exception {
        Ran r = run(dir, false, "sleep 0.5", environment());
        ProcessHandle.of(launcher.pid()).orElseThrow().destroyForcibly();
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !launcher.usable());
        assertThat(r.exit()).as("its exit code cannot be known any more").isEqualTo(Launcher.UNKNOWN_EXIT);
        assertThatThrownBy(launcher::take).isInstanceOf(IOException.class).hasMessageContaining("gone");
    }
}
