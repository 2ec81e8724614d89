package dev.conductor.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.interop.MalformedInputs;
import dev.conductor.interop.Transcript;
import dev.conductor.interop.Transcript.Frame;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Protocol v1 against the reference's recorded frames: we read all of them and write the same bytes. */
class V1TranscriptTest {

    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final Pattern ESCAPE = Pattern.compile("\\\\u([0-9a-fA-F]{4})");

    private static List<Frame> allFrames() {
        List<Frame> all = new ArrayList<>(Transcript.load(Transcript.SINGLE_PLAYER).frames());
        all.addAll(Transcript.load(Transcript.TWO_PLAYERS).frames());
        return all;
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** {@code \u00E9} and {@code \u00e9} are the same JSON; Python writes the lower-case form. */
    private static String lowerCaseEscapes(String json) {
        Matcher m = ESCAPE.matcher(json);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(b, Matcher.quoteReplacement("\\u" + m.group(1).toLowerCase()));
        }
        return m.appendTail(b).toString();
    }

    /**
     * Our frame must be the reference's byte for byte; the one tolerated difference is the case
     * of hex digits in {@code \\uXXXX} escapes (harmless: the JSON values are equal).
     */
    private static void assertSameFrame(byte[] ours, Frame recorded) throws IOException {
        if (java.util.Arrays.equals(ours, recorded.bytes())) {
            return;
        }
        assertThat(Frames.encode(lowerCaseEscapes(text(ours).substring(4)).getBytes(StandardCharsets.UTF_8)))
                .as("our frame for %s, up to the case of \\u escapes", recorded)
                .isEqualTo(recorded.bytes());
        assertThat(PLAIN.readTree(text(ours).substring(4))).isEqualTo(PLAIN.readTree(recorded.json()));
    }

    @Test
    void everyRecordedFrameHasItsLengthInTheHeaderAndDecodes() throws Exception {
        List<Frame> frames = allFrames();
        assertThat(frames).hasSize(27 + 80);
        for (Frame f : frames) {
            byte[] body = f.body();
            assertThat(f.lengthHeader()).as("length_header of %s", f).isEqualTo(body.length);
            assertThat(ByteBuffer.wrap(f.bytes(), 0, 4).getInt() & 0xffffffffL).as("header of %s", f)
                    .isEqualTo(body.length);
            assertThat(text(body)).as("body of %s", f).isEqualTo(f.json());

            V1.Message m = V1.decode(body);

            assertThat(m.type()).as("type of %s", f).isIn(V1.PHASE, V1.RUN, V1.RESULT);
            assertThat(m.type()).isEqualTo(f.type());
            assertThat((JsonNode) m.data()).as("data of %s", f).isEqualTo(f.data());
            assertThat(f.fromConductor()).as("who sends %s", f).isEqualTo(!m.type().equals(V1.RESULT));
        }
    }

    @Test
    void everyRecordedPhaseReadsAsAPhaseOrderAndEveryResultAsAStepResult() throws Exception {
        for (Frame f : allFrames()) {
            V1.Message m = V1.decode(f.body());
            switch (m.type()) {
                case V1.PHASE -> {
                    PhaseOrder order = PhaseOrder.fromData(m.data());
                    assertThat(order.resultHost()).isEqualTo("127.0.0.1");
                    assertThat(order.resultPort()).isEqualTo(f.data().get("resultport").asInt());
                    assertThat(order.steps()).hasSize(f.data().get("steps").size());
                    assertThat(order.trial()).isEmpty();
                    assertThat(order.phase()).isEmpty();
                    assertThat(order.worker()).isEmpty();
                    assertThat(order.continueOnFailure()).isFalse();
                }
                case V1.RESULT -> {
                    StepResult r = StepResult.fromData(m.data());
                    assertThat(r.code()).isEqualTo(f.data().get("code").asInt());
                    assertThat(r.message()).isEqualTo(f.data().get("message").asText());
                    assertThat(r.details()).as("a reference result has no extension keys").isEmpty();
                    assertThat(r.phaseDone()).isEqualTo(r.code() == 65535);
                }
                default -> assertThat(m.data()).isEmpty();
            }
        }
    }

