package dev.conductor.conduct;

import dev.conductor.wire.FrameTooLargeException;
import dev.conductor.wire.Frames;
import dev.conductor.wire.Json;
import dev.conductor.wire.PhaseOrder;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.V1;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * The conductor's side of protocol v1 towards one player: a connection per message, as the
 * reference does it. Every call has a deadline and fails with a message naming the player.
 */
final class V1Link {
    private final String worker;
    private final String host;
    private final int port;
    private final long maxMessageSize;
    private final Duration ioDeadline;

    V1Link(String worker, String host, int port, long maxMessageSize, Duration ioDeadline) {
        this.worker = worker;
        this.host = host;
        this.port = port;
        this.maxMessageSize = maxMessageSize;
        this.ioDeadline = ioDeadline;
    }

    String describe() {
        return "player of worker '" + worker + "' at " + host + ":" + port;
    }

    /** Sends a phase and waits for the player's {@code phase received}. */
    void download(PhaseOrder order) throws LinkException {
        try (Socket s = connect()) {
            Frames.write(s.getOutputStream(), V1.encode(V1.PHASE, order.toData()));
            byte[] reply = Frames.read(s.getInputStream(), maxMessageSize);
            if (reply == null) {
                throw new LinkException(describe() + " closed the connection without answering the phase");
            }
            StepResult r = StepResult.fromData(V1.decode(reply).data());
            if (r.code() != V1.OK) {
                throw new LinkException(describe() + " refused the phase: code " + r.code() + ": " + r.message());
            }
        } catch (SocketTimeoutException e) {
            throw new LinkException(describe() + " accepted the connection but did not answer the phase within "
                    + ioDeadline.toSeconds() + " s");
        } catch (FrameTooLargeException e) {
            throw new LinkException(describe() + " answered with a frame over the size limit: " + e.getMessage());
        } catch (ProtocolException e) {
            throw new LinkException(describe() + " answered with a bad message: " + e.getMessage());
        } catch (IOException e) {
            throw new LinkException(describe() + ": " + e.getMessage());
        }
    }

    /**
     * Opens the connection a {@code run} will go over. Kept apart from {@link Armed#fire()} so
     * that all players' connections are ready before any run is written: the starts are then only
     * as far apart as a few writes.
     */
    Armed arm() throws LinkException {
        return new Armed(connect());
    }

    final class Armed implements AutoCloseable {
        private static final byte[] RUN = Frames.encode(V1.encode(V1.RUN, Json.object()));
        private final Socket socket;

        private Armed(Socket socket) {
            this.socket = socket;
        }

        void fire() throws LinkException {
            try {
                socket.getOutputStream().write(RUN);
                socket.getOutputStream().flush();
            } catch (IOException e) {
                throw new LinkException(describe() + ": sending run failed: " + e.getMessage());
            }
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Nothing left to say on a connection that is done.
            }
        }
    }

    private Socket connect() throws LinkException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) ioDeadline.toMillis());
            s.connect(new InetSocketAddress(host, port), (int) ioDeadline.toMillis());
            return s;
        } catch (ConnectException e) {
            close(s);
            throw new LinkException("cannot reach " + describe() + ": connection refused (is the player running there?)");
        } catch (SocketTimeoutException e) {
            close(s);
            throw new LinkException("cannot reach " + describe() + ": no answer to connect within "
                    + ioDeadline.toSeconds() + " s (host down or port filtered?)");
        } catch (UnknownHostException e) {
            close(s);
            throw new LinkException("cannot reach " + describe() + ": unknown host '" + host + "'");
        } catch (IOException e) {
            close(s);
            throw new LinkException("cannot reach " + describe() + ": " + e.getMessage());
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // Already failing; the first error is the one to report.
        }
    }
}
