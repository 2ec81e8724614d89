package dev.conductor.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The framing shared by every protocol version: a 4-byte unsigned big-endian length, then that
 * many bytes of UTF-8 JSON.
 */
public final class Frames {
    /** The reference's default limit: 10 MiB. */
    public static final long DEFAULT_LIMIT = 10L * 1024 * 1024;

    private Frames() {
    }

    /**
     * Reads one frame's length header.
     *
     * @return the body's length, or -1 when the stream ended cleanly before a header began
     * @throws FrameTooLargeException when the header announces more than {@code limit} bytes
     * @throws EOFException           when the stream ends inside the header
     */
    static long readLength(InputStream in, long limit) throws IOException {
        byte[] header = new byte[4];
        int got = in.readNBytes(header, 0, 4);
        if (got == 0) {
            return -1;
        }
        if (got < 4) {
            throw new EOFException("connection closed inside a frame header (" + got + " of 4 bytes)");
        }
        long length = ((header[0] & 0xffL) << 24) | ((header[1] & 0xffL) << 16)
                | ((header[2] & 0xffL) << 8) | (header[3] & 0xffL);
        // A Java array holds a little under 2 GiB, whatever limit was configured.
        if (length > Math.min(limit, Integer.MAX_VALUE - 8)) {
            throw new FrameTooLargeException(length, Math.min(limit, Integer.MAX_VALUE - 8));
        }
        return length;
    }

    /**
     * Up to this size a body's array is allocated whole before its bytes arrive; a larger one
     * grows as they do, so that a header alone (a peer announcing 10 MiB and sending nothing)
     * costs no memory.
     */
    static final int EAGER = 1 << 20;

    /**
     * Reads one frame's body.
     *
     * @return the body, or {@code null} when the stream ended cleanly before a header began
     * @throws FrameTooLargeException when the header announces more than {@code limit} bytes
     * @throws EOFException           when the stream ends inside a header or body
     */
    public static byte[] read(InputStream in, long limit) throws IOException {
        long length = readLength(in, limit);
        if (length < 0) {
            return null;
        }
        return readBody(in, (int) length, null);
    }

    /**
     * Reads a body of {@code length} bytes whose first byte, when {@code first} is not null,
     * was already read.
     */
    static byte[] readBody(InputStream in, int length, Byte first) throws IOException {
        int from = first == null ? 0 : 1;
        byte[] body;
        int got;
        if (length <= EAGER) {
            body = new byte[length];
            got = from + in.readNBytes(body, from, length - from);
        } else {
            byte[] rest = in.readNBytes(length - from);
            got = from + rest.length;
            body = from == 0 ? rest : new byte[got];
            if (from == 1) {
                System.arraycopy(rest, 0, body, 1, rest.length);
            }
        }
        if (got < length) {
            throw new EOFException("connection closed inside a frame body (" + got + " of " + length + " bytes)");
        }
        if (first != null) {
            body[0] = first;
        }
        return body;
    }

    /** Header and body as one array, so that one write puts the frame on the wire. */
    public static byte[] encode(byte[] body) {
        byte[] frame = new byte[4 + body.length];
        int n = body.length;
        frame[0] = (byte) (n >>> 24);
        frame[1] = (byte) (n >>> 16);
        frame[2] = (byte) (n >>> 8);
        frame[3] = (byte) n;
        System.arraycopy(body, 0, frame, 4, n);
        return frame;
    }

    public static void write(OutputStream out, byte[] body) throws IOException {
        out.write(encode(body));
        out.flush();
    }
}
