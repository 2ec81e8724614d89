package dev.conductor.player;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class SpillFileTest {
    @TempDir
    Path dir;

    @Test
    void whatIsAppendedReadsBackFromAnywhereOnDiskInFlightOrInTheTailAndLeavesNoFile() throws Exception {
        byte[] data = new byte[3 * SpillFile.BLOCK + 12_345];
        new Random(11).nextBytes(data);
        try (SpillFile f = SpillFile.in(dir)) {
            assertThat(Files.list(dir)).isEmpty(); // unnamed from the start
            for (int at = 0; at < data.length; at += 100_003) {
                f.append(data, at, Math.min(100_003, data.length - at));
            }
            assertThat(f.end()).isEqualTo(data.length);
            byte[] back = new byte[data.length];
            int at = 0;
            while (at < data.length) {
                at += f.read(at, back, at, Math.min(77_777, data.length - at));
            }
            assertThat(back).isEqualTo(data);
            // And again from the middle of a block, after the writes had time to land.
            Thread.sleep(200);
            byte[] piece = new byte[1000];
            int n = f.read(SpillFile.BLOCK + 5, piece, 0, piece.length);
            assertThat(n).isEqualTo(1000);
            assertThat(piece).isEqualTo(java.util.Arrays.copyOfRange(data, SpillFile.BLOCK + 5, SpillFile.BLOCK + 1005));
            f.reset();
            assertThat(f.end()).isZero();
            f.append(data, 0, 10);
            byte[] ten = new byte[10];
            assertThat(f.read(0, ten, 0, 10)).isEqualTo(10);
            assertThat(ten).isEqualTo(java.util.Arrays.copyOf(data, 10));
        }
    }
}
