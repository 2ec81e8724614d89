package dev.conductor.conduct;

import dev.conductor.wire.Frames;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.V1;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A worker's result port: v1 players open one connection per result. Connections are read one
 * after another, in the order they were accepted, because that is the order the player sent its
 * results in; each read has a deadline so a stalled peer delays results, never stops them.
 */
final class ResultPort implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ResultPort.class);

    /** A result, or a note that something arrived on the port that was not one. */
    sealed interface Incoming {
        record Result(StepResult result, String from) implements Incoming {
        }

        record Garbage(String what, String from) implements Incoming {
        }
    }

    private final String worker;
    private final ServerSocket server;
    private final long maxMessageSize;
    private final Duration readDeadline;
    private final BlockingQueue<Incoming> queue = new LinkedBlockingQueue<>();
    private final Thread acceptor;
    private volatile boolean closed;

    ResultPort(String worker, String bindHost, int port, long maxMessageSize, Duration readDeadline) throws IOException {
        this.worker = worker;
        this.maxMessageSize = maxMessageSize;
        this.readDeadline = readDeadline;
        ServerSocket s = new ServerSocket();
        try {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(bindHost, port), 256);
        } catch (IOException e) {
            s.close();
            throw new IOException("cannot listen for results of worker '" + worker + "' on " + bindHost + ":" + port
                    + ": " + e.getMessage() + " (check 'conductor' and 'resultsport' in its [Coordinator])", e);
        }
        this.server = s;
        this.acceptor = Thread.ofPlatform().daemon().name("results-" + worker).start(this::acceptLoop);
    }

    BlockingQueue<Incoming> queue() {
        return queue;
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try (Socket s = server.accept()) {
                String from = s.getRemoteSocketAddress().toString();
                s.setSoTimeout((int) readDeadline.toMillis());
                try {
                    byte[] body = Frames.read(s.getInputStream(), maxMessageSize);
                    if (body == null) {
                        continue;
                    }
                    V1.Message m = V1.decode(body);
                    if (!V1.RESULT.equals(m.type())) {
                        queue.add(new Incoming.Garbage("a '" + m.type() + "' message instead of a result", from));
                        continue;
                    }
                    queue.add(new Incoming.Result(StepResult.fromData(m.data()), from));
                } catch (ProtocolException e) {
                    queue.add(new Incoming.Garbage("a bad result frame: " + e.getMessage(), from));
                } catch (IOException e) {
                    queue.add(new Incoming.Garbage("a broken result connection: " + e.getMessage(), from));
                }
            } catch (IOException e) {
                if (!closed) {
                    log.warn("result port of worker '{}': {}", worker, e.getMessage());
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // Closing is all that is left to do.
        }
    }
}
