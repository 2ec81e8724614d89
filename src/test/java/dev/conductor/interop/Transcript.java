package dev.conductor.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.fail;

/**
 * A wire transcript of the reference Python Conductor ({@code *.wire.jsonl}): every frame either
 * side sent, in order, with its exact bytes. The golden vectors of protocol v1.
 */
public record Transcript(String name, List<Frame> frames) {
    /** Where the reference's recordings live, relative to the project directory tests run in. */
    public static final Path REFERENCE = Interop.folder("python-conductor-v1");
    public static final String SINGLE_PLAYER = "single-player.wire.jsonl";
    public static final String TWO_PLAYERS = "two-players-two-trials.wire.jsonl";

    private static final ObjectMapper PLAIN = new ObjectMapper();

    public Transcript {
        frames = List.copyOf(frames);
    }

    /**
     * One frame as recorded.
     *
     * @param sender       {@code conductor}, {@code player}, {@code player-sender}, ...
     * @param lengthHeader the 4-byte header's value, as the recorder read it
     * @param bytes        header and body, exactly as sent
     * @param json         the body as text
     */
    public record Frame(int connection, String sender, String from, String to, long lengthHeader, byte[] bytes,
                        String json) {
        public byte[] body() {
            return Arrays.copyOfRange(bytes, 4, bytes.length);
        }

        public boolean fromConductor() {
            return sender.equals("conductor");
        }

        /** The body as a JSON tree (a fresh copy each call, free to modify). */
        public ObjectNode value() {
            try {
                return (ObjectNode) PLAIN.readTree(json);
            } catch (IOException e) {
                throw new UncheckedIOException("frame of connection " + connection + " is not JSON: " + json, e);
            }
        }

        public String type() {
            return value().path("type").asText();
        }

        public ObjectNode data() {
            return (ObjectNode) value().get("data");
        }

        public int toPort() {
            return Integer.parseInt(to.substring(to.lastIndexOf(':') + 1));
        }

        @Override
        public String toString() {
            return "connection " + connection + " " + sender + " -> " + to + ": " + json;
        }
    }

    /**
     * One phase as the reference conductor drove one player: the phase download and the player's
     * reply on one connection, the {@code run} on the next, then the results the player sent to
     * the result port, each on its own connection, ending with code 65535.
     */
    public record Exchange(Frame phase, Frame reply, Frame run, List<Frame> results) {
        public Exchange {
            results = List.copyOf(results);
        }
    }

    public static Path reference(String relative) {
        Path file = REFERENCE.resolve(relative);
        if (!Files.exists(file)) {
            fail(Interop.notFound(file));
        }
        return file;
    }

    public static Transcript load(String name) {
        List<Frame> frames = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(reference(name), StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode r = PLAIN.readTree(line);
                frames.add(new Frame(r.get("connection").asInt(), r.get("sender").asText(), r.get("from").asText(),
                        r.get("to").asText(), r.get("length_header").asLong(),
                        HexFormat.of().parseHex(r.get("frame_hex").asText()), r.get("json").asText()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read transcript " + name, e);
        }
        return new Transcript(name, frames);
    }

    /**
     * The exchanges between the conductor and the player at {@code cmdport}, whose frames are
     * recorded with sender {@code playerSender}, in order.
     */
    public List<Exchange> exchanges(String playerSender, int cmdport) {
        List<Exchange> out = new ArrayList<>();
        Frame phase = null;
        Frame reply = null;
        Frame run = null;
        List<Frame> results = new ArrayList<>();
        for (Frame f : frames) {
            if (f.fromConductor() && f.toPort() == cmdport) {
                if (f.type().equals("phase")) {
                    if (phase != null) {
                        out.add(new Exchange(phase, reply, run, results));
                    }
                    phase = f;
                    reply = null;
                    run = null;
                    results = new ArrayList<>();
                } else if (f.type().equals("run")) {
                    run = f;
                }
            } else if (f.sender().equals(playerSender) && phase != null) {
                if (f.connection() == phase.connection()) {
                    reply = f;
                } else {
                    results.add(f);
                }
            }
        }
        if (phase != null) {
            out.add(new Exchange(phase, reply, run, results));
        }
        for (Exchange e : out) {
            if (e.reply() == null || e.run() == null || e.results().isEmpty()) {
                fail("transcript " + name + " has an incomplete exchange with " + playerSender + ": " + e);
            }
        }
        return out;
    }
}
