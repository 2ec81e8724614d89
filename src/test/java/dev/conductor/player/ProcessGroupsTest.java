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
        assertThat(ProcessGroups.killLive(Set.of(p.pid()))).containsExactly(p.pid());
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(child).isEmpty());
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
            Process p = new ProcessBuilder(ProcessGroups.shellInNewGroup("sleep 30"))
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
            ProcessGroups.signal(List.of(pgid), "KILL");
            assertThat(ProcessGroups.killLive(Set.of(pgid))).isEmpty();
            Thread.sleep(200);
            assertThat(other.isAlive()).as("the other group's leader, pid " + pgid).isTrue();
        } finally {
            other.destroyForcibly().waitFor();
        }
    }
}
