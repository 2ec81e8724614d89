package dev.conductor.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.conduct.Conductor;
import dev.conductor.config.PlanLoader;
import dev.conductor.events.Event;
import dev.conductor.events.EventLog;
import dev.conductor.interop.Transcript.Exchange;
import dev.conductor.it.Lab;
import dev.conductor.plan.Phase;
import dev.conductor.plan.TestPlan;
import dev.conductor.report.JsonReport;
import dev.conductor.wire.StepResult.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * Our conductor against the reference PLAYER's recorded side of {@code
 * two-players-two-trials.wire.jsonl}: two fake players answer with the recorded bytes, and what
 * our conductor sends and reports is checked against what the reference conductor sent and
 * reported.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ConductorReplayTest {
    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final List<String> EXTENSION_KEYS = List.of("trial", "phase", "worker", "on_failure");
    /** The reference report's made-up names for the workers of conductor.cfg, in its order. */
    private static final Map<String, String> REAL_NAMES = Map.of("worker_0", "sender", "worker_1", "receiver");
    private static final Pattern OUR_TIME = Pattern.compile("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}[+-]\\d\\d:\\d\\d");
    private static final Pattern REFERENCE_TIME = Pattern.compile("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}");

    @TempDir
    Path dir;

    /** Where one worker's player listens and where our conductor is to take its results. */
    private record Ports(int cmdport, int resultsport) {
    }

    @Test
    void ourConductorDrivesTwoReferencePlayersThroughTwoTrialsAsTheReferenceDid() throws Exception {
        Transcript transcript = Transcript.load(Transcript.TWO_PLAYERS);
        List<Exchange> senderScript = transcript.exchanges("player-sender", 6980);
        List<Exchange> receiverScript = transcript.exchanges("player-receiver", 6990);
        assertThat(senderScript).hasSize(8);
        assertThat(receiverScript).hasSize(8);

        try (FakeReferencePlayer sender = new FakeReferencePlayer("sender", senderScript, true);
             FakeReferencePlayer receiver = new FakeReferencePlayer("receiver", receiverScript, true)) {
            Ports senderPorts = new Ports(sender.port(), Lab.freePort());
            Ports receiverPorts = new Ports(receiver.port(), Lab.freePort());
            TestPlan plan = PlanLoader.load(copyConfigs(Map.of("sender.cfg", senderPorts, "receiver.cfg", receiverPorts)));
            EventLog log = new EventLog(List.of());

            int exit = new Conductor(plan, Conductor.Options.defaults(plan), log).run();

            assertThat(sender.failure()).isNull();
            assertThat(receiver.failure()).isNull();
            assertThat(exit).as("exit code; events: %s", log.events()).isEqualTo(Conductor.EXIT_OK);
            await("both fake players to finish their scripts").atMost(Duration.ofSeconds(5))
                    .until(() -> sender.exchangesDone() == 8 && receiver.exchangesDone() == 8);
            assertSentWhatTheReferenceSent(sender, "sender", senderScript, senderPorts);
            assertSentWhatTheReferenceSent(receiver, "receiver", receiverScript, receiverPorts);
            assertOffersAtMostOneNewerProtocol(sender);
            assertOffersAtMostOneNewerProtocol(receiver);

            List<Event> events = log.events();
            assertThat(events).noneMatch(e -> e instanceof Event.WorkerLost);
            assertThat(events).filteredOn(e -> e instanceof Event.StepFinished).hasSize(2 * 4 * 2)
                    .allSatisfy(e -> assertThat(((Event.StepFinished) e).status()).isEqualTo(Status.OK));

            ObjectNode ours = JsonReport.render(events);
            JsonNode reference = PLAIN.readTree(Files.readString(
                    Transcript.reference("two-players/conductor-report.json"), StandardCharsets.UTF_8));
            assertSameShape(reference, ours, "$");
            assertSameResults(reference, ours);
            assertThat(ours.path("metadata").path("exit_code").asInt()).isZero();
            assertThat(ours.toString()).doesNotContain("worker_0", "worker_1");
        }
    }

    @Test
    void aPlayerThatIsNotRunningIsReportedByNameAndTheRunEnds() throws Exception {
        Ports nobody = new Ports(Lab.freePort(), Lab.freePort());
        TestPlan plan = PlanLoader.load(copyConfigs(Map.of("sender.cfg", nobody, "receiver.cfg", new Ports(Lab.freePort(), Lab.freePort()))));
        EventLog log = new EventLog(List.of());

        int exit = new Conductor(plan, Conductor.Options.defaults(plan), log).run();

        assertThat(exit).isEqualTo(Conductor.EXIT_PLAYER_LOST);
        assertThat(log.events()).filteredOn(e -> e instanceof Event.WorkerLost).map(e -> (Event.WorkerLost) e)
                .extracting(Event.WorkerLost::worker).contains("sender", "receiver");
        assertThat(log.events()).filteredOn(e -> e instanceof Event.WorkerLost).map(e -> ((Event.WorkerLost) e).reason())
                .allSatisfy(reason -> assertThat(reason).contains("connection refused"));
        assertThat(log.events().getLast()).isInstanceOf(Event.RunFinished.class);
    }

    @Test
    void aPlayerThatTakesTheRunButNeverReportsIsLostAtThePhaseDeadline() throws Exception {
        Transcript transcript = Transcript.load(Transcript.TWO_PLAYERS);
        try (FakeReferencePlayer sender = new FakeReferencePlayer("sender", transcript.exchanges("player-sender", 6980), false);
             FakeReferencePlayer receiver = new FakeReferencePlayer("receiver", transcript.exchanges("player-receiver", 6990), true)) {
            TestPlan plan = PlanLoader.load(copyConfigs(Map.of("sender.cfg", new Ports(sender.port(), Lab.freePort()),
                    "receiver.cfg", new Ports(receiver.port(), Lab.freePort()))));
            Conductor.Options options = new Conductor.Options(1, List.of(Phase.STARTUP), List.of(),
                    Optional.of(Duration.ofSeconds(2)), Optional.empty(), Duration.ofSeconds(2));
            EventLog log = new EventLog(List.of());
            long t0 = System.nanoTime();

            int exit = new Conductor(plan, options, log).run();

            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
            assertThat(exit).isEqualTo(Conductor.EXIT_PLAYER_LOST);
            List<Event.WorkerLost> lost = log.events().stream().filter(e -> e instanceof Event.WorkerLost)
                    .map(e -> (Event.WorkerLost) e).toList();
            assertThat(lost).extracting(Event.WorkerLost::worker).containsExactly("sender");
            assertThat(lost.getFirst().reason()).contains("went silent").contains("step 1");
            assertThat(log.events()).filteredOn(e -> e instanceof Event.WorkerFinished)
                    .extracting(e -> ((Event.WorkerFinished) e).worker()).containsExactly("receiver");
        }
    }

    /**
     * Every frame our conductor sent this player decodes to the reference conductor's JSON value
     * once our extension keys are taken out, and the reference's part is its bytes, in its order.
     */
    private static void assertSentWhatTheReferenceSent(FakeReferencePlayer player, String worker, List<Exchange> script,
                                                       Ports ports) throws IOException {
        List<byte[]> got = player.received();
        assertThat(got).as("frames sent to %s", worker).hasSize(2 * script.size());
        Phase[] phases = Phase.values();
        for (int i = 0; i < script.size(); i++) {
            Exchange e = script.get(i);
            String ourPhase = new String(got.get(2 * i), StandardCharsets.UTF_8);
            ObjectNode ours = (ObjectNode) PLAIN.readTree(ourPhase);
            ObjectNode data = (ObjectNode) ours.get("data");
            int trial = i / 4 + 1;
            Phase phase = phases[i % 4];
            assertThat(data.path("trial").asInt()).as("trial of phase frame %d to %s", i, worker).isEqualTo(trial);
            assertThat(data.path("phase").asText()).isEqualTo(phase.key());
            assertThat(data.path("worker").asText()).isEqualTo(worker);
            assertThat(data.has("on_failure")).as("on_failure is only sent for continue").isFalse();
            data.remove(EXTENSION_KEYS);

            ObjectNode expected = e.phase().value();
            ((ObjectNode) expected.get("data")).put("resultport", ports.resultsport());
            assertThat((JsonNode) ours).as("phase frame %d to %s without extension keys", i, worker).isEqualTo(expected);
            String referenceText = e.phase().json().replace("\"resultport\": " + e.phase().data().get("resultport").asInt(),
                    "\"resultport\": " + ports.resultsport());
            assertThat(ourPhase).as("the reference's keys first, in its order and spacing")
                    .startsWith(referenceText.substring(0, referenceText.length() - 2));

            assertThat(got.get(2 * i + 1)).as("run frame %d to %s", i, worker).isEqualTo(e.run().body());
        }
    }

    /**
     * A conductor may first offer a newer protocol; the reference player's answer ({@code 1
     * Unsupported protocol version: 2}) must make it speak v1 to that player for the whole run,
     * not ask again before every phase.
     */
    private static void assertOffersAtMostOneNewerProtocol(FakeReferencePlayer player) throws IOException {
        List<byte[]> offers = player.refusedOffers();
        assertThat(offers).as("offers of another protocol version").hasSizeLessThanOrEqualTo(1);
        for (byte[] offer : offers) {
            assertThat(PLAIN.readTree(offer).path("version").asInt()).as("version offered").isGreaterThan(1);
        }
    }

    /** Every field of the reference's report is in ours with the same JSON type (worker names made real). */
    private static void assertSameShape(JsonNode reference, JsonNode ours, String path) {
        if (reference.isObject()) {
            assertThat(ours.isObject()).as("%s is an object", path).isTrue();
            Iterator<String> names = reference.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                String ourName = REAL_NAMES.getOrDefault(name, name);
                if (!ours.has(ourName)) {
                    fail(path + "." + ourName + " is missing from our report; it has " + ours.properties().stream()
                            .map(Map.Entry::getKey).toList());
                }
                assertSameShape(reference.get(name), ours.get(ourName), path + "." + ourName);
            }
            if (path.endsWith(".workers")) {
                assertThat(ours.properties().stream().map(Map.Entry::getKey).toList()).as("workers at %s", path)
                        .containsExactly("sender", "receiver");
            }
            if (path.endsWith(".phases")) {
                assertThat(ours.properties().stream().map(Map.Entry::getKey).toList()).as("phases at %s", path)
                        .containsExactly("startup", "run", "collect", "reset");
            }
        } else if (reference.isArray()) {
            assertThat(ours.isArray()).as("%s is a list", path).isTrue();
            assertThat(ours.size()).as("length of %s", path).isEqualTo(reference.size());
            for (int i = 0; i < reference.size(); i++) {
                assertSameShape(reference.get(i), ours.get(i), path + "[" + i + "]");
            }
        } else if (reference.isTextual()) {
            assertThat(ours.isTextual()).as("%s is text", path).isTrue();
            if (REFERENCE_TIME.matcher(reference.asText()).matches()) {
                LocalDateTime.parse(reference.asText());
                assertThat(ours.asText()).as("%s: a time with microseconds, and its offset", path).matches(OUR_TIME);
                OffsetDateTime.parse(ours.asText());
            }
        } else {
            assertThat(ours.getNodeType()).as("type of %s", path).isEqualTo(reference.getNodeType());
            if (path.equals("$.metadata.total_trials") || path.equals("$.metadata.total_workers")
                    || path.endsWith(".trial_number")) {
                assertThat(ours).as("%s", path).isEqualTo(reference);
            }
        }
    }

    /** The same results, code and message, for every trial, phase and worker. */
    private static void assertSameResults(JsonNode reference, JsonNode ours) {
        List<String> theirs = new ArrayList<>();
        List<String> mine = new ArrayList<>();
        for (int t = 0; t < reference.path("trials").size(); t++) {
            JsonNode refPhases = reference.path("trials").get(t).path("phases");
            JsonNode ourPhases = ours.path("trials").get(t).path("phases");
            for (String phase : List.of("startup", "run", "collect", "reset")) {
                for (Map.Entry<String, String> w : REAL_NAMES.entrySet()) {
                    refPhases.path(phase).path("workers").path(w.getKey()).path("results").forEach(r ->
                            theirs.add(phase + "/" + w.getValue() + ": " + r.path("code").asInt() + " " + r.path("message").asText()));
                    ourPhases.path(phase).path("workers").path(w.getValue()).path("results").forEach(r ->
                            mine.add(phase + "/" + w.getValue() + ": " + r.path("code").asInt() + " " + r.path("message").asText()));
                }
            }
        }
        assertThat(mine).hasSize(2 * 4 * 2 * 2).containsExactlyElementsOf(theirs);
    }

    /** The two-players configs in {@link #dir}, each worker's ports rewritten. */
    private Path copyConfigs(Map<String, Ports> ports) throws IOException {
        Path source = Transcript.reference("two-players");
        Files.copy(source.resolve("conductor.cfg"), dir.resolve("conductor.cfg"));
        for (Map.Entry<String, Ports> e : ports.entrySet()) {
            String text = Files.readString(source.resolve(e.getKey()), StandardCharsets.UTF_8);
            String rewritten = text.replaceFirst("(?m)^cmdport: \\d+$", "cmdport: " + e.getValue().cmdport())
                    .replaceFirst("(?m)^resultsport: \\d+$", "resultsport: " + e.getValue().resultsport());
            assertThat(rewritten).as("ports of %s rewritten", e.getKey())
                    .contains("cmdport: " + e.getValue().cmdport(), "resultsport: " + e.getValue().resultsport());
            Files.writeString(dir.resolve(e.getKey()), rewritten, StandardCharsets.UTF_8);
        }
        return dir.resolve("conductor.cfg");
    }
}
