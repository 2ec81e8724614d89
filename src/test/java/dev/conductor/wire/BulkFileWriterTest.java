package dev.conductor.wire;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BulkFileWriterTest {
    @TempDir
    Path dir;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code data} in pieces of {@code piece} bytes; returns whether the writer went around the cache. */
    private static boolean writeInPieces(Path file, byte[] data, int piece) throws IOException {
        boolean wentDirect = false;
        try (BulkFileWriter w = BulkFileWriter.create(file)) {
            for (int at = 0; at < data.length; at += piece) {
                w.write(data, at, Math.min(piece, data.length - at));
                wentDirect |= w.direct();
            }
        }
        return wentDirect;
    }

    /** Whether a file in {@code folder} opens with O_DIRECT (asked as {@link DirectIo} asks); for FileTransferTest too. */
    static boolean directIoWorksIn(Path folder) {
        Path probe = folder.resolve(".direct-probe");
        try (FileChannel ch = DirectIo.open(probe, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            return ch != null;
        } catch (IOException e) {
            return false;
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // The temporary folder goes anyway.
            }
        }
    }

    @Test
    void aSmallFileGoesThroughThePageCacheAndIsExact() throws Exception {
        byte[] data = random(100_000, 1);
        Path f = dir.resolve("small.bin");
        assertThat(writeInPieces(f, data, 4096)).isFalse();
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
    }

    @Test
    void aLargeFileGoesAroundThePageCacheInBlocksAndItsTailIsExact() throws Exception {
        Assumptions.assumeTrue(directIoWorksIn(dir), "the file system of " + dir + " refuses O_DIRECT: nothing to test here");
        // Not a multiple of any block size, in pieces that straddle every boundary.
        byte[] data = random(BulkFileWriter.BUFFERED + 2 * BulkFileWriter.BLOCK + 4095, 2);
        Path f = dir.resolve("large.bin");
        assertThat(writeInPieces(f, data, 100_003)).isTrue();
        assertThat(Files.size(f)).isEqualTo(data.length);
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
    }

    @Test
    void aFileThatIsWholeBlocksEndsWithoutATail() throws Exception {
        byte[] data = random(BulkFileWriter.BUFFERED + BulkFileWriter.BLOCK, 3);
        Path f = dir.resolve("whole.bin");
        writeInPieces(f, data, BulkFileWriter.BLOCK);
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
    }

    @Test
    void onTmpfsWhichRefusesODirectItFallsBackToThePageCache() throws Exception {
        Path shm = Path.of("/dev/shm");
        Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm (tmpfs) here");
        Assumptions.assumeFalse(directIoWorksIn(shm), "/dev/shm takes O_DIRECT here: no fallback to see");
        Path folder = Files.createTempDirectory(shm, "bulk-writer-test-");
        try {
            byte[] data = random(BulkFileWriter.BUFFERED + BulkFileWriter.BLOCK + 777, 4);
            Path f = folder.resolve("f.bin");
            assertThat(writeInPieces(f, data, 65_536)).isFalse();
            assertThat(Files.readAllBytes(f)).isEqualTo(data);
        } finally {
            try (var files = Files.list(folder)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(folder);
        }
    }

    @Test
    void flushMakesABlockBeingFilledReadableAndTheBlockLaterOverwritesItExactly() throws Exception {
        Assumptions.assumeTrue(directIoWorksIn(dir), "the file system of " + dir + " refuses O_DIRECT: nothing to test here");
        byte[] data = random(BulkFileWriter.BUFFERED + BulkFileWriter.BLOCK + 5000, 7);
        Path f = dir.resolve("live.bin");
        try (BulkFileWriter w = BulkFileWriter.create(f)) {
            int first = BulkFileWriter.BUFFERED + 1000; // into the first block
            w.write(data, 0, first);
            assertThat(w.direct()).isTrue();
            w.flush();
            assertThat(Files.readAllBytes(f)).isEqualTo(java.util.Arrays.copyOf(data, first));
            w.write(data, first, data.length - first);
            w.flush();
            assertThat(Files.readAllBytes(f)).isEqualTo(data);
        }
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
    }

    @Test
    void anExistingFileIsReplacedAndAClosedWriterRefusesMore() throws Exception {
        Path f = dir.resolve("again.bin");
        Files.write(f, random(50_000, 5));
        byte[] data = random(10, 6);
        BulkFileWriter w = BulkFileWriter.create(f);
        w.write(data);
        w.close();
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
        assertThatThrownBy(() -> w.write(data)).isInstanceOf(IOException.class).hasMessageContaining("closed");
        w.close(); // a second close does nothing
    }

    /**
     * Bytes read in place: once blocks go around the cache on the writer's thread, the caller
     * puts the file's next bytes into the block's room; each block (and the tail) passes the
     * stage, on another thread and in order, before the disk. The file is exact, the stage saw
     * every byte from the first in place on, and array writes after that are refused.
     */
    @Test
    void bytesReadInPlacePassTheStageInOrderAndTheFileIsExact() throws Exception {
        Assumptions.assumeTrue(directIoWorksIn(dir), "the file system of " + dir + " refuses O_DIRECT: nothing to test here");
        byte[] data = random(BulkFileWriter.BUFFERED + 4 * BulkFileWriter.BLOCK + 4099, 8);
        int fromArrays = BulkFileWriter.BUFFERED + BulkFileWriter.BLOCK;
        java.io.ByteArrayOutputStream staged = new java.io.ByteArrayOutputStream();
        var stageThread = java.util.concurrent.Executors.newSingleThreadExecutor();
        BulkFileWriter.BlockStage stage = (bytes, done) -> stageThread.execute(() -> {
            byte[] b = new byte[bytes.remaining()];
            bytes.get(b);
            staged.writeBytes(b);
            done.complete(null);
        });
        Path f = dir.resolve("in-place.bin");
        try (BulkFileWriter w = BulkFileWriter.create(f)) {
            w.write(data, 0, fromArrays);
            assertThat(w.fillsInPlace()).isTrue();
            for (int at = fromArrays; at < data.length; ) {
                java.nio.ByteBuffer room = w.room(Math.min(100_003, data.length - at));
                int n = room.remaining();
                room.put(data, at, n);
                w.commit(n, stage);
                at += n;
            }
            assertThatThrownBy(() -> w.write(data, 0, 1)).isInstanceOf(IllegalStateException.class);
        } finally {
            stageThread.shutdown();
        }
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
        assertThat(staged.toByteArray()).isEqualTo(java.util.Arrays.copyOfRange(data, fromArrays, data.length));
    }

    /**
     * The stage and the disk only read a block, and take it at once: a stage that holds each block
     * until its bytes are in the file (which it reads) ends; one after the other, it would wait
     * for a write that waits for it.
     */
    @Test
    void aBlockGoesToTheDiskWhileItIsInTheStage() throws Exception {
        Assumptions.assumeTrue(directIoWorksIn(dir), "the file system of " + dir + " refuses O_DIRECT: nothing to test here");
        byte[] data = random(BulkFileWriter.BUFFERED + 4 * BulkFileWriter.BLOCK, 10);
        int fromArrays = BulkFileWriter.BUFFERED + BulkFileWriter.BLOCK;
        Path f = dir.resolve("at-once.bin");
        var stageThread = java.util.concurrent.Executors.newSingleThreadExecutor();
        long[] blockEnd = {fromArrays};
        java.util.List<String> late = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        BulkFileWriter.BlockStage waitsForTheDisk = (bytes, done) -> stageThread.execute(() -> {
            blockEnd[0] += bytes.remaining();
            long until = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
            try {
                while (Files.size(f) < blockEnd[0] && System.nanoTime() < until) {
                    Thread.sleep(1);
                }
                if (Files.size(f) < blockEnd[0]) {
                    late.add("the block ending at " + blockEnd[0] + " was not in the file after 10 s");
                }
                done.complete(null);
            } catch (IOException | InterruptedException e) {
                done.completeExceptionally(e);
            }
        });
        try (BulkFileWriter w = BulkFileWriter.create(f)) {
            w.write(data, 0, fromArrays);
            fillInPlace(w, data, fromArrays, waitsForTheDisk);
        } finally {
            stageThread.shutdown();
        }
        assertThat(late).isEmpty();
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
    }

    /** Puts {@code data} from {@code from} on into the writer's rooms, as large as they come, each through {@code stage}. */
    private static void fillInPlace(BulkFileWriter w, byte[] data, int from, BulkFileWriter.BlockStage stage) throws IOException {
        for (int at = from; at < data.length; ) {
            java.nio.ByteBuffer room = w.room(data.length - at);
            int n = room.remaining();
            room.put(data, at, n);
            w.commit(n, stage);
            at += n;
        }
    }

    @Test
    void aStageThatFailsFailsTheFile() throws Exception {
        Assumptions.assumeTrue(directIoWorksIn(dir), "the file system of " + dir + " refuses O_DIRECT: nothing to test here");
        byte[] data = random(BulkFileWriter.BUFFERED + 3 * BulkFileWriter.BLOCK, 9);
        int fromArrays = BulkFileWriter.BUFFERED + BulkFileWriter.BLOCK;
        BulkFileWriter.BlockStage failing = (bytes, done) -> done.completeExceptionally(new IOException("stage refused"));
        BulkFileWriter w = BulkFileWriter.create(dir.resolve("failed.bin"));
        w.write(data, 0, fromArrays);
        assertThatThrownBy(() -> {
            fillInPlace(w, data, fromArrays, failing);
            w.close();
        }).isInstanceOf(IOException.class).hasMessageContaining("stage refused");
        w.close();
    }
}
