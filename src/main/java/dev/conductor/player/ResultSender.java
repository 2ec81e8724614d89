package dev.conductor.player;

import dev.conductor.wire.Frames;
import dev.conductor.wire.StepResult;
import dev.conductor.wire.V1;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/**
 * Sends results the v1 way: one new connection to the conductor's result port per result. A
 * refused or failed send is retried for a while, because a conductor may be slow to accept, and
 * a lost result is a lost test outcome.
 */
final class ResultSender {
    private static final Logger log = LoggerFactory.getLogger(ResultSender.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration GIVE_UP_AFTER = Duration.ofSeconds(15);

    private final long maxMessageSize;

    ResultSender(long maxMessageSize) {
        this.maxMessageSize = maxMessageSize;
    }

    void send(String host, int port, StepResult result) {
        byte[] body = V1.encode(V1.RESULT, result.toData());
        if (body.length > maxMessageSize) {
            // Output tails are bounded, but a limit set very low must not lose the outcome itself.
            body = V1.encode(V1.RESULT, new StepResult(result.code(),
                    truncate(result.message(), (int) Math.max(0, maxMessageSize / 4)), java.util.Optional.empty()).toData());
        }
        byte[] frame = Frames.encode(body);
        long deadline = System.nanoTime() + GIVE_UP_AFTER.toNanos();
        long backoffMs = 50;
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(host, port), (int) CONNECT_TIMEOUT.toMillis());
                s.getOutputStream().write(frame);
                s.getOutputStream().flush();
                s.shutdownOutput();
                return;
            } catch (IOException e) {
                last = e;
                try {
                    Thread.sleep(backoffMs);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
                backoffMs = Math.min(1000, backoffMs * 2);
            }
        }
        log.error("result code {} could not be delivered to conductor {}:{} within {} s: {}", result.code(), host, port,
                GIVE_UP_AFTER.toSeconds(), last == null ? "interrupted" : last.getMessage());
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }
}
