package dev.conductor.wire;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * The one JSON configuration of the wire. Frames are written the way Python's
 * {@code json.dumps} writes them ({@code ", "} and {@code ": "} separators, non-ASCII escaped),
 * so that a frame we send to a reference peer looks like one the reference would send.
 */
public final class Json {
    /** Thread-safe once built; holds no run state. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            // '{...} x' is not a message: the reference refuses trailing data, and so do we.
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final ObjectWriter PYTHON_STYLE = MAPPER.writer(new PythonSeparators());

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** {@code {"version": V, "type": T, "data": {...}}}, the envelope of every protocol version. */
    public static byte[] envelope(int version, String type, com.fasterxml.jackson.databind.node.ObjectNode data) {
        com.fasterxml.jackson.databind.node.ObjectNode root = object();
        root.put("version", version);
        root.put("type", type);
        root.set("data", data);
        return bytes(root);
    }

    public static byte[] bytes(Object value) {
        try {
            return PYTHON_STYLE.writeValueAsBytes(value);
        } catch (IOException e) {
            // Only our own trees are written; they always serialise.
            throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
        }
    }

    /** Separators of Python's json.dumps defaults. */
    private static final class PythonSeparators extends MinimalPrettyPrinter {
        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }
    }
}
