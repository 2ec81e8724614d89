package dev.conductor.wire;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads and writes around the page cache ({@code O_DIRECT}), for bulk data: what
 * {@link BulkFileWriter} and the player's spill file share. Such I/O needs buffers, positions
 * and lengths aligned to the file system's block size; not every file system takes it (an
 * open or the first write may be refused), so callers keep a way through the page cache.
 */
public final class DirectIo {
    private DirectIo() {
    }

    /** The alignment {@code O_DIRECT} wants on {@code file}'s file system: its block size, at least 512. */
    public static int alignment(Path file) throws IOException {
        return (int) Math.max(512, Files.getFileStore(file).getBlockSize());
    }

    /** Opens {@code file} with {@code options} and {@code O_DIRECT}, or returns null when that is refused. */
    public static FileChannel open(Path file, OpenOption... options) throws IOException {
        OpenOption[] direct = Arrays.copyOf(options, options.length + 1);
        direct[options.length] = com.sun.nio.file.ExtendedOpenOption.DIRECT;
        try {
            return FileChannel.open(file, direct);
        } catch (UnsupportedOperationException e) {
            return null; // no O_DIRECT in this JDK or on this platform
        } catch (IOException e) {
            // EINVAL from a file system without O_DIRECT; a real problem with the file shows again
            // when the caller opens it without.
            return null;
        }
    }

    /** A direct buffer of {@code size} bytes whose start is aligned to {@code align}, its limit at {@code size}. */
    public static ByteBuffer block(int size, int align) {
        ByteBuffer b = ByteBuffer.allocateDirect(size + align).alignedSlice(align);
        b.limit(size);
        return b;
    }
}
