package dev.conductor.clock;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class RealtimeGateTest {
    private final PreciseClock clock = new PreciseClock();

    /** The scheduling policy of the calling thread's /proc stat (0 normal, 1 FIFO), and of the process a command runs in. */
    private static int policy(String statLine) {
        String[] f = statLine.substring(statLine.lastIndexOf(')') + 2).trim().split(" ");
        return Integer.parseInt(f[41 - 3]);
    }

    private static int ownPolicy() {
        try {
            return policy(Files.readString(Path.of("/proc/thread-self/stat")));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static int policyOfAChildProcess() {
        try {
            Process p = new ProcessBuilder("cat", "/proc/self/stat").start();
            String stat = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            p.waitFor();
            return policy(stat);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Null when {@code chrt --fifo 1 true} works here, else what it said. */
    private static String fifoRefusal() {
        try {
            Process p = new ProcessBuilder("chrt", "--fifo", "1", "true").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 ? null : "'" + out + "' (exit code " + p.exitValue() + ")";
        } catch (IOException e) {
            return e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    @Test
    void whereAllowedTheGateRunsAtRealTimePriorityAndWhatItStartsDoesNot() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/chrt")) || Files.isExecutable(Path.of("/bin/chrt")),
                "needs chrt (util-linux)");
        String refused = fifoRefusal();
        assumeTrue(refused == null, () -> "SCHED_FIFO is not allowed here (root or CAP_SYS_NICE, and a real-time "
                + "budget, are needed): chrt said " + refused);
        try (RealtimeGate gate = new RealtimeGate(clock, true, "test")) {
            assertThat(gate.priority()).isEqualTo("realtime (SCHED_FIFO 1)");
            int[] seen = gate.at(0, at -> new int[]{ownPolicy(), policyOfAChildProcess()}, Duration.ofSeconds(10)).orElseThrow();
            assertThat(seen[0]).as("the gate's thread: SCHED_FIFO").isEqualTo(1);
            assertThat(seen[1]).as("a process it started: SCHED_OTHER (reset on fork)").isZero();
            // The caller's own thread is left alone.
            assertThat(ownPolicy()).isZero();
        }
    }

    @Test
    void aProcessRaisedWithItsChildrenPassesThePriorityOnAndOneRaisedAloneDoesNot() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/chrt")) || Files.isExecutable(Path.of("/bin/chrt")),
                "needs chrt (util-linux)");
        String refused = fifoRefusal();
        assumeTrue(refused == null, () -> "SCHED_FIFO is not allowed here: chrt said " + refused);
        for (boolean children : new boolean[]{true, false}) {
            // A shell that starts a child when told (a line on its stdin) and prints that child's stat.
            Process sh = new ProcessBuilder("/bin/sh", "-c", "read x; cat /proc/self/stat").start();
            try {
                String said = children ? RealtimeGate.raiseProcessAndItsChildren(sh.pid(), "test shell")
                        : RealtimeGate.raiseProcess(sh.pid(), "test shell");
                assertThat(said).isEqualTo("realtime (SCHED_FIFO 1)");
                assertThat(policy(Files.readString(Path.of("/proc", Long.toString(sh.pid()), "stat")))).isEqualTo(1);
                sh.getOutputStream().write('\n');
                sh.getOutputStream().close();
                String childStat = new String(sh.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertThat(policy(childStat)).as("its child, raised with its children: %s", children).isEqualTo(children ? 1 : 0);
            } finally {
                sh.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void notAskedTheGateRunsAtNormalPriority() {
        try (RealtimeGate gate = new RealtimeGate(clock, false, "test")) {
            assertThat(gate.priority()).isEqualTo("normal (not asked for)");
            assertThat(gate.at(0, at -> ownPolicy(), Duration.ofSeconds(10))).contains(0);
        }
    }

    @Test
    void withoutChrtTheGateSaysWhyAndWorksAtNormalPriority() {
        try (RealtimeGate gate = new RealtimeGate(clock, true, "test", java.util.List.of("/nonexistent/chrt"))) {
            assertThat(gate.priority()).isEqualTo("normal (no chrt in /nonexistent/chrt; it comes with util-linux)");
            assertThat(gate.at(clock.micros() + 10_000, at -> ownPolicy(), Duration.ofSeconds(10))).contains(0);
        }
    }

    @Test
    void whereChrtIsRefusedTheGateQuotesItsAnswer() {
        // /bin/false stands for a chrt that refuses (as it does without CAP_SYS_NICE).
        try (RealtimeGate gate = new RealtimeGate(clock, true, "test", java.util.List.of("/bin/false"))) {
            assertThat(gate.priority()).isEqualTo("normal (chrt: exit code 1)");
            assertThat(gate.at(0, at -> ownPolicy(), Duration.ofSeconds(10))).contains(0);
        }
    }

    @Test
    void anActionRunsAtItsInstantNotBefore() {
        try (RealtimeGate gate = new RealtimeGate(clock, true, "test")) {
            for (int i = 0; i < 5; i++) {
                long at = clock.micros() + 30_000;
                Instant ran = gate.at(at, t -> t, Duration.ofSeconds(10)).orElseThrow();
                long ranMicros = PreciseClock.toMicros(ran);
                assertThat(ranMicros).isGreaterThanOrEqualTo(at);
                assertThat(clock.micros()).isGreaterThanOrEqualTo(ranMicros);
            }
        }
    }

    @Test
    void aSubmittedActionRunsAtItsInstantWhetherOrNotItsCallerIsWaiting() throws Exception {
        try (RealtimeGate gate = new RealtimeGate(clock, true, "test")) {
            long at = clock.micros() + 50_000;
            AtomicReference<Long> ranAt = new AtomicReference<>();
            RealtimeGate.Pending<Long> pending = gate.submit(at, t -> {
                ranAt.set(clock.micros());
                return PreciseClock.toMicros(t);
            });
            // The caller is busy well past the instant; the action did not wait for it.
            Thread.sleep(150);
            assertThat(ranAt.get()).as("ran before anyone waited").isNotNull().isBetween(at, at + 100_000);
            assertThat(pending.await(Duration.ofSeconds(1))).hasValueSatisfying(t -> assertThat(t).isGreaterThanOrEqualTo(at));
        }
    }

    @Test
    void closeWaitsForTheActionRunningNow() {
        RealtimeGate gate = new RealtimeGate(clock, false, "test");
        AtomicBoolean finished = new AtomicBoolean();
        gate.submit(0, t -> {
            sleep(300);
            finished.set(true);
            return true;
        });
        sleep(100);
        gate.close();
        assertThat(finished).as("what the action started is there once close returns").isTrue();
    }

    @Test
    void anActionThatThrowsThrowsAtTheCaller() {
        try (RealtimeGate gate = new RealtimeGate(clock, false, "test")) {
            assertThatThrownBy(() -> gate.at(0, at -> {
                throw new IllegalArgumentException("no such step");
            }, Duration.ofSeconds(10))).isInstanceOf(IllegalArgumentException.class).hasMessage("no such step");
            // And the gate goes on.
            assertThat(gate.at(0, at -> "next", Duration.ofSeconds(10))).contains("next");
        }
    }

    @Test
    void anActionTheGateCannotGetToInTimeIsGivenBackAndNeverRun() throws Exception {
        try (RealtimeGate gate = new RealtimeGate(clock, false, "test")) {
            AtomicReference<Optional<String>> first = new AtomicReference<>();
            Thread busy = Thread.ofPlatform().start(() -> first.set(gate.at(0, at -> {
                sleep(1500);
                return "slow";
            }, Duration.ofSeconds(10))));
            sleep(200);
            AtomicBoolean ran = new AtomicBoolean();
            long t0 = System.nanoTime();
            Optional<Boolean> second = gate.at(0, at -> {
                ran.set(true);
                return true;
            }, Duration.ofMillis(200));
            assertThat(second).as("given back: the gate was busy").isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
            busy.join(Duration.ofSeconds(10));
            assertThat(first.get()).contains("slow");
            assertThat(gate.at(0, at -> "after", Duration.ofSeconds(10))).contains("after");
            assertThat(ran).as("the given-back action never runs").isFalse();
        }
    }

    @Test
    void aClosedGateRunsNothingAndWaitingCallersAreLetGo() {
        RealtimeGate gate = new RealtimeGate(clock, false, "test");
        AtomicBoolean ran = new AtomicBoolean();
        Thread closer = Thread.ofVirtual().start(() -> {
            sleep(200);
            gate.close();
        });
        long t0 = System.nanoTime();
        Optional<Boolean> r = gate.at(clock.micros() + 5_000_000, at -> {
            ran.set(true);
            return true;
        }, Duration.ofSeconds(10));
        assertThat(r).isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        assertThat(ran).isFalse();
        assertThat(gate.at(0, at -> true, Duration.ofSeconds(1))).isEmpty();
        closer.interrupt();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