    @Test
    void ourResultFramesAreTheReferencesBytes() throws Exception {
        int compared = 0;
        for (Frame f : allFrames()) {
            if (!f.type().equals(V1.RESULT)) {
                continue;
            }
            byte[] ours = Frames.encode(V1.result(f.data().get("code").asInt(), f.data().get("message").asText()));
            assertSameFrame(ours, f);
            compared++;
        }
        assertThat(compared).isEqualTo(19 + 48);
    }

    @Test
    void theOnlyNonAsciiResultDiffersAtMostInTheCaseOfItsEscape() throws Exception {
        Frame cafe = Transcript.load(Transcript.SINGLE_PLAYER).frames().stream()
                .filter(f -> f.json().contains("\\u00e9")).findFirst().orElseThrow();
        byte[] ours = Frames.encode(V1.result(0, "caf\u00e9 line1\nline2\n"));

        assertThat(text(ours)).as("pure ASCII on the wire, as Python's ensure_ascii")
                .isEqualTo(new String(ours, StandardCharsets.US_ASCII));
        assertThat(lowerCaseEscapes(text(ours))).isEqualTo(text(cafe.bytes()));
        assertThat(V1.decode(java.util.Arrays.copyOfRange(ours, 4, ours.length)).data().get("message").asText())
                .isEqualTo("caf\u00e9 line1\nline2\n");
    }

    @Test
    void ourPhaseFramesWithoutExtensionsAreTheReferencesBytes() throws Exception {
        int compared = 0;
        for (Frame f : allFrames()) {
            if (!f.type().equals(V1.PHASE)) {
                continue;
            }
            ObjectNode data = f.data();
            List<PhaseOrder.StepSpec> steps = new ArrayList<>();
            data.get("steps").forEach(s -> steps.add(new PhaseOrder.StepSpec(s.get("command").asText(),
                    s.get("spawn").asBoolean(), s.get("timeout").asLong())));
            PhaseOrder order = new PhaseOrder(data.get("resulthost").asText(), data.get("resultport").asInt(), steps,
                    Optional.empty(), Optional.empty(), Optional.empty(), false);

            assertSameFrame(Frames.encode(V1.encode(V1.PHASE, order.toData())), f);
            // And what we read from the reference, written back, is the reference again.
            assertSameFrame(Frames.encode(V1.encode(V1.PHASE, PhaseOrder.fromData(V1.decode(f.body()).data()).toData())), f);
            compared++;
        }
        assertThat(compared).isEqualTo(4 + 16);
    }

    @Test
    void ourRunFrameIsTheReferencesBytes() {
        for (Frame f : allFrames()) {
            if (f.type().equals(V1.RUN)) {
                assertThat(Frames.encode(V1.encode(V1.RUN, Json.object()))).as("%s", f).isEqualTo(f.bytes());
            }
        }
    }

    @Test
    void extensionKeysOfAPhaseFollowTheReferencesKeysSoTheReferencePartIsUnchanged() throws Exception {
        Frame recorded = Transcript.load(Transcript.SINGLE_PLAYER).frames().stream()
                .filter(f -> f.type().equals(V1.PHASE)).skip(1).findFirst().orElseThrow();
        PhaseOrder plain = PhaseOrder.fromData(recorded.data());
        PhaseOrder extended = new PhaseOrder(plain.resultHost(), plain.resultPort(), plain.steps(),
                Optional.of(2), Optional.of("run"), Optional.of("dut"), true);

        String ours = text(V1.encode(V1.PHASE, extended.toData()));

        String reference = recorded.json();
        assertThat(ours).isEqualTo(reference.substring(0, reference.length() - 2)
                + ", \"trial\": 2, \"phase\": \"run\", \"worker\": \"dut\", \"on_failure\": \"continue\"}}");
        assertThat(PhaseOrder.fromData(V1.decode(ours.getBytes(StandardCharsets.UTF_8)).data())).isEqualTo(extended);
    }

