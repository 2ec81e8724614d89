package dev.conductor.interop;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.interop.ResultListener.Received;
import dev.conductor.interop.Transcript.Exchange;
import dev.conductor.interop.Transcript.Frame;
import dev.conductor.player.Player;
import dev.conductor.wire.Frames;
import dev.conductor.wire.Json;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Our player, driven by the reference conductor's recorded frames ({@code single-player.wire.jsonl}),
 * connection by connection, against a result port of the test's own.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PlayerReplayTest {
    private static final Duration IO_DEADLINE = Duration.ofSeconds(5);
    private static final Duration PHASE_DEADLINE = Duration.ofSeconds(45);
    private static final String TIMED_OUT = "Command timed out after ";
    private static final String SKIPPED = "skipped:";

    @TempDir
    Path work;

    /** One recorded phase and what our player sent to the result port for it. */
    private record Replayed(Exchange recorded, List<Received> results) {
        List<Frame> expected() {
            return recorded.results();
        }
    }

    @Test
    void withOnFailureContinueEveryStepRunsAndIsReportedAsTheReferenceReportedIt() throws Exception {
        List<Replayed> phases = replay(true);

        for (Replayed p : phases) {
            assertThat(codes(p.results())).as("codes of the phase sent on connection %d", p.recorded().phase().connection())
                    .containsExactlyElementsOf(p.expected().stream().map(f -> f.data().get("code").asInt()).toList());
            for (int i = 0; i < p.results().size(); i++) {
                assertCompatible(p.results().get(i), p.expected().get(i));
            }
        }
        Replayed run = phases.get(1);
        assertThat(codes(run.results())).containsExactly(0, 3, 0, 0, 0, 1, 1, 65535);
        assertThat(run.results().stream().limit(7).map(r -> r.result().details().orElseThrow().status()))
                .containsExactly(Status.OK, Status.FAILED, Status.OK, Status.SPAWNED, Status.SPAWNED, Status.TIMEOUT,
                        Status.TIMEOUT);
        assertThat(run.results().get(2).message()).as("UTF-8 output of printf").isEqualTo("caf\u00e9 line1\nline2\n");
        assertThat(run.results().get(2).result().details().orElseThrow().stdout()).isEqualTo("caf\u00e9 line1\nline2\n");
        StepResult.Details timedOut = run.results().get(5).result().details().orElseThrow();
        assertThat(timedOut.duration()).as("sleep 5 with a 2 s limit").isBetween(Duration.ofMillis(1_900), Duration.ofMillis(4_500));
    }

    @Test
    void byDefaultAPhaseStopsAtItsFirstFailedStepAndReportsTheRestAsSkipped() throws Exception {
        List<Replayed> phases = replay(false);

        for (Replayed p : phases) {
            boolean failedEarlier = false;
            assertThat(p.results()).hasSameSizeAs(p.expected());
            for (int i = 0; i < p.results().size(); i++) {
                Received ours = p.results().get(i);
                Frame reference = p.expected().get(i);
                int code = reference.data().get("code").asInt();
                if (failedEarlier && code != 65535) {
                    assertThat(ours.code()).as("code of skipped step %d", i + 1).isEqualTo(1);
                    assertThat(ours.message()).startsWith(SKIPPED);
                    StepResult.Details d = ours.result().details().orElseThrow();
                    assertThat(d.status()).isEqualTo(Status.SKIPPED);
                    assertThat(d.command()).isEqualTo(p.recorded().phase().data().get("steps").get(i).get("command").asText());
                } else {
                    assertCompatible(ours, reference);
                }
                failedEarlier |= code != 0 && code != 65535;
            }
        }
        Replayed run = phases.get(1);
        assertThat(codes(run.results())).containsExactly(0, 3, 1, 1, 1, 1, 1, 65535);
        assertThat(run.results().get(2).message()).isEqualTo(SKIPPED + " step 2 (sh -c 'echo out; echo err >&2; exit 3') "
                + "failed earlier in this phase");
    }

    @Test
    void aFailedStepsOutputIsKeptWhereTheReferenceLostIt() throws Exception {
        Received failed = replay(false).get(1).results().get(1);

        assertThat(failed.code()).isEqualTo(3);
        assertThat(failed.message()).startsWith("sh -c 'echo out; echo err >&2; exit 3'");
        StepResult.Details d = failed.result().details().orElseThrow();
        assertThat(d.stdout()).isEqualTo("out\n");
        assertThat(d.stderr()).isEqualTo("err\n");
        assertThat(d.index()).isEqualTo(1);
    }

    @Test
    void phasesDownloadedTogetherRunInOrderOnOneRunAndEndWithOnePhasesComplete() throws Exception {
        List<Exchange> exchanges = Transcript.load(Transcript.SINGLE_PLAYER).exchanges("player", 6970);
        Exchange startup = exchanges.get(0);
        Exchange collect = exchanges.get(2);
        Player.Options options = new Player.Options(new InetSocketAddress("127.0.0.1", 0), "dut",
                Frames.DEFAULT_LIMIT, Duration.ofSeconds(10), work);
        try (ResultListener results = new ResultListener(); Player player = Player.start(options)) {
            for (Exchange e : List.of(startup, collect)) {
                try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
                    assertThat(Frames.encode(c.send(phaseFor(e.phase(), results.port(), false)).replyBody()))
                            .isEqualTo(e.reply().bytes());
                }
            }
            try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
                c.send(startup.run().bytes()).untilClosed();
            }

            List<Received> got = results.untilPhaseDone(PHASE_DEADLINE);

            List<Frame> expected = new ArrayList<>(startup.results().subList(0, startup.results().size() - 1));
            expected.addAll(collect.results());
            assertThat(codes(got)).containsExactly(0, 0, 0, 65535);
            for (int i = 0; i < got.size(); i++) {
                assertCompatible(got.get(i), expected.get(i));
            }
            assertThat(results.nextWithin(Duration.ofMillis(300))).as("a second 'phases complete'").isNull();
        }
    }

    /** Replays every phase of the transcript and collects what the player reported for each. */
    private List<Replayed> replay(boolean continueOnFailure) throws Exception {
        List<Exchange> exchanges = Transcript.load(Transcript.SINGLE_PLAYER).exchanges("player", 6970);
        assertThat(exchanges).hasSize(4);
        List<Replayed> replayed = new ArrayList<>();
        Player.Options options = new Player.Options(new InetSocketAddress("127.0.0.1", 0), "dut",
                Frames.DEFAULT_LIMIT, Duration.ofSeconds(10), work);
        try (ResultListener results = new ResultListener(); Player player = Player.start(options)) {
            for (Exchange e : exchanges) {
                byte[] reply;
                try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
                    reply = c.send(phaseFor(e.phase(), results.port(), continueOnFailure)).replyBody();
                }
                assertThat(Frames.encode(reply)).as("reply to %s", e.phase()).isEqualTo(e.reply().bytes());
                try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
                    assertThat(c.send(e.run().bytes()).untilClosed()).as("reply to run").isEmpty();
                }
                List<Received> got = results.untilPhaseDone(PHASE_DEADLINE);
                for (Received r : got) {
                    assertThat(new String(r.body(), StandardCharsets.UTF_8))
                            .as("result frame %s in pure ASCII, as Python's json.dumps writes", r)
                            .isEqualTo(new String(r.body(), StandardCharsets.US_ASCII));
                }
                replayed.add(new Replayed(e, got));
            }
            assertThat(results.nextWithin(Duration.ofMillis(300))).as("anything after the last phase").isNull();
        }
        return replayed;
    }

    /** The reference's phase frame, sending results to our listener instead of port 6971. */
    private static byte[] phaseFor(Frame recorded, int resultPort, boolean continueOnFailure) {
        ObjectNode message = recorded.value();
        ObjectNode data = (ObjectNode) message.get("data");
        assertThat(data.get("resulthost").asText()).isEqualTo("127.0.0.1");
        data.put("resultport", resultPort);
        if (continueOnFailure) {
            data.put("on_failure", "continue");
        }
        return Frames.encode(Json.bytes(message));
    }

    /**
     * Our result against the reference's: same code; the same message where the reference's is
     * the step's output or a fixed text; otherwise ours starts with the reference's and says more.
     */
    private static void assertCompatible(Received ours, Frame reference) {
        int code = reference.data().get("code").asInt();
        String message = reference.data().get("message").asText();
        assertThat(ours.code()).as("code of %s", ours).isEqualTo(code);
        if (code == 65535) {
            assertThat(Frames.encode(ours.body())).as("phases complete").isEqualTo(reference.bytes());
        } else if (code == 0) {
            assertThat(ours.message()).as("message of %s", ours).isEqualTo(message);
        } else {
            // A timeout's first line, or a failure's command text, then what we add.
            assertThat(ours.message()).as("message of %s", ours).startsWith(message);
            if (message.startsWith(TIMED_OUT)) {
                assertThat(ours.result().details().orElseThrow().status()).isEqualTo(Status.TIMEOUT);
            }
        }
    }

    private static List<Integer> codes(List<Received> results) {
        return results.stream().map(Received::code).toList();
    }
}
