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

    /**
     * Forwards one direction frame by frame, noting each frame before it is forwarded: the
     * answer to a frame can then never be noted before the frame itself. Bytes that are not v2
     * frames (v1, TLS) are forwarded as they come, unnoted.
     */
    private void pump(Socket from, Socket to, String direction) {
        Thread.ofPlatform().daemon().start(() -> {
            try {
                var in = new java.io.BufferedInputStream(from.getInputStream(), 64 * 1024);
                OutputStream out = to.getOutputStream();
                var taken = new java.io.ByteArrayOutputStream();
                InputStream tapped = new java.io.FilterInputStream(in) {
                    @Override
                    public int read() throws IOException {
                        int b = super.read();
                        if (b >= 0) {
                            taken.write(b);
                        }
                        return b;
                    }

                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        int n = super.read(b, off, len);
                        if (n > 0) {
                            taken.write(b, off, n);
                        }
                        return n;
                    }
                };
                try {
                    while (true) {
                        taken.reset();
                        var frame = dev.conductor.wire.V2.read(tapped, Long.MAX_VALUE);
                        if (frame == null) {
                            return;
                        }
                        if (frame instanceof dev.conductor.wire.V2.Message m) {
                            seen.add(direction + " " + m.type()
                                    + (m.data().has("id") ? " " + m.data().path("id").asInt() : ""));
                        }
                        forward(taken.toByteArray(), taken.size(), out);
                    }
                } catch (dev.conductor.wire.ProtocolException notV2) {
                    forward(taken.toByteArray(), taken.size(), out);
                    byte[] buf = new byte[64 * 1024];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        forward(buf, n, out);
                    }
                }
            } catch (IOException ignored) {
                // One side closed.
            }
        });
    }

    private void forward(byte[] bytes, int n, OutputStream out) throws IOException {
        if (!cut) { // after a cut the bytes are swallowed: the wire is gone, the sockets are not
            out.write(bytes, 0, n);
            out.flush();
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
