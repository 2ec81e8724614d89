package dev.conductor.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conductor.interop.ResultListener.Received;
import dev.conductor.player.Player;
import dev.conductor.wire.Frames;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.V1;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A player fed junk, one blob per connection, keeps serving conductors. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PlayerRobustnessTest {
    private static final long SEED = 0xB10B5L;
    private static final int BLOBS = 200;
    private static final Duration IO_DEADLINE = Duration.ofSeconds(5);
    private static final ObjectMapper PLAIN = new ObjectMapper();

    @TempDir
    Path work;

    @Test
    void twoHundredJunkConnectionsLeaveThePlayerServing() throws Exception {
        Random random = new Random(SEED);
        List<byte[]> seeds = new ArrayList<>();
        for (String name : List.of(Transcript.SINGLE_PLAYER, Transcript.TWO_PLAYERS)) {
            Transcript.load(name).frames().forEach(f -> seeds.add(f.bytes()));
        }
        Player.Options options = new Player.Options(new InetSocketAddress("127.0.0.1", 0), "dut", Frames.DEFAULT_LIMIT,
                Duration.ofSeconds(2), work);
        int replied = 0;
        try (ResultListener results = new ResultListener(); Player player = Player.start(options)) {
            for (int i = 0; i < BLOBS; i++) {
                byte[] blob = junk(i, random, seeds);
                byte[] reply;
                try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
                    // All we have, then our end closed: the player must answer or close, never wait for more.
                    reply = c.send(blob).endOfInput().untilClosed();
                } catch (SocketException e) {
                    // Closing with our unread bytes in its buffer resets the connection; that is an answer too.
                    continue;
                }
                if (reply.length > 0) {
                    assertIsARefusal(reply, blob);
                    replied++;
                }
            }
            assertThat(replied).as("junk connections answered with a refusal").isGreaterThan(BLOBS / 4);

            // Still serving: a real phase is taken and run, and its results arrive.
            String phase = "{\"version\": 1, \"type\": \"phase\", \"data\": {\"resulthost\": \"127.0.0.1\", \"resultport\": "
                    + results.port() + ", \"steps\": [{\"command\": \"echo alive\", \"spawn\": false, \"timeout\": 30}]}}";
            try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
                assertThat(new String(c.send(Frames.encode(phase.getBytes(StandardCharsets.UTF_8))).replyBody(), StandardCharsets.UTF_8))
                        .isEqualTo("{\"version\": 1, \"type\": \"result\", \"data\": {\"code\": 0, \"message\": \"phase received\"}}");
            }
            try (CommandConnection c = new CommandConnection(player.address(), IO_DEADLINE)) {
                c.send(Frames.encode(V1.encode(V1.RUN, dev.conductor.wire.Json.object()))).untilClosed();
            }
            List<Received> got = results.untilPhaseDone(Duration.ofSeconds(30));
            assertThat(got).extracting(Received::code).containsExactly(0, 65535);
            assertThat(got.getFirst().message()).isEqualTo("alive\n");
        }
    }

    @Test
    void aSecondPlayerCannotShareAPortWithARunningOne() throws Exception {
        try (Player first = Player.start(new Player.Options(new InetSocketAddress("127.0.0.1", 0), "first",
                Frames.DEFAULT_LIMIT, Duration.ofSeconds(2), work))) {
            int port = first.address().getPort();

            assertThatThrownBy(() -> Player.start(Player.Options.of(new InetSocketAddress("127.0.0.1", port), "second")).close())
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("127.0.0.1:" + port)
                    .hasMessageContaining("in use");

            try (CommandConnection c = new CommandConnection(first.address(), IO_DEADLINE)) {
                assertThat(new String(c.send(Frames.encode("{\"version\": 1, \"type\": \"bogus\"}".getBytes(StandardCharsets.UTF_8)))
                        .replyBody(), StandardCharsets.UTF_8)).contains("no such command");
            }
        }
    }

    /**
     * The i-th blob: pure noise, a well-formed header over noise, or a recorded frame cut,
     * flipped or spliced. Never a valid phase or run: junk must not make the player run anything.
     */
    private static byte[] junk(int i, Random random, List<byte[]> seeds) {
        while (true) {
            byte[] blob = switch (i % 4) {
                case 0 -> noise(random, random.nextInt(200));
                case 1 -> {
                    byte[] body = noise(random, random.nextInt(200));
                    yield Frames.encode(body);
                }
                case 2 -> {
                    byte[] frame = seeds.get(random.nextInt(seeds.size())).clone();
                    int flips = 1 + random.nextInt(4);
                    for (int f = 0; f < flips; f++) {
                        frame[4 + random.nextInt(frame.length - 4)] ^= (byte) (1 << random.nextInt(8));
                    }
                    yield frame;
                }
                default -> {
                    byte[] frame = seeds.get(random.nextInt(seeds.size()));
                    yield Arrays.copyOf(frame, random.nextInt(frame.length));
                }
            };
            if (!runsSomething(blob)) {
                return blob;
            }
        }
    }

    private static byte[] noise(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** A blob that still is a whole, valid phase or run frame. */
    private static boolean runsSomething(byte[] blob) {
        if (blob.length < 4) {
            return false;
        }
        long length = ((blob[0] & 0xffL) << 24) | ((blob[1] & 0xffL) << 16) | ((blob[2] & 0xffL) << 8) | (blob[3] & 0xffL);
        if (length > blob.length - 4) {
            return false;
        }
        try {
            String type = V1.decode(Arrays.copyOfRange(blob, 4, 4 + (int) length)).type();
            return type.equals(V1.PHASE) || type.equals(V1.RUN);
        } catch (ProtocolException e) {
            return false;
        }
    }

    private static void assertIsARefusal(byte[] reply, byte[] blob) throws IOException {
        assertThat(reply.length).as("reply to %s", printable(blob)).isGreaterThan(4);
        long length = ((reply[0] & 0xffL) << 24) | ((reply[1] & 0xffL) << 16) | ((reply[2] & 0xffL) << 8) | (reply[3] & 0xffL);
        assertThat(length).as("one frame in the reply to %s", printable(blob)).isEqualTo(reply.length - 4);
        JsonNode m = PLAIN.readTree(Arrays.copyOfRange(reply, 4, reply.length));
        assertThat(m.path("version").asInt()).isEqualTo(1);
        assertThat(m.path("type").asText()).isEqualTo(V1.RESULT);
        assertThat(m.path("data").path("code").asInt()).as("code of the reply to %s", printable(blob)).isIn(1, 2);
        assertThat(m.path("data").path("message").asText()).isNotBlank();
    }

    private static String printable(byte[] blob) {
        String s = new String(blob, StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", ".");
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }
}
