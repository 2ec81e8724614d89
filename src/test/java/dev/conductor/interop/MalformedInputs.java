package dev.conductor.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@code malformed-input-responses.tsv}: what the reference player answers to bad input. */
public final class MalformedInputs {
    public static final String FILE = "malformed-input-responses.tsv";
    private static final String FRAME = "frame ";
    private static final ObjectMapper PLAIN = new ObjectMapper();

    private MalformedInputs() {
    }

    /**
     * One line of the file.
     *
     * @param input the input as the file words it
     * @param reply the reference's reply body as text, when it replied with a frame
     */
    public record Case(String input, String replyText) {
        /** The frame body sent, for inputs worded {@code frame <json>}. */
        public Optional<byte[]> frameBody() {
            return isFrame() ? Optional.of(input.substring(FRAME.length()).getBytes(StandardCharsets.UTF_8))
                    : Optional.empty();
        }

        public boolean isFrame() {
            return input.startsWith(FRAME + "{") || input.startsWith(FRAME + "[");
        }

        public Optional<JsonNode> reply() {
            if (!replyText.startsWith("{")) {
                return Optional.empty();
            }
            try {
                return Optional.of(PLAIN.readTree(replyText));
            } catch (IOException e) {
                throw new UncheckedIOException("reply of '" + input + "' is not JSON", e);
            }
        }

        public int replyCode() {
            return reply().orElseThrow().path("data").path("code").asInt();
        }

        public String replyMessage() {
            return reply().orElseThrow().path("data").path("message").asText();
        }

        @Override
        public String toString() {
            return input;
        }
    }

    public static List<Case> load() {
        List<Case> cases = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Transcript.reference(FILE), StandardCharsets.UTF_8)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int tab = line.indexOf('\t');
                cases.add(new Case(line.substring(0, tab), line.substring(tab + 1)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + FILE, e);
        }
        return cases;
    }
}
