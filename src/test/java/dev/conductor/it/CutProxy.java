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
     * Forwards one direction frame by frame, noting each v2 message before it is forwarded: the
     * answer to a frame can then never be noted before the frame itself. A frame that is not a
     * v2 message is forwarded unnoted.
     */
    private void pump(Socket from, Socket to, String direction) {
        Thread.ofPlatform().daemon().start(() -> {
            try {
                InputStream in = new java.io.BufferedInputStream(from.getInputStream(), 64 * 1024);
                OutputStream out = to.getOutputStream();
                byte[] header;
                while ((header = in.readNBytes(4)).length == 4) {
                    int length = java.nio.ByteBuffer.wrap(header).getInt();
                    if (length < 0) {
                        return; // no frame of ours
                    }
                    byte[] frame = java.util.Arrays.copyOf(header, 4 + length);
                    if (in.readNBytes(frame, 4, length) < length) {
                        return;
                    }
                    note(frame, direction);
                    forward(frame, frame.length, out);
                }
            } catch (IOException ignored) {
                // One side closed.
            }
        });
    }

    private void note(byte[] frame, String direction) {
        try {
            if (dev.conductor.wire.V2.read(new java.io.ByteArrayInputStream(frame), Long.MAX_VALUE)
                    instanceof dev.conductor.wire.V2.Message m) {
                seen.add(direction + " " + m.type() + (m.data().has("id") ? " " + m.data().path("id").asInt() : ""));
            }
        } catch (IOException | dev.conductor.wire.ProtocolException notV2) {
            // Not a v2 message: nothing to note.
        }
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
