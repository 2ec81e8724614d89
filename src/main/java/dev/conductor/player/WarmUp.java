package dev.conductor.player;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conductor.wire.Auth;
import dev.conductor.wire.Frames;
import dev.conductor.wire.Json;
import dev.conductor.wire.ProtocolException;
import dev.conductor.wire.V2;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/**
 * A fresh player's first phase costs it close to a CPU-second (loading and interpreting the
 * whole wire and step path), and when many fresh players meet their first conductor at once on
 * a small machine, they miss its I/O deadline (docs/PERFORMANCE.md). So before it says it is
 * listening, the player serves itself: one v2 session over its own command port, a few phases
 * of one {@code true} step each. The first real conductor then finds a player that has done it
 * all before.
 */
final class WarmUp {
    /**
     * Enough phases for the player's start path to be compiled before the first conductor comes
     * (with the launchers' early compilation, see {@code LaunchFlags}): with three, a player was
     * still interpreting it, and slow to start a phase, a hundred phases later.
     */
    private static final int PHASES = 30;
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private WarmUp() {
    }

    /**
     * @param clock the player's own, which its sessions read the start instants with
     * @return null when it went through, else what went wrong (the player works anyway: it only
     *         was not warmed up)
     */
    static String run(Player player, Player.Options options, dev.conductor.clock.PreciseClock clock) {
        if (options.tls().isPresent()) {
            return "skipped: the command port requires TLS";
        }
        InetSocketAddress at = player.address();
        InetAddress host = at.getAddress().isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : at.getAddress();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, at.getPort()), (int) DEADLINE.toMillis());
            s.setSoTimeout((int) DEADLINE.toMillis());
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            String nonce = Auth.nonce();
            ObjectNode hello = Json.object();
            hello.putArray("versions").add(V2.VERSION);
            hello.put("conductor", "warm-up");
            hello.put("worker", options.name());
            hello.put("nonce", nonce);
            Frames.write(s.getOutputStream(), V2.encode(V2.HELLO, hello));
            V2.Message welcome = expect(in, options, V2.WELCOME);
            if (options.token().isPresent()) {
                ObjectNode auth = Json.object();
                auth.put("proof", Auth.proof(options.token().get(), "conductor", nonce,
                        welcome.data().path("nonce").asText("")));
                Frames.write(s.getOutputStream(), V2.encode(V2.AUTH, auth));
                expect(in, options, V2.AUTH_OK);
            }
            for (int id = 1; id <= PHASES; id++) {
                ObjectNode probe = Json.object();
                probe.put("t0", 0);
                Frames.write(s.getOutputStream(), V2.encode(V2.PROBE, probe));
                expect(in, options, V2.PROBE_REPLY);
                ObjectNode phase = Json.object();
                phase.put("id", id);
                phase.put("trial", id);
                phase.put("phase", "run");
                phase.put("worker", options.name());
                ObjectNode step = phase.putArray("steps").addObject();
                step.put("command", "true");
                step.put("spawn", false);
                step.put("timeout", 5);
                Frames.write(s.getOutputStream(), V2.encode(V2.PHASE, phase));
                expect(in, options, V2.PHASE_OK);
                ObjectNode run = Json.object();
                run.put("id", id);
                // An instant a moment ahead, as a conductor gives: the start goes through the gate.
                run.put("start_at", clock.micros() + 2_000);
                Frames.write(s.getOutputStream(), V2.encode(V2.RUN, run));
                expect(in, options, V2.PHASE_DONE);
            }
            Frames.write(s.getOutputStream(), V2.encode(V2.BYE));
            return null;
        } catch (IOException | ProtocolException e) {
            return e.getMessage();
        }
    }

    /** Reads up to the first message of {@code type}, passing over step events and heartbeats. */
    private static V2.Message expect(InputStream in, Player.Options options, String type)
            throws IOException, ProtocolException {
        while (true) {
            byte[] body = Frames.read(in, options.maxMessageSize());
            if (body == null) {
                throw new IOException("the player closed its warm-up session before '" + type + "'");
            }
            V2.Message m = V2.decode(body);
            if (type.equals(m.type())) {
                return m;
            }
            if (V2.ERROR.equals(m.type())) {
                throw new IOException("the player refused its warm-up session: " + m.data().path("message").asText());
            }
        }
    }
}
