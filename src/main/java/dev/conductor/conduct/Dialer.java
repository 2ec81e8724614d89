package dev.conductor.conduct;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;

/** Opens the conductor's connections to players, with a deadline and an error that says what to check. */
final class Dialer {
    private Dialer() {
    }

    static Socket connect(String who, String host, int port, Duration deadline) throws LinkException {
        // With a channel behind it, so that bulk data can be read from the socket into native
        // memory without going through an array (see FrameInput); its streams work as a plain socket's.
        Socket s;
        try {
            s = java.nio.channels.SocketChannel.open().socket();
        } catch (IOException e) {
            throw new LinkException("cannot reach " + who + ": " + e.getMessage());
        }
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), (int) deadline.toMillis());
            return s;
        } catch (ConnectException e) {
            closeQuietly(s);
            throw new LinkException("cannot reach " + who + ": connection refused (is the player running there?)");
        } catch (SocketTimeoutException e) {
            closeQuietly(s);
            throw new LinkException("cannot reach " + who + ": no answer to connect within "
                    + deadline.toSeconds() + " s (host down or port filtered?)");
        } catch (UnknownHostException e) {
            closeQuietly(s);
            throw new LinkException("cannot reach " + who + ": unknown host '" + host + "'");
        } catch (IOException | IllegalArgumentException e) {
            closeQuietly(s);
            throw new LinkException("cannot reach " + who + ": " + e.getMessage());
        }
    }

    static Socket secure(Socket plain, String who, String host, int port, javax.net.ssl.SSLContext context,
                         Duration deadline) throws LinkException {
        try {
            javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) context.getSocketFactory()
                    .createSocket(plain, host, port, true);
            tls.setSoTimeout((int) deadline.toMillis());
            tls.startHandshake();
            return tls;
        } catch (IOException e) {
            closeQuietly(plain);
            throw new LinkException("TLS with " + who + " failed: " + e.getMessage()
                    + " (does the player run with --tls-cert, --tls-key and --tls-ca of the same CA?)");
        }
    }

    static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // Already failing; the first error is the one to report.
        }
    }
}
