package dev.conductor.interop;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;

/**
 * One connection to a player's command port, as a conductor (or anyone else) opens it. Every
 * read has a deadline; what the player sent back is read up to the point where it closes.
 */
final class CommandConnection implements AutoCloseable {
    private final Socket socket;

    CommandConnection(InetSocketAddress player, Duration deadline) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.setSoTimeout((int) deadline.toMillis());
        socket.connect(player, (int) deadline.toMillis());
    }

    CommandConnection send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        return this;
    }

    /** Says we have nothing more to send, as a peer closing its half would. */
    CommandConnection endOfInput() throws IOException {
        socket.shutdownOutput();
        return this;
    }

    /**
     * Everything the player sends until it closes the connection.
     *
     * @throws SocketTimeoutException when it neither sends nor closes within the deadline
     */
    byte[] untilClosed() throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) >= 0) {
            got.write(buf, 0, n);
        }
        return got.toByteArray();
    }

    /** The body of the one frame the player replied with; the whole reply must be that frame. */
    byte[] replyBody() throws IOException {
        byte[] all = untilClosed();
        if (all.length < 4) {
            throw new IOException("expected a reply frame, got " + all.length + " bytes before the player closed");
        }
        long length = ((all[0] & 0xffL) << 24) | ((all[1] & 0xffL) << 16) | ((all[2] & 0xffL) << 8) | (all[3] & 0xffL);
        if (length != all.length - 4) {
            throw new IOException("reply header says " + length + " bytes, the player sent " + (all.length - 4)
                    + " before closing");
        }
        return Arrays.copyOfRange(all, 4, all.length);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
