package dev.conductor.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conductor.interop.Transcript.Exchange;
import dev.conductor.interop.Transcript.Frame;
import dev.conductor.wire.Frames;
import dev.conductor.wire.V1;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The reference player's side of a transcript, played back: for each recorded exchange it
 * accepts the phase and answers with the recorded reply bytes, accepts the run, then sends the
 * recorded result frames, byte for byte, each on a new connection to the result port the phase
 * named, at once and without retrying (as the reference player does).
 */
final class FakeReferencePlayer implements AutoCloseable {
    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final int ACCEPT_DEADLINE_MS = 30_000;
    private static final int READ_DEADLINE_MS = 10_000;

    private final String name;
    private final List<Exchange> script;
    private final boolean sendsResults;
    private final ServerSocket server;
    private final List<byte[]> received = Collections.synchronizedList(new ArrayList<>());
    private final List<byte[]> refusedOffers = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger exchangesDone = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;
    private volatile boolean closed;

    /**
     * @param sendsResults false for a player that takes phases and runs but never reports
     */
    FakeReferencePlayer(String name, List<Exchange> script, boolean sendsResults) throws IOException {
        this.name = name;
        this.script = List.copyOf(script);
        this.sendsResults = sendsResults;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        server.setSoTimeout(ACCEPT_DEADLINE_MS);
        this.thread = Thread.ofPlatform().daemon().name("fake-player-" + name).start(this::play);
    }

    int port() {
        return server.getLocalPort();
    }

    /** The v1 frame bodies the conductor sent, in the order they arrived. */
    List<byte[]> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    /** Frames of another protocol version, answered as the reference answers them. */
    List<byte[]> refusedOffers() {
        synchronized (refusedOffers) {
            return List.copyOf(refusedOffers);
        }
    }

    int exchangesDone() {
        return exchangesDone.get();
    }

    int exchangesScripted() {
        return script.size();
    }

    /** What went wrong on the player's side, if anything. */
    Throwable failure() {
        return failure.get();
    }

    private void play() {
        try {
            for (Exchange e : script) {
                byte[] phase = serveOne(e.reply().bytes());
                serveOne(null);
                if (sendsResults) {
                    JsonNode data = PLAIN.readTree(phase).path("data");
                    String host = data.path("resulthost").asText();
                    int port = data.path("resultport").asInt();
                    for (Frame r : e.results()) {
                        deliver(host, port, r);
                    }
                }
                exchangesDone.incrementAndGet();
            }
        } catch (Throwable t) {
            if (!closed) {
                failure.set(new AssertionError("fake player '" + name + "' after " + exchangesDone.get()
                        + " exchange(s): " + t, t));
            }
        }
    }

    /** Reads the next v1 frame on a connection of its own and answers it with {@code reply}, if any. */
    private byte[] serveOne(byte[] reply) throws IOException {
        while (true) {
            try (Socket s = server.accept()) {
                s.setSoTimeout(READ_DEADLINE_MS);
                byte[] body = Frames.read(s.getInputStream(), Frames.DEFAULT_LIMIT);
                if (body == null) {
                    continue;
                }
                JsonNode version = PLAIN.readTree(body).path("version");
                if (version.asInt(-1) != V1.VERSION) {
                    // A conductor offering a newer protocol: the reference's answer, then wait for v1.
                    refusedOffers.add(body);
                    s.getOutputStream().write(Frames.encode(V1.result(V1.ERROR, "Unsupported protocol version: " + version)));
                    continue;
                }
                received.add(body);
                if (reply != null) {
                    s.getOutputStream().write(reply);
                    s.getOutputStream().flush();
                }
                return body;
            }
        }
    }

    private static void deliver(String host, int port, Frame result) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 5_000);
            s.getOutputStream().write(result.bytes());
            s.getOutputStream().flush();
        } catch (SocketTimeoutException e) {
            throw new IOException("result port " + host + ":" + port + " did not accept within 5 s", e);
        } catch (IOException e) {
            throw new IOException("result port " + host + ":" + port + " refused " + result + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
