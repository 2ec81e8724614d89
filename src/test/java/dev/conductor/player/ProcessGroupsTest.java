package dev.conductor.player;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Real process groups: what the end of a trial kills, and what it must leave alone. */
class ProcessGroupsTest {
    private static final Path LAST_PID = Path.of("/proc/sys/kernel/ns_last_pid");

    @TempDir
    Path dir;

    private Process leader(String command) throws Exception {
        Process p = new ProcessBuilder(ProcessGroups.shellInNewGroup(command)).directory(dir.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        ProcessGroups.leaderStarted(p);
        return p;
    }

    @Test
    void aGroupOfOursIsKilledWholeEvenAfterItsLeaderIsGone() throws Exception {
        // The leader starts a child in its group and exits: the child keeps the group alive.
        Process p = leader("sleep 30 & echo $! > child; exit 0");
        assertThat(p.waitFor()).isZero();
        long child = Long.parseLong(Files.readString(dir.resolve("child")).strip());
        assertThat(ProcessHandle.of(child)).isPresent();
        assertThat(ProcessGroups.reused(p.pid())).isFalse();
        assertThat(ProcessGroups.killLive(Set.of(p.pid()), null)).containsExactly(p.pid());
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(child).isEmpty());
    }

    /**
     * A spawned step's shell leads a group of its own, whose id is its pid, and its output pipes
     * hold {@link ProcessGroups#LARGE_PIPE} bytes where a plain step's hold the kernel's 64 KiB.
     * The step asks its own pipes (perl's fcntl, F_GETPIPE_SZ).
     */
    @Test
    void aSpawnedStepLeadsItsOwnGroupAndItsOutputPipesAreLarger() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/perl")), "needs /usr/bin/perl (the larger pipes are made with it)");
        String ask = "echo $$ $(perl -e 'print getpgrp()')";
        ProcessBuilder spawned = new ProcessBuilder().directory(dir.toFile());
        spawned.command(ProcessGroups.shellInNewGroupWithLargePipes(ask, spawned.environment()));
        assertThat(ProcessGroups.tryLargePipes()).as("the wrapper works here").isTrue();
        assertThat(spawned.command().getFirst()).isEqualTo("/usr/bin/perl");
        assertThat(ProcessGroups.shellInNewGroupWithLargePipes("true", java.util.Map.of("PERL5LIB", "/nowhere")).getFirst())
                .as("a PERL5LIB changes nothing for lines that use no module").isEqualTo("/usr/bin/perl");
        Process p = spawned.start();
        String[] said = new String(p.getInputStream().readAllBytes()).strip().split(" ");
        assertThat(p.waitFor()).isZero();
        assertThat(said[0]).as("the shell's pid").isEqualTo(String.valueOf(p.pid()));
        assertThat(said[1]).as("the group of what the step runs").isEqualTo(String.valueOf(p.pid()));

        String own = "perl -e 'print join \" \", fcntl(STDOUT, " + ProcessGroups.F_GETPIPE_SZ + ", 0), fcntl(STDERR, "
                + ProcessGroups.F_GETPIPE_SZ + ", 0)'";
        ProcessBuilder large = new ProcessBuilder().directory(dir.toFile());
        large.command(ProcessGroups.shellInNewGroupWithLargePipes(own, large.environment()));
        assertThat(pipeSizes(large.start())).containsExactly(ProcessGroups.LARGE_PIPE, ProcessGroups.LARGE_PIPE);
        assertThat(pipeSizes(new ProcessBuilder(ProcessGroups.shellInNewGroup(own)).start()))
                .as("a plain step's pipes (the kernel's default, 64 KiB here)").allMatch(n -> n < ProcessGroups.LARGE_PIPE);
    }

    @Test
    void perlOptionsInTheEnvironmentMakeASpawnedStepStartAsAPlainOne() {
        assertThat(ProcessGroups.shellInNewGroupWithLargePipes("true", java.util.Map.of("PERL5OPT", "-d")))
                .isEqualTo(ProcessGroups.shellInNewGroup("true"));
        assertThat(ProcessGroups.largePipe(false)).isLessThanOrEqualTo(256 << 10);
    }

    private static List<Integer> pipeSizes(Process p) throws Exception {
        // stderr is read on the side: both pipes are the step's own, so neither is redirected.
        var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes());
            } catch (java.io.IOException e) {
                return e.toString();
            }
        });
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertThat(p.waitFor()).as("exit; stderr: %s", err.get()).isZero();
        return java.util.Arrays.stream(out.split(" ")).map(Integer::valueOf).toList();
    }

    /**
     * A group id is a pid: once every process of our group is gone, the kernel may hand the
     * number to a new process, which may lead a group of its own. That group is not ours. The
     * pid is made to come round again by setting the last pid handed out (root only).
     */
    @Test
    void aGroupIdHandedOutAgainToAnotherLeaderIsNotSignalled() throws Exception {
        assumeTrue(Files.isWritable(LAST_PID), "needs root to set " + LAST_PID + " (to make a pid come round again)");
        Process ours = leader("exit 0");
        long pgid = ours.pid();
        assertThat(ours.waitFor()).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(pgid).isEmpty());

        // Another group leader with the same pid, not started by a step (other forks on the
        // machine may take the pid first: a few tries).
        Process other = null;
        for (int attempt = 0; attempt < 20 && other == null; attempt++) {
            Files.writeString(LAST_PID, String.valueOf(pgid - 1));
            // exec: the group's one process is the one destroyed below (a shell's child would outlive it).
            Process p = new ProcessBuilder(ProcessGroups.shellInNewGroup("exec sleep 30"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
            if (p.pid() == pgid) {
                other = p;
            } else {
                p.destroyForcibly().waitFor();
            }
        }
        assumeTrue(other != null, "pid " + pgid + " was taken by other forks on this machine 20 times in a row");
        try {
            assertThat(ProcessGroups.reused(pgid)).isTrue();
            ProcessGroups.signal(List.of(pgid), "KILL", null);
            assertThat(ProcessGroups.killLive(Set.of(pgid), null)).isEmpty();
            Thread.sleep(200);
            assertThat(other.isAlive()).as("the other group's leader, pid " + pgid).isTrue();
        } finally {
            other.destroyForcibly().waitFor();
        }
    }
}
