package dev.conductor.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * Protocol v2: one persistent connection per player, same framing as v1, messages
 * {@code {"version": 2, "type": T, "data": {...}}}. See {@code docs/PROTOCOL.md}.
 */
public final class V2 {
    public static final int VERSION = 2;

    // conductor -> player
    public static final String HELLO = "hello";
    public static final String AUTH = "auth";
    public static final String PROBE = "probe";
    public static final String PHASE = "phase";
    public static final String RUN = "run";
    public static final String ABORT = "abort";
    public static final String BYE = "bye";
    public static final String BARRIER_RELEASE = "barrier_release";
    /** A phase sent ahead ({@link #AHEAD_CAPABILITY}) that will not be run after all. */
    public static final String FORGET = "forget";
    // player -> conductor
    public static final String WELCOME = "welcome";
    public static final String AUTH_OK = "auth_ok";
    public static final String PROBE_REPLY = "probe_reply";
    public static final String PHASE_OK = "phase_ok";
    public static final String STEP_STARTED = "step_started";
    public static final String OUTPUT = "output";
    public static final String STEP_FINISHED = "step_finished";
    public static final String SPAWN_EXITED = "spawn_exited";
    public static final String PHASE_DONE = "phase_done";
    public static final String BARRIER_ARRIVE = "barrier_arrive";
    /** The player asks for the file of a 'put' step. */
    public static final String PULL = "pull";
    // both ways
    public static final String HEARTBEAT = "heartbeat";
    public static final String ERROR = "error";

    /**
     * In a player's welcome: it takes the next phase while one is running, to be started by a
     * later {@link #RUN}, and understands {@link #FORGET}.
     */
    public static final String AHEAD_CAPABILITY = "phase_ahead";

    private V2() {
    }

    /** What a frame begins with: a whole message, or a data frame's header with its bytes still to read. */
    public sealed interface Head permits Message, DataFrame.Header {
    }

    public record Message(String type, ObjectNode data) implements Frame, Head {
        @Override
        public int phaseId() {
            return data.path("id").asInt(-1);
        }
    }

    /**
     * Reads one frame: a JSON message, or a {@link DataFrame} whose bytes are read straight into
     * an array of their own (no copy of the body).
     *
     * @return the frame, or {@code null} when the stream ended cleanly before a header began
     * @throws ProtocolException a body that is neither a v2 message nor a well-formed data frame
     *                           (the stream is then out of step: end the connection)
     */
    public static Frame read(java.io.InputStream in, long limit) throws IOException, ProtocolException {
        return read(in, limit, DataFrame.Landing.OWN);
    }

    /** As {@link #read(java.io.InputStream, long)}, a data frame's bytes read into the array {@code landing} lends. */
    public static Frame read(java.io.InputStream in, long limit, DataFrame.Landing landing) throws IOException, ProtocolException {
        return switch (readHead(in, limit)) {
            case null -> null;
            case Message m -> m;
            case DataFrame.Header h -> h.readData(in, landing);
        };
    }

    /**
     * Reads a frame up to a data frame's bytes: a whole message, or a data frame's header (its
     * bytes are then next in the stream and must be read before anything else), or null when
     * the stream ended cleanly before a frame began.
     */
    public static Head readHead(java.io.InputStream in, long limit) throws IOException, ProtocolException {
        return switch (readRaw(in, limit)) {
            case null -> null;
            case Raw.Data d -> d.header();
            case Raw.Json j -> decode(j.body());
        };
    }

    /**
     * One frame as it came, a JSON message not decoded yet: a reader that must stay quick (see
     * the player's session) decodes only the few kinds it handles itself, telling them by
     * {@link Raw.Json#type()}, and hands the others on.
     */
    public sealed interface Raw permits Raw.Data, Raw.Json {
        /** A data frame's header: its bytes are next in the stream, to be read ({@link DataFrame.Header#readData}) before anything else. */
        record Data(DataFrame.Header header) implements Raw {
        }

        record Json(byte[] body) implements Raw {
            /** The message's type, read without decoding the rest; null when there is none to read. */
            public String type() {
                return typeOf(body);
            }
        }
    }

    /** As {@link #readHead}, without decoding a JSON message; null when the stream ended cleanly before a frame began. */
    public static Raw readRaw(java.io.InputStream in, long limit) throws IOException, ProtocolException {
        long length = Frames.readLength(in, limit);
        if (length < 0) {
            return null;
        }
        if (length == 0) {
            return new Raw.Json(new byte[0]);
        }
        int first = in.read();
        if (first < 0) {
            throw new java.io.EOFException("connection closed inside a frame body (0 of " + length + " bytes)");
        }
        if ((byte) first == DataFrame.MARKER) {
            return new Raw.Data(DataFrame.readHeader(in, length));
        }
        return new Raw.Json(Frames.readBody(in, (int) length, (byte) first));
    }

    /** The top-level "type" of a message, read up to it and no further; null when it is not there or not a string. */
    static String typeOf(byte[] body) {
        try (com.fasterxml.jackson.core.JsonParser p = Json.MAPPER.getFactory().createParser(body)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = p.currentName();
                com.fasterxml.jackson.core.JsonToken value = p.nextToken();
                if ("type".equals(name)) {
                    return value == com.fasterxml.jackson.core.JsonToken.VALUE_STRING ? p.getText() : null;
                }
                p.skipChildren();
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    public static byte[] encode(String type, ObjectNode data) {
        return Json.envelope(VERSION, type, data);
    }

    public static byte[] encode(String type) {
        return encode(type, Json.object());
    }

    /** The protocol version a frame claims, or -1 when it is no JSON object with an integer version. */
    public static int versionOf(byte[] body) {
        try {
            JsonNode root = Json.MAPPER.readTree(body);
            JsonNode v = root == null ? null : root.get("version");
            return v != null && v.isIntegralNumber() ? v.asInt() : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    public static Message decode(byte[] body) throws ProtocolException {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw new ProtocolException(V1.ERROR, "not JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new ProtocolException(V1.ERROR, "a message must be a JSON object");
        }
        JsonNode version = root.get("version");
        if (version == null || !version.isIntegralNumber() || version.asInt() != VERSION) {
            throw new ProtocolException(V1.ERROR, "expected a version 2 message, got version " + version);
        }
        JsonNode type = root.get("type");
        if (type == null || !type.isTextual()) {
            throw new ProtocolException(V1.ERROR, "a message needs a string 'type'");
        }
        JsonNode data = root.get("data");
        return new Message(type.asText(), data instanceof ObjectNode o ? o : Json.object());
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
