package dev.conductor.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class BackgroundDigestTest {

    private static long warmUpThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("sha256-warm-up")).count();
    }

    @Test
    void theWarmUpRunsOncePerJvmAndEndsByItself() {
        BackgroundDigest.warmUp();
        BackgroundDigest.warmUp();
        assertThat(warmUpThreads()).isLessThanOrEqualTo(1);
        await("the SHA-256 warm-up thread to end").atMost(Duration.ofSeconds(30)).until(() -> warmUpThreads() == 0);
        BackgroundDigest.warmUp();
        assertThat(warmUpThreads()).isZero();
    }

    /**
     * Arrays (the first bytes, hashed on the caller's thread and then on the digest's) followed by
     * blocks whose CRC32C the digest's thread adds: both sums come out as those of the whole
     * stream, in order.
     */
    @Test
    void blocksAddedToACrcOnTheDigestsThreadFollowTheArraysInOrder() throws Exception {
        Random random = new Random(5);
        byte[] whole = new byte[(9 << 20) + 3 * (1 << 20) + 17];
        random.nextBytes(whole);
        CRC32C crc = new CRC32C();
        List<CompletableFuture<Void>> hashed = new ArrayList<>();
        try (BackgroundDigest digest = new BackgroundDigest()) {
            int at = 0;
            int arrays = 9 << 20; // past BackgroundDigest.INLINE, so the thread takes arrays too
            while (at < arrays) {
                byte[] part = java.util.Arrays.copyOfRange(whole, at, at + (256 << 10));
                crc.update(part);
                digest.update(part, b -> {
                });
                at += part.length;
            }
            while (at < whole.length) {
                int n = Math.min(1 << 20, whole.length - at);
                ByteBuffer block = ByteBuffer.allocateDirect(n).put(whole, at, n).flip();
                CompletableFuture<Void> done = new CompletableFuture<>();
                digest.update(block, done, crc);
                hashed.add(done);
                at += n;
            }
            String sha = digest.hex();
            CRC32C expected = new CRC32C();
            expected.update(whole);
            assertThat(hashed).allSatisfy(f -> assertThat(f).isDone());
            assertThat(crc.getValue()).isEqualTo(expected.getValue());
            assertThat(sha).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(whole)));
        }
    }
}
