package dev.conductor.wire;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * Protocol v1, as the reference Python Conductor speaks it: {@code {"version": 1, "type": T,
 * "data": {...}}}. See {@code docs/PROTOCOL.md}.
 */
public final class V1 {
    public static final int VERSION = 1;

    public static final int OK = 0;
    public static final int ERROR = 1;
    public static final int UNKNOWN_COMMAND = 2;
    public static final int PHASE_DONE = 65535;

    public static final String PHASE = "phase";
    public static final String RUN = "run";
    public static final String RESULT = "result";

    private V1() {
    }

    /** A decoded v1 message. */
    public record Message(String type, ObjectNode data) {
    }

    /**
     * Decodes a frame body, with the reference's answers for what it refuses.
     *
     * @throws ProtocolException with the code and message the reference player replies with
     */
    public static Message decode(byte[] body) throws ProtocolException {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new ProtocolException(ERROR, "Invalid message format: " + describe(e));
        } catch (IOException e) {
            throw new ProtocolException(ERROR, "Invalid message format: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw new ProtocolException(ERROR, "Invalid message format: Expecting value: line 1 column 1 (char 0)");
        }
        if (!root.isObject()) {
            throw new ProtocolException(ERROR, "Message must be a JSON object, not " + pythonTypeName(root));
        }
        JsonNode version = root.get("version");
        if (version == null) {
            throw new ProtocolException(ERROR, "Missing version field");
        }
        if (!version.isIntegralNumber() || version.asLong() != VERSION) {
            throw new ProtocolException(ERROR, "Unsupported protocol version: " + version);
        }
        JsonNode type = root.get("type");
        if (type == null || !type.isTextual()) {
            throw new ProtocolException(UNKNOWN_COMMAND, "no such command");
        }
        JsonNode data = root.get("data");
        ObjectNode dataObject = data instanceof ObjectNode o ? o : Json.object();
        return new Message(type.asText(), dataObject);
    }

    public static byte[] encode(String type, ObjectNode data) {
        return Json.envelope(VERSION, type, data);
    }

    public static byte[] result(int code, String message) {
        ObjectNode data = Json.object();
        data.put("code", code);
        data.put("message", message);
        return encode(RESULT, data);
    }

    /** A required key of a message's data, or the error the reference gives (its KeyError). */
    public static JsonNode require(ObjectNode data, String key) throws ProtocolException {
        JsonNode v = data.get(key);
        if (v == null || v.isNull()) {
            // The reference answers with Python's KeyError text, "'resulthost'"; we keep that
            // quoted name first so scripts matching it still match, and say what it means.
            throw new ProtocolException(ERROR, "'" + key + "' (missing field in data)");
        }
        return v;
    }

    /** Jackson's complaint with Python's "line L column C (char N)" position. */
    private static String describe(JsonProcessingException e) {
        String what = e.getOriginalMessage();
        int nl = what.indexOf('\n');
        if (nl >= 0) {
            what = what.substring(0, nl);
        }
        JsonLocation at = e.getLocation();
        if (at == null) {
            return what;
        }
        long charOffset = Math.max(0, at.getCharOffset() >= 0 ? at.getCharOffset() : at.getByteOffset());
        return what + ": line " + at.getLineNr() + " column " + at.getColumnNr() + " (char " + charOffset + ")";
    }

    private static String pythonTypeName(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "list";
            case STRING -> "str";
            case NUMBER -> node.isIntegralNumber() ? "int" : "float";
            case BOOLEAN -> "bool";
            case NULL -> "NoneType";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
