package dev.conductor.player;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class OutputTailTest {
    /** The last {@code cap} bytes of everything written, as the tail must keep them. */
    private static byte[] lastOf(ByteArrayOutputStream all, int cap) {
        byte[] b = all.toByteArray();
        return Arrays.copyOfRange(b, Math.max(0, b.length - cap), b.length);
    }

    @Test
    void keepsWhatWasWrittenWhileItFits() {
        OutputTail t = new OutputTail(1024);
        assertThat(t.bytes()).isEmpty();
        byte[] line = "hello\n".getBytes(StandardCharsets.UTF_8);
        t.write(line, 0, line.length);
        assertThat(t.text()).isEqualTo("hello\n");
        assertThat(t.total()).isEqualTo(6);
        assertThat(t.truncated()).isFalse();
    }

    @Test
    void writesOfEverySizeKeepTheLastCapacityBytesAndCountThemAll() {
        Random random = new Random(42);
        for (int round = 0; round < 300; round++) {
            int cap = 1 + random.nextInt(5000);
            OutputTail t = new OutputTail(cap);
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            int writes = random.nextInt(40);
            for (int w = 0; w < writes; w++) {
                // Mostly small writes, sometimes one larger than the whole tail.
                int len = random.nextInt(10) == 0 ? random.nextInt(3 * cap + 1) : random.nextInt(Math.max(1, cap / 3));
                byte[] buf = new byte[len + 20];
                random.nextBytes(buf);
                int off = random.nextInt(21);
                len = Math.min(len, buf.length - off);
                t.write(buf, off, len);
                all.write(buf, off, len);
                assertThat(t.total()).isEqualTo(all.size());
                assertThat(t.bytes()).as("round %d, write %d (cap %d)", round, w, cap).isEqualTo(lastOf(all, cap));
                assertThat(t.truncated()).isEqualTo(all.size() > cap);
            }
        }
    }

    @Test
    void aStepThatPrintsALineTakesLittleMemory() throws Exception {
        OutputTail t = new OutputTail(64 * 1024);
        byte[] line = "ok\n".getBytes(StandardCharsets.UTF_8);
        t.write(line, 0, line.length);
        var ring = OutputTail.class.getDeclaredField("ring");
        ring.setAccessible(true);
        assertThat(((byte[]) ring.get(t)).length).isLessThanOrEqualTo(256);
    }
}
