package dev.conductor.interop;

import dev.conductor.wire.Frames;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.V1;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.fail;

/**
 * A conductor's result port in its simplest form: accepts connections on 127.0.0.1, reads one
 * frame from each, and queues what arrived in order.
 */
final class ResultListener implements AutoCloseable {
    /** One result connection: the frame's exact body and what it says. */
    record Received(byte[] body, StepResult result) {
        int code() {
            return result.code();
        }

        String message() {
            return result.message();
        }

        @Override
        public String toString() {
            return result.code() + " " + result.message().replace("\n", "\\n");
        }
    }

    private final ServerSocket server;
    private final BlockingQueue<Object> arrivals = new LinkedBlockingQueue<>();
    private final Thread acceptor;
    private volatile boolean closed;

    ResultListener() {
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind a result port on loopback", e);
        }
        acceptor = Thread.ofPlatform().daemon().name("test-results-" + server.getLocalPort()).start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!closed) {
            try (Socket s = server.accept()) {
                s.setSoTimeout(5_000);
                byte[] body = Frames.read(s.getInputStream(), Frames.DEFAULT_LIMIT);
                if (body == null) {
                    arrivals.add("an empty result connection");
                    continue;
                }
                V1.Message m = V1.decode(body);
                if (!m.type().equals(V1.RESULT)) {
                    arrivals.add("a '" + m.type() + "' message on the result port");
                    continue;
                }
                arrivals.add(new Received(body, StepResult.fromData(m.data())));
            } catch (ProtocolException e) {
                arrivals.add("a bad frame on the result port: " + e.getMessage());
            } catch (IOException e) {
                if (!closed) {
                    arrivals.add("a broken result connection: " + e);
                }
            }
        }
    }

    /** Every result up to and including the next {@code phases complete}, within {@code limit}. */
    List<Received> untilPhaseDone(Duration limit) throws InterruptedException {
        List<Received> got = new ArrayList<>();
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            Object next = left > 0 ? arrivals.poll(left, TimeUnit.NANOSECONDS) : null;
            if (next == null) {
                fail("no 'phases complete' on result port " + port() + " within " + limit.toSeconds()
                        + " s; results so far: " + got);
            }
            if (!(next instanceof Received r)) {
                fail("while waiting for results: " + next + "; results so far: " + got);
                throw new AssertionError("unreachable");
            }
            got.add(r);
            if (r.result().phaseDone()) {
                return got;
            }
        }
    }

    /** Nothing more arrives within {@code quiet}. */
    Object nextWithin(Duration quiet) throws InterruptedException {
        return arrivals.poll(quiet.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // Done with it either way.
        }
    }
}