    @Test
    void theDefaultStopOnFailureIsNotWrittenSoAPlainPhaseStaysTheReferences() {
        PhaseOrder order = new PhaseOrder("127.0.0.1", 6971, List.of(new PhaseOrder.StepSpec("true", false, 30)),
                Optional.of(1), Optional.empty(), Optional.empty(), false);

        assertThat(order.toData().has("on_failure")).isFalse();
        assertThat(text(V1.encode(V1.PHASE, order.toData()))).endsWith("\"timeout\": 30}], \"trial\": 1}}");
    }

    @Test
    void extensionKeysOfAResultFollowCodeAndMessageAndRoundTrip() throws Exception {
        StepResult.Details d = new StepResult.Details(1, StepResult.Status.FAILED, "sh -c 'exit 3'",
                Instant.parse("2026-11-22T02:55:20.123456Z"), Duration.ofNanos(1_234_567_000L), "out\n", "err\n", 4, 4);
        StepResult r = new StepResult(3, "sh -c 'exit 3'", Optional.of(d));

        String ours = text(V1.encode(V1.RESULT, r.toData()));

        assertThat(ours).startsWith("{\"version\": 1, \"type\": \"result\", \"data\": {\"code\": 3, \"message\": \"sh -c 'exit 3'\", ");
        assertThat(PLAIN.readTree(ours).get("data").properties().stream().map(e -> e.getKey()).toList())
                .containsExactly("code", "message", "step", "status", "command", "started_at", "duration_us",
                        "stdout", "stderr", "stdout_bytes", "stderr_bytes");
        assertThat(StepResult.fromData(V1.decode(ours.getBytes(StandardCharsets.UTF_8)).data())).isEqualTo(r);
    }

    @Test
    void theReferencesAnswersToBadInputAreWrittenByteForByte() {
        for (MalformedInputs.Case c : MalformedInputs.load()) {
            if (c.reply().isPresent()) {
                assertThat(text(V1.result(c.replyCode(), c.replyMessage()))).as("reply to %s", c).isEqualTo(c.replyText());
            }
        }
    }

    @Test
    void badFramesDecodeToTheReferencesAnswers() throws Exception {
        List<MalformedInputs.Case> frames = MalformedInputs.load().stream().filter(MalformedInputs.Case::isFrame).toList();
        assertThat(frames).hasSize(6);
        for (MalformedInputs.Case c : frames) {
            ProtocolException refusal;
            try {
                V1.Message m = V1.decode(c.frameBody().orElseThrow());
                if (!m.type().equals(V1.PHASE)) {
                    // A well-formed message of a type we do not know: the player's answer, not the decoder's.
                    assertThat(m.type()).isEqualTo("bogus");
                    assertThat(c.replyCode()).isEqualTo(V1.UNKNOWN_COMMAND);
                    assertThat(c.replyMessage()).isEqualTo("no such command");
                    continue;
                }
                refusal = org.assertj.core.api.Assertions.catchThrowableOfType(ProtocolException.class,
                        () -> PhaseOrder.fromData(m.data()));
                assertThat(refusal).as("refusal of %s", c).isNotNull();
            } catch (ProtocolException e) {
                refusal = e;
            }
            assertThat(refusal.code()).as("code for %s", c).isEqualTo(c.replyCode());
            String expected = c.replyMessage();
            if (expected.startsWith("Invalid message format: ")) {
                // Python's wording of the parse error is its own; the prefix and position are ours too.
                assertThat(refusal.getMessage()).startsWith("Invalid message format: ")
                        .endsWith(expected.substring(expected.indexOf(": line ")));
            } else if (expected.startsWith("'")) {
                // Python's KeyError text, then our explanation.
                assertThat(refusal.getMessage()).startsWith(expected);
            } else {
                assertThat(refusal.getMessage()).isEqualTo(expected);
            }
        }
    }

