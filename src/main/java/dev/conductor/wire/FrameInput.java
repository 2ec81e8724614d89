package dev.conductor.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * A connection's input, buffered for its many small frames, from which a data frame's bytes can
 * also be read straight into native memory ({@link #readFully(ByteBuffer)}): what the buffer
 * holds first, then the rest from the socket's channel. A socket's stream reads into a native
 * buffer of the JDK's and copies that into the array; going through an array, a gigabyte that
 * ends up in native memory (a block written around the page cache) was copied twice for nothing.
 *
 * <p>Reads from the stream honour the socket's timeout; reads from the channel do not, so a
 * caller that uses {@link #readFully(ByteBuffer)} must watch for silence otherwise
 * ({@link #channelReadSince()}).
 */
public final class FrameInput extends InputStream {
    private final InputStream in;
    private final ReadableByteChannel channel;
    private final byte[] buf;
    private int pos;
    private int count;
    private volatile long channelReadSince;

    /**
     * @param channel the socket's channel, or null when it has none (TLS, a socket made without
     *                one): then bytes always go through arrays
     */
    public FrameInput(InputStream in, ReadableByteChannel channel, int size) {
        this.in = in;
        this.channel = channel;
        this.buf = new byte[size];
    }

    /** Whether {@link #readFully(ByteBuffer)} reads from the socket's channel. */
    public boolean hasChannel() {
        return channel != null;
    }

    /** When the read from the channel under way began ({@link System#nanoTime()}), or 0 when none is. */
    public long channelReadSince() {
        return channelReadSince;
    }

    @Override
    public int read() throws IOException {
        if (pos >= count && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        if (pos >= count) {
            if (len >= buf.length) {
                return in.read(b, off, len); // as large as the buffer: no point going through it
            }
            if (!fill()) {
                return -1;
            }
        }
        int n = Math.min(len, count - pos);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public int available() throws IOException {
        return count - pos + in.available();
    }

    private boolean fill() throws IOException {
        pos = 0;
        count = 0;
        int n = in.read(buf, 0, buf.length);
        if (n <= 0) {
            return false;
        }
        count = n;
        return true;
    }

    /**
     * Reads exactly {@code dst.remaining()} bytes into {@code dst}: those buffered, then the
     * rest from the channel (or through the buffer, without one).
     *
     * @throws EOFException the connection ended first
     */
    public void readFully(ByteBuffer dst) throws IOException {
        int buffered = Math.min(count - pos, dst.remaining());
        dst.put(buf, pos, buffered);
        pos += buffered;
        if (channel == null) {
            while (dst.hasRemaining()) {
                if (pos >= count && !fill()) {
                    throw new EOFException("connection closed inside a data frame");
                }
                int n = Math.min(count - pos, dst.remaining());
                dst.put(buf, pos, n);
                pos += n;
            }
            return;
        }
        channelReadSince = System.nanoTime();
        try {
            while (dst.hasRemaining()) {
                if (channel.read(dst) < 0) {
                    throw new EOFException("connection closed inside a data frame");
                }
            }
        } finally {
            channelReadSince = 0;
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
