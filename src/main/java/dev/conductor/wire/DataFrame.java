package dev.conductor.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * A v2 binary data frame: output of a step or bytes of a file, without base64 or JSON. The body
 * is a 12-byte header, then the raw bytes:
 *
 * <pre>
 * byte 0      0xB2, the marker (a UTF-8 continuation byte: no JSON text can start with it)
 * byte 1      kind: 1 output, 2 file data
 * byte 2      stream: 1 stdout, 2 stderr (output); 0 (file data)
 * byte 3      0, reserved
 * bytes 4-7   phase id, signed 32-bit big-endian
 * bytes 8-11  step index, signed 32-bit big-endian
 * bytes 12-   the bytes
 * </pre>
 *
 * Sent only to a peer that listed {@link #CAPABILITY} at hello; the frame's length counts
 * header and bytes and obeys the receiver's size limit like any other frame.
 *
 * @param data exactly the frame's bytes: an array of its own, or one its {@link Landing} lent
 */
public record DataFrame(Kind kind, int phaseId, int index, int stream, byte[] data) implements Frame {
    /** The capability both sides list at hello to use data frames. */
    public static final String CAPABILITY = "binary-data";
    public static final byte MARKER = (byte) 0xB2;
    /** The header inside the body. */
    public static final int HEADER = 12;
    /** Length prefix and header: the room a sender leaves before the bytes to write a frame in one piece. */
    public static final int HEADROOM = 4 + HEADER;

    public static final int STDOUT = 1;
    public static final int STDERR = 2;

    public enum Kind {
        OUTPUT(1), FILE(2);

        final int code;

        Kind(int code) {
            this.code = code;
        }

        static Kind of(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            return null;
        }
    }

    /**
     * Where a reader puts a data frame's bytes, chosen once its header is read: a receiver of
     * many frames lends arrays it uses again, so that a large transfer does not make the JVM
     * allocate and zero a fresh array per frame.
     */
    @FunctionalInterface
    public interface Landing {
        /** Frames' bytes in arrays of their own. */
        Landing OWN = (kind, phaseId, index, length) -> null;

        /** An array of exactly {@code length} bytes for the frame's bytes, or null for one of their own. */
        byte[] arrayFor(Kind kind, int phaseId, int index, int length);
    }

    public DataFrame {
        if (kind == Kind.OUTPUT ? stream != STDOUT && stream != STDERR : stream != 0) {
            throw new IllegalArgumentException("stream " + stream + " with kind " + kind);
        }
    }

    /** {@code "stdout"} or {@code "stderr"}, as JSON messages and the event log name the stream. */
    public String streamName() {
        return stream == STDERR ? "stderr" : "stdout";
    }

    /** True when a frame body is a data frame rather than JSON. */
    public static boolean isData(byte[] body) {
        return body.length > 0 && body[0] == MARKER;
    }

    /**
     * Writes length prefix and header into {@code buf[off - HEADROOM, off)}, in front of the
     * {@code len} bytes at {@code off}, so that {@code buf[off - HEADROOM, off + len)} is the whole
     * frame, ready for one write.
     *
     * @return the frame's first index, {@code off - HEADROOM}
     */
    public static int frameInPlace(byte[] buf, int off, int len, Kind kind, int phaseId, int index, int stream) {
        int at = off - HEADROOM;
        if (at < 0) {
            throw new IllegalArgumentException("no room for a frame header before offset " + off);
        }
        putInt(buf, at, HEADER + len);
        buf[at + 4] = MARKER;
        buf[at + 5] = (byte) kind.code;
        buf[at + 6] = (byte) stream;
        buf[at + 7] = 0;
        putInt(buf, at + 8, phaseId);
        putInt(buf, at + 12, index);
        return at;
    }

    /**
     * Writes length prefix and header into {@code frame[0, HEADROOM)}, in front of the
     * {@code len} bytes that follow them there.
     */
    public static void putHeader(java.nio.ByteBuffer frame, int len, Kind kind, int phaseId, int index, int stream) {
        frame.putInt(0, HEADER + len);
        frame.put(4, MARKER);
        frame.put(5, (byte) kind.code);
        frame.put(6, (byte) stream);
        frame.put(7, (byte) 0);
        frame.putInt(8, phaseId);
        frame.putInt(12, index);
    }

    /** The whole frame (length prefix included) as a new array; for tests and small messages. */
    public byte[] encode() {
        byte[] frame = new byte[HEADROOM + data.length];
        System.arraycopy(data, 0, frame, HEADROOM, data.length);
        frameInPlace(frame, HEADROOM, data.length, kind, phaseId, index, stream);
        return frame;
    }

    /** Decodes a whole body that {@link #isData} said is a data frame. */
    public static DataFrame decode(byte[] body) throws ProtocolException {
        if (body.length < HEADER) {
            throw new ProtocolException(V1.ERROR, "truncated data frame: " + body.length + " bytes, shorter than its "
                    + HEADER + "-byte header");
        }
        byte[] data = java.util.Arrays.copyOfRange(body, HEADER, body.length);
        return fromHeader(body, 0, data);
    }

    /**
     * A data frame whose header was read and whose {@code length} bytes are next in the stream:
     * whoever reads the frame decides where they go ({@link #readData}, or straight into a file).
     */
    public record Header(Kind kind, int phaseId, int index, int stream, int length) implements V2.Head {
        /** Reads the frame's bytes into the array {@code landing} lends, or one of their own. */
        public DataFrame readData(InputStream in, Landing landing) throws IOException {
            // Straight into the array: readNBytes(int) would gather 8 KiB pieces and copy them again.
            // Only a frame larger than ours ever are grows as its bytes arrive (see Frames.EAGER).
            byte[] data;
            int read;
            if (length <= Frames.EAGER) {
                byte[] lent = landing.arrayFor(kind, phaseId, index, length);
                data = lent != null && lent.length == length ? lent : new byte[length];
                read = in.readNBytes(data, 0, length);
            } else {
                data = in.readNBytes(length);
                read = data.length;
            }
            if (read < length) {
                throw new EOFException("connection closed inside a data frame (" + read + " of " + length + " bytes)");
            }
            return new DataFrame(kind, phaseId, index, stream, data);
        }
    }

    /**
     * Reads the rest of a data frame's header, whose length prefix ({@code length}) and marker
     * byte were already read.
     *
     * @throws ProtocolException a header that makes no sense (the stream cannot be read further)
     * @throws EOFException      the connection ended inside the header
     */
    static Header readHeader(InputStream in, long length) throws IOException, ProtocolException {
        if (length < HEADER) {
            throw new ProtocolException(V1.ERROR, "truncated data frame: " + length + " bytes, shorter than its "
                    + HEADER + "-byte header");
        }
        byte[] header = new byte[HEADER];
        header[0] = MARKER;
        int got = in.readNBytes(header, 1, HEADER - 1);
        if (got < HEADER - 1) {
            throw new EOFException("connection closed inside a data frame header (" + (got + 1) + " of " + HEADER + " bytes)");
        }
        Kind kind = Kind.of(header[1] & 0xff);
        checkHeader(header, 0, kind);
        return new Header(kind, getInt(header, 4), getInt(header, 8), header[2] & 0xff, (int) (length - HEADER));
    }

    private static DataFrame fromHeader(byte[] h, int at, byte[] data) throws ProtocolException {
        Kind kind = Kind.of(h[at + 1] & 0xff);
        checkHeader(h, at, kind);
        return new DataFrame(kind, getInt(h, at + 4), getInt(h, at + 8), h[at + 2] & 0xff, data);
    }

    private static void checkHeader(byte[] h, int at, Kind kind) throws ProtocolException {
        if (kind == null) {
            throw new ProtocolException(V1.ERROR, "unknown data frame kind " + (h[at + 1] & 0xff)
                    + " (known: 1 output, 2 file data)");
        }
        int stream = h[at + 2] & 0xff;
        if (kind == Kind.OUTPUT ? stream != STDOUT && stream != STDERR : stream != 0) {
            throw new ProtocolException(V1.ERROR, "data frame of kind " + kind.name().toLowerCase(java.util.Locale.ROOT)
                    + " with stream " + stream + " (output: 1 stdout, 2 stderr; file data: 0)");
        }
        if (h[at + 3] != 0) {
            throw new ProtocolException(V1.ERROR, "data frame with reserved byte " + (h[at + 3] & 0xff) + ", not 0");
        }
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static int getInt(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }
}
