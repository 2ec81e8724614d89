package dev.conductor.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on loopback that can be cut like a network: after {@link #cut()} it forwards
 * nothing more either way but keeps every connection open, so neither side sees a FIN or a
 * reset, only silence. It also notes, in order, the type and phase id of every v2 message that
 * passes ({@link #seen}), so that a test can see what was said and when.
 */
final class CutProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean cut;
    private final List<String> seen = new CopyOnWriteArrayList<>();

    CutProxy(int listenPort, int targetPort) throws IOException {
        this.server = new ServerSocket(listenPort, 50, InetAddress.getLoopbackAddress());
        this.target = targetPort;
        Thread.ofPlatform().daemon().name("cut-proxy").start(this::accept);
    }

    private void accept() {
        try {
            while (true) {
                Socket in = server.accept();
                Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(in);
                sockets.add(out);
                pump(in, out, "conductor>player");
                pump(out, in, "player>conductor");
            }
        } catch (IOException closed) {
            // close() was called.
        }
    }

    private void pump(Socket from, Socket to, String direction) {
        java.io.PipedInputStream tapIn = new java.io.PipedInputStream(1 << 20);
        java.io.PipedOutputStream tap;
        try {
            tap = new java.io.PipedOutputStream(tapIn);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Thread.ofPlatform().daemon().start(() -> note(tapIn, direction));
        Thread.ofPlatform().daemon().start(() -> {
            byte[] buf = new byte[64 * 1024];
            try (tap) {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (cut) {
                        continue; // swallowed: the wire is gone, the sockets are not
                    }
                    tap.write(buf, 0, n);
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // One side closed.
            }
        });
    }

    /** Reads the frames of one direction as they pass: "conductor>player phase 3". */
    private void note(InputStream in, String direction) {
        try {
            while (true) {
                var frame = dev.conductor.wire.V2.read(in, Long.MAX_VALUE);
                if (frame == null) {
                    return;
                }
                if (frame instanceof dev.conductor.wire.V2.Message m) {
                    seen.add(direction + " " + m.type() + (m.data().has("id") ? " " + m.data().path("id").asInt() : ""));
                }
            }
        } catch (IOException | dev.conductor.wire.ProtocolException e) {
            // The connection ended (or was not v2): nothing more to note.
        }
    }

    /** What passed so far, in order: direction, message type and phase id (where it has one). */
    List<String> seen() {
        return List.copyOf(seen);
    }

    void cut() {
        cut = true;
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
