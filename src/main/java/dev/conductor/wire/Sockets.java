package dev.conductor.wire;

import java.io.IOException;
import java.net.Socket;

/** Closing a connection so that what this side sent last still arrives. */
public final class Sockets {
    private Sockets() {
    }

    /**
     * Ends what this side sends with a FIN, then closes the socket, quietly. A plain socket's
     * close sends the FIN first; one made from a channel (see {@code Dialer}, and the player's
     * server socket) does not on Linux, and a peer whose bytes were left unread here (a frame
     * too large, say) would then get a reset before our last reply. A TLS socket closes as it
     * does (its own close_notify).
     */
    public static void close(Socket s) {
        try {
            if (!s.isClosed() && !s.isOutputShutdown() && !(s instanceof javax.net.ssl.SSLSocket)) {
                s.shutdownOutput();
            }
        } catch (IOException ignored) {
            // Broken already: closing is all there is left.
        }
        try {
            s.close();
        } catch (IOException ignored) {
            // Nothing left to do with it.
        }
    }
}
