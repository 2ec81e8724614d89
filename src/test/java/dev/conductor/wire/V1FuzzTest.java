package dev.conductor.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.interop.MalformedInputs;
import dev.conductor.interop.Transcript;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Bounded, deterministic fuzzing of what a peer can send: whatever the bytes, decoding either
 * gives a message or a {@link ProtocolException} carrying the answer to send back.
 */
class V1FuzzTest {
    private static final long SEED = 0x5EED_C0DEL;
    private static final int BYTE_MUTANTS = 1_200;
    private static final int TREE_MUTANTS = 800;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** The reference's frame bodies and the bad inputs it was tried with: the seeds of every mutant. */
    static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        for (String name : List.of(Transcript.SINGLE_PLAYER, Transcript.TWO_PLAYERS)) {
            Transcript.load(name).frames().forEach(f -> seeds.add(f.body()));
        }
        MalformedInputs.load().forEach(c -> c.frameBody().ifPresent(seeds::add));
        return seeds;
    }

    /** One byte-level mutant of a seed: flips, cuts, insertions, splices, or plain noise. */
    static byte[] mutate(byte[] seed, List<byte[]> seeds, Random random) {
        byte[] b = seed.clone();
        int rounds = 1 + random.nextInt(4);
        for (int r = 0; r < rounds; r++) {
            switch (random.nextInt(8)) {
                case 0 -> {
                    if (b.length > 0) {
                        b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                    }
                }
                case 1 -> {
                    if (b.length > 0) {
                        b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                    }
                }
                case 2 -> b = Arrays.copyOf(b, b.length == 0 ? 0 : random.nextInt(b.length));
                case 3 -> {
                    int at = random.nextInt(b.length + 1);
                    byte[] noise = new byte[1 + random.nextInt(8)];
                    random.nextBytes(noise);
                    b = splice(b, at, at, noise);
                }
                case 4 -> {
                    if (b.length > 1) {
                        int from = random.nextInt(b.length);
                        int to = Math.min(b.length, from + 1 + random.nextInt(16));
                        b = splice(b, from, to, new byte[0]);
                    }
                }
                case 5 -> {
                    byte[] other = seeds.get(random.nextInt(seeds.size()));
                    int cut = random.nextInt(b.length + 1);
                    int otherCut = random.nextInt(other.length + 1);
                    b = splice(Arrays.copyOf(b, cut), cut, cut, Arrays.copyOfRange(other, otherCut, other.length));
                }
                case 6 -> {
                    // JSON's structural characters where they hurt most.
                    byte[] tokens = "{}[]\":,\\ 0-e.nt".getBytes(StandardCharsets.US_ASCII);
                    if (b.length > 0) {
                        b[random.nextInt(b.length)] = tokens[random.nextInt(tokens.length)];
                    }
                }
                default -> {
                    b = new byte[random.nextInt(64)];
                    random.nextBytes(b);
                }
            }
        }
        return b;
    }

    private static byte[] splice(byte[] b, int from, int to, byte[] insert) {
        byte[] out = new byte[from + insert.length + (b.length - to)];
        System.arraycopy(b, 0, out, 0, from);
        System.arraycopy(insert, 0, out, from, insert.length);
        System.arraycopy(b, to, out, from + insert.length, b.length - to);
        return out;
    }

    /** Well-formed JSON with a value somewhere in the message replaced by something odd. */
    static byte[] mutateTree(byte[] seed, Random random) throws ProtocolException {
        V1.Message decoded = V1.decode(seed);
        ObjectNode message = Json.object();
        message.put("version", 1);
        message.put("type", decoded.type());
        message.set("data", decoded.data().deepCopy());
        List<JsonNode> containers = new ArrayList<>();
        collect(message, containers);
        int rounds = 1 + random.nextInt(3);
        for (int r = 0; r < rounds; r++) {
            JsonNode c = containers.get(random.nextInt(containers.size()));
            if (c instanceof ObjectNode o && !o.isEmpty()) {
                List<String> names = new ArrayList<>();
                o.fieldNames().forEachRemaining(names::add);
                String name = names.get(random.nextInt(names.size()));
                if (random.nextInt(5) == 0) {
                    o.remove(name);
                } else {
                    o.set(name, oddValue(random));
                }
            } else if (c instanceof ArrayNode a && !a.isEmpty()) {
                a.set(random.nextInt(a.size()), oddValue(random));
            }
        }
        return Json.bytes(message);
    }

    private static void collect(JsonNode node, List<JsonNode> into) {
        if (node.isContainerNode()) {
            into.add(node);
            node.forEach(child -> collect(child, into));
        }
    }

    private static JsonNode oddValue(Random random) {
        return switch (random.nextInt(16)) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.textNode("");
            case 2 -> NODES.numberNode(-1);
            case 3 -> NODES.numberNode(0);
            case 4 -> NODES.numberNode(65536);
            case 5 -> NODES.numberNode(new BigInteger("123456789012345678901234567890"));
            case 6 -> NODES.numberNode(1e300);
            case 7 -> NODES.numberNode(-0.5);
            case 8 -> NODES.booleanNode(random.nextBoolean());
            case 9 -> NODES.arrayNode();
            case 10 -> NODES.objectNode();
            case 11 -> NODES.textNode("\u0000\uFFFF\uD800");
            case 12 -> NODES.textNode("x".repeat(random.nextInt(10_000)));
            case 13 -> {
                JsonNode deep = NODES.arrayNode();
                for (int i = 0; i < 200; i++) {
                    deep = NODES.arrayNode().add(deep);
                }
                yield deep;
            }
            case 14 -> NODES.textNode("1");
            default -> NODES.numberNode(random.nextInt());
        };
    }

    /** Decodes and reads the data as a player and a conductor would; nothing may escape but a refusal. */
    static void feed(byte[] body) {
        try {
            V1.Message m = V1.decode(body);
            assertThat(m.type()).isNotNull();
            assertThat(m.data()).isNotNull();
            switch (m.type()) {
                case V1.PHASE -> {
                    PhaseOrder order = PhaseOrder.fromData(m.data());
                    assertThat(order.resultPort()).isBetween(1, 65535);
                    assertThat(order.steps()).allSatisfy(s -> assertThat(s.timeout()).isPositive());
                    V1.encode(V1.PHASE, order.toData());
                }
                case V1.RESULT -> V1.encode(V1.RESULT, StepResult.fromData(m.data()).toData());
                default -> {
                    // run and unknown types carry nothing to read
                }
            }
        } catch (ProtocolException e) {
            assertThat(e.code()).isIn(V1.ERROR, V1.UNKNOWN_COMMAND);
            assertThat(e.getMessage()).isNotBlank();
            // The refusal must itself be sendable.
            assertThat(Frames.encode(V1.result(e.code(), e.getMessage()))).isNotEmpty();
        } catch (RuntimeException | Error e) {
            fail("decoding " + printable(body) + " threw " + e, e);
        }
    }

    static String printable(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    @Test
    void byteLevelMutantsOfTheTranscriptsDecodeOrAreRefused() {
        List<byte[]> seeds = seeds();
        Random random = new Random(SEED);
        for (int i = 0; i < BYTE_MUTANTS; i++) {
            feed(mutate(seeds.get(random.nextInt(seeds.size())), seeds, random));
        }
    }

    @Test
    void wellFormedJsonWithOddValuesIsReadOrRefused() throws ProtocolException {
        List<byte[]> seeds = new ArrayList<>();
        for (String name : List.of(Transcript.SINGLE_PLAYER, Transcript.TWO_PLAYERS)) {
            Transcript.load(name).frames().forEach(f -> seeds.add(f.body()));
        }
        Random random = new Random(SEED + 1);
        for (int i = 0; i < TREE_MUTANTS; i++) {
            feed(mutateTree(seeds.get(random.nextInt(seeds.size())), random));
        }
    }

    @Test
    void pathologicalBodiesAreRefusedNotThrown() {
        feed(new byte[0]);
        feed("[".repeat(100_000).getBytes(StandardCharsets.US_ASCII));
        feed("{\"a\":".repeat(50_000).getBytes(StandardCharsets.US_ASCII));
        feed(("{\"version\": 1, \"type\": \"phase\", \"data\": {\"resulthost\": \"h\", \"resultport\": 1, \"steps\": "
                + "[{\"command\": \"x\", \"timeout\": 1e999}]}}").getBytes(StandardCharsets.US_ASCII));
        feed(("{\"version\": 1, \"type\": \"result\", \"data\": {\"code\": 99999999999, \"message\": 1}}")
                .getBytes(StandardCharsets.US_ASCII));
        feed(("{\"version\": " + "9".repeat(2_000) + "}").getBytes(StandardCharsets.US_ASCII));
        feed(("{\"version\": 1, \"type\": \"" + "t".repeat(30_000_000 / 1000) + "\"}").getBytes(StandardCharsets.US_ASCII));
        feed(new byte[]{(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '}'});
        feed(new byte[]{(byte) 0xff, (byte) 0xfe, '{', 0, '}', 0});
        feed(new byte[]{'{', '"', (byte) 0xc3, '"', ':', '1', '}'});
    }
}