    @Test
    void otherRefusalsUsePythonsNamesAndPositions() {
        assertRefused("", 1, "Invalid message format: Expecting value: line 1 column 1 (char 0)");
        assertRefused("\"text\"", 1, "Message must be a JSON object, not str");
        assertRefused("3", 1, "Message must be a JSON object, not int");
        assertRefused("2.5", 1, "Message must be a JSON object, not float");
        assertRefused("true", 1, "Message must be a JSON object, not bool");
        assertRefused("null", 1, "Message must be a JSON object, not NoneType");
        assertRefused("{\"version\":1,\"data\":{}}", 2, "no such command");
        assertRefused("{\"version\":1,\"type\":7}", 2, "no such command");
        assertThatThrownBy(() -> V1.decode("{\"a\":1,}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageEndingWith(": line 1 column 8 (char 7)");
    }

    private static void assertRefused(String body, int code, String message) {
        assertThatThrownBy(() -> V1.decode(body.getBytes(StandardCharsets.UTF_8)))
                .as("decoding %s", body)
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(code))
                .hasMessage(message);
    }

    @Test
    void aMessageWithoutDataIsReadAsEmptyData() throws Exception {
        assertThat(V1.decode("{\"version\": 1, \"type\": \"run\"}".getBytes(StandardCharsets.UTF_8)).data()).isEmpty();
    }

    /**
     * The reference parses with Python's {@code json.loads}, which refuses anything after the
     * object ({@code Extra data: line 1 column 15 (char 14)}); Jackson's {@code readTree} stops
     * after the first value and ignores the rest.
     */
    @Test
    void trailingDataAfterTheObjectIsRefusedAsTheReferenceDoes() {
        assertThatThrownBy(() -> V1.decode("{\"version\": 1, \"type\": \"run\", \"data\": {}} x".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(ProtocolException.class, e -> assertThat(e.code()).isEqualTo(V1.ERROR))
                .hasMessageStartingWith("Invalid message format: ");
        assertThatThrownBy(() -> V1.decode("{\"version\": 1} {}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageStartingWith("Invalid message format: ");
    }

    /**
     * What Python 3's {@code json.dumps} wrote for the same message (generated once with
     * CPython; separators {@code ", "} and {@code ": "}, {@code ensure_ascii=True}).
     */
    private static final String PYTHON_DUMPS = "{\"version\": 1, \"type\": \"result\", \"data\": {\"code\": 0, \"message\": "
            + "\"caf\\u00e9 \\u0001\\u001f\\u007f/\\\\\\\"\\t\\r\\n\\b\\f \\u2028 \\ud83d\\ude00\"}}";

    @Test
    void escapingIsPythonsUpToHexCaseAndTheDeleteCharacter() throws Exception {
        String message = "caf\u00e9 \u0001\u001f\u007f/\\\"\t\r\n\b\f \u2028 \uD83D\uDE00";

        String ours = text(V1.result(0, message));

        // Known, harmless differences: Jackson writes upper-case hex digits, and leaves DEL
        // (U+007F, legal unescaped in JSON) as the raw byte where Python writes \u007f.
        assertThat(lowerCaseEscapes(ours).replace("\u007f", "\\u007f")).isEqualTo(PYTHON_DUMPS);
        assertThat(PLAIN.readTree(ours)).isEqualTo(PLAIN.readTree(PYTHON_DUMPS));
        assertThat(V1.decode(PYTHON_DUMPS.getBytes(StandardCharsets.UTF_8)).data().get("message").asText())
                .isEqualTo(message);
    }

    @Test
    void keysAndValuesOutsideTheReferencesSetAreKeptAsTheyCame() throws Exception {
        V1.Message m = V1.decode("{\"data\": {\"x\": [1, 2]}, \"type\": \"phase\", \"version\": 1, \"future\": true}"
                .getBytes(StandardCharsets.UTF_8));

        assertThat(m.type()).isEqualTo(V1.PHASE);
        assertThat(m.data().get("x").size()).isEqualTo(2);
        assertThat(Set.of(V1.OK, V1.ERROR, V1.UNKNOWN_COMMAND, V1.PHASE_DONE)).containsExactlyInAnyOrder(0, 1, 2, 65535);
    }
}
