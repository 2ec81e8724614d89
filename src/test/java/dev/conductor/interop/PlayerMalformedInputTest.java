package dev.conductor.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conductor.player.Player;
import dev.conductor.wire.Frames;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every line of {@code malformed-input-responses.tsv} against our player, one connection per
 * input and in the file's order, on one player that must keep serving throughout.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PlayerMalformedInputTest {
    /** Short, so that the stalled connection's fate is seen quickly. */
    private static final Duration READ_DEADLINE = Duration.ofSeconds(2);
    private static final Duration IO_DEADLINE = Duration.ofSeconds(5);
    private static final ObjectMapper PLAIN = new ObjectMapper();

    @TempDir
    Path work;
    private Player player;
    private ResultListener results;

    @BeforeAll
    void startPlayer() throws IOException {
        results = new ResultListener();
        player = Player.start(new Player.Options(new InetSocketAddress("127.0.0.1", 0), "dut", Frames.DEFAULT_LIMIT,
                READ_DEADLINE, work));
    }

    @AfterAll
    void stopPlayer() {
        if (player != null) {
            player.close();
        }
        if (results != null) {
            results.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> eachInputIsAnsweredAsTheReferenceAnswersIt() {
        List<MalformedInputs.Case> cases = MalformedInputs.load();
        assertThat(cases).hasSize(9);
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.input(), () -> answer(c)));
    }

    private void answer(MalformedInputs.Case c) throws Exception {
        if (c.isFrame()) {
            assertReply(c, sendFrame(c.frameBody().orElseThrow()));
        } else if (c.input().startsWith("length header 11534336")) {
            assertReply(c, headerOnly(11_534_336));
        } else if (c.input().startsWith("two bytes 00 00")) {
            stalledConnectionBlocksNobody();
        } else if (c.input().startsWith("frame of a valid phase")) {
            assertReply(c, sendFrame(validPhase()));
        } else {
            throw new AssertionError("an input this test does not know how to send: " + c.input());
        }
    }

    private void assertReply(MalformedInputs.Case c, byte[] body) throws IOException {
        String expected = c.replyText();
        String ours = new String(body, StandardCharsets.UTF_8);
        JsonNode reply = PLAIN.readTree(ours);
        assertThat(reply.path("data").path("code").asInt()).as("code of the reply to %s", c).isEqualTo(c.replyCode());
        String message = reply.path("data").path("message").asText();
        String referenceMessage = c.replyMessage();
        if (referenceMessage.startsWith("Invalid message format: ")) {
            // Python's words for the parse error are its own; prefix and position are the same.
            assertThat(message).startsWith("Invalid message format: ").contains("line 1 column")
                    .endsWith(referenceMessage.substring(referenceMessage.indexOf(": line 1 column")));
        } else if (referenceMessage.startsWith("'")) {
            // Python's KeyError text first, then what it means.
            assertThat(message).startsWith(referenceMessage);
        } else {
            assertThat(ours).as("reply to %s, byte for byte", c).isEqualTo(expected);
        }
    }

    /** One frame on its own connection; the reply frame's body. */
    private byte[] sendFrame(byte[] body) throws IOException {
        try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
            return c.send(Frames.encode(body)).replyBody();
        }
    }

    /** A header announcing {@code length} bytes and no body: the reply must come without one. */
    private byte[] headerOnly(long length) throws IOException {
        byte[] header = HexFormat.of().parseHex(String.format("%08x", length));
        try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
            // No body follows and our side stays open: only a reply sent without reading one ends this.
            return c.send(header).replyBody();
        }
    }

    private byte[] validPhase() {
        return ("{\"version\":1,\"type\":\"phase\",\"data\":{\"resulthost\":\"127.0.0.1\",\"resultport\":"
                + results.port() + ",\"steps\":[{\"command\":\"echo valid\",\"spawn\":false,\"timeout\":30}]}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The reference serves one connection at a time, so two bytes and silence stop it. Ours
     * answers a second conductor at once, and drops the stalled one at its read deadline,
     * without a reply.
     */
    private void stalledConnectionBlocksNobody() throws Exception {
        try (CommandConnection stalled = new CommandConnection(player.address(), READ_DEADLINE.multipliedBy(4))) {
            stalled.send(new byte[]{0, 0});
            long t0 = System.nanoTime();
            byte[] reply;
            try (CommandConnection other = new CommandConnection(player.address(), Duration.ofSeconds(1))) {
                reply = other.send(Frames.encode(validPhase())).replyBody();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(new String(reply, StandardCharsets.UTF_8))
                    .isEqualTo("{\"version\": 1, \"type\": \"result\", \"data\": {\"code\": 0, \"message\": \"phase received\"}}");
            assertThat(took).as("answer while another connection stalls").isLessThan(Duration.ofSeconds(1));

            long stalledSince = System.nanoTime();
            assertThat(stalled.untilClosed()).as("what the player says to the stalled connection").isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - stalledSince))
                    .as("until the player gave up on the stalled connection")
                    .isLessThan(READ_DEADLINE.plusSeconds(2));
        }
    }

    @Test
    void manyStalledConnectionsAtOnceBlockNobody() throws Exception {
        List<CommandConnection> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                stalled.add(new CommandConnection(player.address(), IO_DEADLINE).send(new byte[]{0, 0, 0}));
            }
            long t0 = System.nanoTime();
            byte[] reply = sendFrame(validPhase());
            assertThat(new String(reply, StandardCharsets.UTF_8)).contains("\"code\": 0, \"message\": \"phase received\"");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
        } finally {
            for (CommandConnection c : stalled) {
                c.close();
            }
        }
    }

    @Test
    void aConductorThatSendsTheOversizedBodyAnywayStillReadsTheRefusal() throws Exception {
        try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
            c.send(HexFormat.of().parseHex(String.format("%08x", 11_534_336)));
            try {
                c.send(new byte[1 << 20]);
            } catch (IOException e) {
                // The player has answered and closed; the rest of the body is refused.
            }
            assertThat(new String(c.replyBody(), StandardCharsets.UTF_8)).isEqualTo("{\"version\": 1, \"type\": \"result\", "
                    + "\"data\": {\"code\": 1, \"message\": \"Message too large: 11534336 bytes (max: 10485760)\"}}");
        }
    }

    @Test
    void aPeerThatSendsHalfAFrameAndLeavesIsDroppedWithoutAReply() throws Exception {
        try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
            byte[] frame = Frames.encode(validPhase());
            c.send(java.util.Arrays.copyOf(frame, frame.length / 2)).endOfInput();
            assertThat(c.untilClosed()).isEmpty();
        }
        assertThat(sendFrame(validPhase())).isNotEmpty();
    }

    @Test
    void aConnectionThatSendsNothingIsClosedAtTheReadDeadline() throws Exception {
        try (CommandConnection idle = new CommandConnection(player.address(), READ_DEADLINE.plusSeconds(3))) {
            long t0 = System.nanoTime();
            assertThat(idle.untilClosed()).isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(READ_DEADLINE.minusMillis(200));
        }
    }
}
