package dev.conductor.player;

import dev.conductor.clock.PreciseClock;
import dev.conductor.it.Processes;
import dev.conductor.wire.PhaseOrder.StepSpec;
import dev.conductor.wire.StepResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A runner closed while its steps fork (a second Ctrl-C on a conductor with players inside):
 * what it forked is all known when close returns, so killing those groups leaves nothing.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StepRunnerCloseTest {
    private static final int ROUNDS = 8;
    private static final int MAX_SPAWNS = 60;

    @TempDir
    Path dir;

    @Test
    void aCloseDuringForksLeavesEveryForkedProcessRegisteredAndForksNoMore() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            String marker = Processes.marker();
            Set<Long> groups = ConcurrentHashMap.newKeySet();
            StepRunner runner = new StepRunner(dir, groups::add, new PreciseClock());
            AtomicReference<StepResult> last = new AtomicReference<>();
            int[] spawned = {0};
            Thread forker = Thread.ofPlatform().name("forker-" + round).start(() -> {
                StepSpec step = new StepSpec("sleep " + marker, true, 30);
                for (int i = 0; i < MAX_SPAWNS; i++) {
                    StepResult r = runner.run(i, step, Map.of(), StepRunner.Listener.NONE, runner.now());
                    last.set(r);
                    if (r.code() != 0) {
                        return;
                    }
                    spawned[0]++;
                }
            });
            try {
                // Somewhere in a fork, most likely: forks follow one another with no gap.
                Thread.sleep(20 + ThreadLocalRandom.current().nextInt(40));
                runner.close();
                Set<Long> known = new HashSet<>(groups);
                ProcessGroups.killLive(known, null);
                assertThat(forker.join(Duration.ofSeconds(30))).as("the forker ends").isTrue();
                assertThat(spawned[0]).as("round %d: the close came while steps were forking", round)
                        .isLessThan(MAX_SPAWNS);
                assertThat(last.get().message()).as("round %d: a fork after the close is refused", round)
                        .contains("the player is shutting down");
                assertThat(groups).as("round %d: nothing forked after the close", round).isEqualTo(known);
                await().atMost(Duration.ofSeconds(5))
                        .alias("round " + round + ": no process of " + known.size() + " forked is left after killing the known groups")
                        .until(() -> Processes.withArgument(marker).isEmpty());
            } finally {
                forker.join(Duration.ofSeconds(30));
                Processes.killAll(marker);
            }
        }
    }
}
