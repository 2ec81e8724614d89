package dev.conductor.wire;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Files and folders over a v2 connection, streamed in chunks (no size limit but the disk).
 * Messages, all with the phase {@code id} and step {@code index}: {@code file_begin {path}}, the
 * bytes (binary {@link DataFrame}s of {@link #FRAME_CHUNK} when both sides agreed on them at
 * hello, else {@code file {data}} with base64 in chunks of {@link #JSON_CHUNK}),
 * {@code file_done {bytes, crc32c, sha256?}} per file, then {@code transfer_done {files, bytes}}
 * or {@code transfer_done {error}}. Paths are relative, never absolute, never with {@code ..}:
 * nothing can be written outside the folder it is meant for.
 *
 * <p>Checks: both sides compute every file's CRC32C (a few hundredths of a second per GiB) and
 * the receiver compares it with the sender's, so a damaged copy is always caught. The SHA-256
 * that the event log records (some two thirds of a second of CPU per GiB) is computed once, on
 * the conductor's side: over what it reads for a {@code put}, over what it receives for a
 * {@code get}. A peer that did not list {@link #CRC_CAPABILITY} at hello sends and checks
 * SHA-256 only, as before; the side facing it then computes SHA-256 too.
 *
 * <p>Over a socket with a channel (not TLS), data frames are sent from native memory, and a
 * receiver that reads them itself can put the bytes of a large file's middle straight into the
 * blocks written around the page cache ({@link Receiver#fill}), each block passing the SHA-256
 * thread on its way to the disk: no copy through the heap on either side. What goes over the
 * wire is the same.
 */
public final class FileTransfer {
    public static final String BEGIN = "file_begin";
    public static final String DATA = "file";
    public static final String FILE_DONE = "file_done";
    public static final String DONE = "transfer_done";
    /** The capability a side lists at hello when it sends and checks CRC32C in {@code file_done}. */
    public static final String CRC_CAPABILITY = "crc32c";
    /** Bytes per base64 {@code file} message (a peer without data frames). */
    static final int JSON_CHUNK = 64 * 1024;
    /** Bytes per data frame: large enough that per-frame costs vanish, small enough to bound queues. */
    public static final int FRAME_CHUNK = 256 * 1024;

    private FileTransfer() {
    }

    /** How a side sends a message. */
    public interface Sender {
        void send(String type, ObjectNode data) throws IOException;

        /** The peer's frame size limit when it takes data frames; 0 when it does not (base64 in JSON then). */
        default int dataFrameLimit() {
            return 0;
        }

        /** Writes {@code frame[off, off + len)}, a whole frame with its length prefix, in one piece. */
        default void sendFrame(byte[] frame, int off, int len) throws IOException {
            throw new IOException("this peer takes no data frames");
        }

        /** Whether {@link #sendFrame(ByteBuffer)} writes native memory to the socket as it is. */
        default boolean writesBuffers() {
            return false;
        }

        /** Writes the frame between {@code frame}'s position and limit, in one piece. */
        default void sendFrame(ByteBuffer frame) throws IOException {
            byte[] b = new byte[frame.remaining()];
            frame.get(b);
            sendFrame(b, 0, b.length);
        }

        /**
         * A sender over one connection: messages through {@code messages}, data frames (when the
         * peer takes them) written whole to {@code out}, under its lock as every other write is;
         * {@code channel}, the socket's own when it has one (else null), writes data frames from
         * native memory without the copy a socket's stream makes of an array.
         */
        static Sender over(java.io.OutputStream out, java.nio.channels.WritableByteChannel channel, Sender messages,
                           boolean dataFrames, long peerLimit) {
            int limit = dataFrames ? (int) Math.min(Integer.MAX_VALUE, peerLimit) : 0;
            return new Sender() {
                @Override
                public boolean writesBuffers() {
                    return channel != null;
                }

                @Override
                public void sendFrame(ByteBuffer frame) throws IOException {
                    if (channel == null) {
                        Sender.super.sendFrame(frame);
                        return;
                    }
                    synchronized (out) {
                        while (frame.hasRemaining()) {
                            channel.write(frame);
                        }
                    }
                }

                @Override
                public void send(String type, ObjectNode data) throws IOException {
                    messages.send(type, data);
                }

                @Override
                public int dataFrameLimit() {
                    return limit;
                }

                @Override
                public void sendFrame(byte[] frame, int off, int len) throws IOException {
                    synchronized (out) {
                        out.write(frame, off, len);
                        out.flush();
                    }
                }
            };
        }
    }


    /**
     * One file that went across.
     *
     * @param sha256 its SHA-256 in hex, or empty where this side did not compute it
     * @param crc32c its CRC32C, 8 hex digits
     */
    public record Entry(String path, long bytes, String sha256, String crc32c) {
    }

    /**
     * Sends {@code source} (a file, or a folder with everything below it; symbolic links are not
     * followed) and returns what was sent.
     */
    public static List<Entry> send(Path source, int id, int index, Sender out) throws IOException {
        return send(source, id, index, out, true);
    }

    /**
     * As {@link #send(Path, int, int, Sender)}; {@code sha256} says whether to compute each
     * file's SHA-256 as well as its CRC32C (see the class comment for which side does).
     */
    public static List<Entry> send(Path source, int id, int index, Sender out, boolean sha256) throws IOException {
        List<Entry> entries = new ArrayList<>();
        try {
            if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException(source + " does not exist");
            }
            if (Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
                List<Path> files;
                try (Stream<Path> walk = Files.walk(source)) {
                    files = walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
                }
                for (Path f : files) {
                    entries.add(sendFile(f, source.relativize(f).toString(), id, index, out, sha256));
                }
            } else {
                entries.add(sendFile(source, "", id, index, out, sha256));
            }
        } catch (IOException e) {
            ObjectNode d = ids(id, index);
            d.put("error", e.getMessage());
            out.send(DONE, d);
            throw e;
        }
        ObjectNode d = ids(id, index);
        d.put("files", entries.size());
        d.put("bytes", entries.stream().mapToLong(Entry::bytes).sum());
        out.send(DONE, d);
        return entries;
    }

    private static Entry sendFile(Path file, String relative, int id, int index, Sender out, boolean sha256)
            throws IOException {
        MessageDigest sha = sha256 ? sha256() : null;
        CRC32C crc = new CRC32C();
        ObjectNode begin = ids(id, index);
        begin.put("path", relative);
        out.send(BEGIN, begin);
        long total = 0;
        int limit = out.dataFrameLimit();
        boolean frames = limit > DataFrame.HEADER;
        // Data frames: read each chunk just past the room for its header, so it goes out in one write.
        int chunk = frames ? Math.min(FRAME_CHUNK, limit - DataFrame.HEADER) : JSON_CHUNK;
        if (frames && out.writesBuffers()) {
            total = sendFrames(file, id, index, out, chunk, crc, sha);
        } else {
            int at = frames ? DataFrame.HEADROOM : 0;
            byte[] buf = new byte[at + chunk];
            try (InputStream in = Files.newInputStream(file)) {
                int n;
                while ((n = in.readNBytes(buf, at, chunk)) > 0) {
                    if (sha != null) {
                        sha.update(buf, at, n);
                    }
                    crc.update(buf, at, n);
                    total += n;
                    if (frames) {
                        int from = DataFrame.frameInPlace(buf, at, n, DataFrame.Kind.FILE, id, index, 0);
                        out.sendFrame(buf, from, n + DataFrame.HEADROOM);
                    } else {
                        ObjectNode d = ids(id, index);
                        d.put("data", Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf, n)));
                        out.send(DATA, d);
                    }
                }
            }
        }
        String digest = sha == null ? "" : HexFormat.of().formatHex(sha.digest());
        String check = crcHex(crc);
        ObjectNode done = ids(id, index);
        done.put("bytes", total);
        done.put("crc32c", check);
        if (sha != null) {
            done.put("sha256", digest);
        }
        out.send(FILE_DONE, done);
        return new Entry(relative, total, digest, check);
    }

    /**
     * A file's bytes as data frames, each read from the file into native memory behind the room
     * for its header and written from there: through arrays, the JDK copied every byte once more
     * on the way in and once more on the way out.
     */
    private static long sendFrames(Path file, int id, int index, Sender out, int chunk, CRC32C crc, MessageDigest sha)
            throws IOException {
        long total = 0;
        try (FileChannel in = FileChannel.open(file)) {
            // No larger than the file: a folder of many small files must not take 256 KiB of native memory each.
            int size = (int) Math.max(1, Math.min(chunk, in.size()));
            ByteBuffer frame = ByteBuffer.allocateDirect(DataFrame.HEADROOM + size);
            while (true) {
                frame.clear().position(DataFrame.HEADROOM);
                while (frame.hasRemaining() && in.read(frame) >= 0) {
                    // until the chunk is full or the file ends
                }
                int n = frame.position() - DataFrame.HEADROOM;
                if (n == 0) {
                    return total;
                }
                ByteBuffer bytes = frame.duplicate().position(DataFrame.HEADROOM).limit(DataFrame.HEADROOM + n);
                if (sha != null) {
                    sha.update(bytes.duplicate());
                }
                crc.update(bytes);
                total += n;
                DataFrame.putHeader(frame, n, DataFrame.Kind.FILE, id, index, 0);
                out.sendFrame(frame.flip());
            }
        }
    }

    private static ObjectNode ids(int id, int index) {
        ObjectNode d = Json.object();
        d.put("id", id);
        d.put("index", index);
        return d;
    }

    private static String crcHex(CRC32C crc) {
        return String.format(java.util.Locale.ROOT, "%08x", crc.getValue());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /**
     * Writes what a {@link #send} sends into {@code target} (a file for a single file, a folder
     * for a folder), refusing any path that would leave it, and checks every file against the
     * sender's CRC32C (or, from a peer without it, SHA-256).
     */
    public static final class Receiver implements AutoCloseable {
        /** For arrays nobody takes back. */
        private static final Consumer<byte[]> KEEP = b -> {
        };
        private final Path target;
        private final List<Entry> entries = new ArrayList<>();
        private OutputStream current;
        private String currentPath;
        private final boolean sha256;
        private BackgroundDigest sha;
        private CRC32C crc;
        /** What each block of the current file filled in place goes through ({@link #fill}). */
        private BulkFileWriter.BlockStage blockStage;
        private long bytes;
        private String error;
        private boolean done;

        /** A receiver that computes SHA-256 as well as CRC32C. */
        public Receiver(Path target) {
            this(target, true);
        }

        /** @param sha256 whether to compute each file's SHA-256 (see the class comment for which side does) */
        public Receiver(Path target, boolean sha256) {
            this.target = target.toAbsolutePath().normalize();
            this.sha256 = sha256;
        }

        /** Takes one frame: a file message or a data frame. */
        public boolean accept(Frame f) {
            return accept(f, KEEP);
        }

        /**
         * Takes one frame; a data frame's array is handed to {@code release} once its bytes are
         * written and hashed (maybe on another thread), or at once if they are not wanted.
         * Returns true when the transfer is over (see {@link #error()}).
         */
        public boolean accept(Frame f, Consumer<byte[]> release) {
            return switch (f) {
                case V2.Message m -> accept(m.type(), m.data());
                case DataFrame d -> acceptData(d.data(), release);
            };
        }

        /** Takes the bytes of one data frame; returns true when the transfer is over (it failed). */
        public boolean acceptData(byte[] b) {
            return acceptData(b, KEEP);
        }

        private boolean acceptData(byte[] b, Consumer<byte[]> release) {
            if (done) {
                release.accept(b);
                return true;
            }
            try {
                write(b, release);
            } catch (IOException e) {
                fail(e.getMessage());
                return true;
            }
            return false;
        }

        /**
         * Whether a data frame's bytes can be read straight from the connection into the file
         * ({@link #fill}): in the middle of a large file, once its blocks go around the page cache.
         */
        public boolean fillsInPlace() {
            return !done && current instanceof BulkFileWriter w && w.fillsInPlace();
        }

        /**
         * Reads a data frame's {@code n} bytes from {@code in} straight into the file's blocks,
         * which pass the SHA-256 thread as they go to the disk (no array, no copy through the
         * heap). Returns true when the transfer is over (it failed: see {@link #error()}).
         *
         * @throws IOException reading the connection failed (the file's own failures end the transfer instead)
         */
        public boolean fill(FrameInput in, int n) throws IOException {
            BulkFileWriter w = (BulkFileWriter) current;
            int left = n;
            boolean reading = false;
            try {
                while (left > 0) {
                    java.nio.ByteBuffer room = w.room(left);
                    int k = room.remaining();
                    reading = true;
                    in.readFully(room);
                    reading = false;
                    if (sha == null) {
                        crc.update(room.flip()); // else on the digest's thread: see blockStage
                    }
                    bytes += k;
                    left -= k;
                    w.commit(k, blockStage);
                }
                return false;
            } catch (IOException | RuntimeException e) {
                if (reading) {
                    throw e;
                }
                fail(e.getMessage());
                in.skipNBytes(left); // the frame's bytes are read to its end, wherever they were to go
                return true;
            }
        }

        private static final BulkFileWriter.BlockStage NO_STAGE = (bytes, hashed) -> hashed.complete(null);

        private void write(byte[] b, Consumer<byte[]> release) throws IOException {
            if (current == null) {
                release.accept(b);
                throw new IOException("data before file_begin");
            }
            current.write(b);
            crc.update(b);
            bytes += b.length;
            if (sha == null) {
                release.accept(b);
            } else {
                try {
                    sha.update(b, release);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while hashing '" + currentPath + "'");
                }
            }
        }

        private void fail(String why) {
            error = why;
            done = true;
            close();
        }

        /** Takes one message; returns true when the transfer is over (see {@link #error()}). */
        public boolean accept(String type, ObjectNode data) {
            if (done) {
                return true;
            }
            try {
                switch (type) {
                    case BEGIN -> begin(data.path("path").asText(""));
                    case DATA -> write(Base64.getDecoder().decode(data.path("data").asText()), KEEP);
                    case FILE_DONE -> finishFile(data.path("crc32c").asText(""), data.path("sha256").asText(""),
                            data.path("bytes").asLong());
                    case DONE -> {
                        done = true;
                        if (data.hasNonNull("error")) {
                            error = "the sender failed: " + data.get("error").asText();
                        }
                        close();
                        return true;
                    }
                    default -> {
                    }
                }
            } catch (IOException | IllegalArgumentException e) {
                fail(e.getMessage());
                return true;
            }
            return false;
        }

        private void begin(String relative) throws IOException {
            closeCurrent();
            Path dest = relative.isEmpty() ? target : target.resolve(relative).normalize();
            if (!dest.startsWith(target) || Path.of(relative).isAbsolute()) {
                throw new IOException("refused '" + relative + "': it would be written outside " + target);
            }
            Files.createDirectories(dest.getParent());
            current = BulkFileWriter.create(dest);
            currentPath = relative;
            closeDigest();
            sha = sha256 ? new BackgroundDigest() : null;
            crc = new CRC32C();
            // With a digest, the CRC32C of the blocks filled in place is added on its thread, in
            // the blocks' order (see BackgroundDigest): the reading thread is the busier end.
            BackgroundDigest digest = sha;
            CRC32C blocksCrc = crc;
            blockStage = digest == null ? NO_STAGE : (block, hashed) -> digest.update(block, hashed, blocksCrc);
            bytes = 0;
        }

        private void finishFile(String expectedCrc, String expectedSha, long expectedBytes) throws IOException {
            if (current == null) {
                throw new IOException("file_done before file_begin");
            }
            closeCurrent();
            String got;
            try {
                got = sha == null ? "" : sha.hex();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while hashing '" + currentPath + "'");
            }
            String gotCrc = crcHex(crc);
            String where = "'" + currentPath + "' arrived damaged: " + bytes + " bytes";
            if (bytes != expectedBytes) {
                throw new IOException(where + " where the sender had " + expectedBytes);
            }
            if (!expectedCrc.isEmpty() && !gotCrc.equalsIgnoreCase(expectedCrc)) {
                throw new IOException(where + ", crc32c " + gotCrc + " where the sender had " + expectedCrc);
            }
            if (!expectedSha.isEmpty() && sha != null && !got.equalsIgnoreCase(expectedSha)) {
                throw new IOException(where + ", sha256 " + got + " where the sender had " + expectedSha);
            }
            if (expectedCrc.isEmpty() && (expectedSha.isEmpty() || sha == null)) {
                throw new IOException("'" + currentPath + "' cannot be checked: the sender gave "
                        + (expectedSha.isEmpty() ? "no checksum" : "only a sha256, which this side did not compute"));
            }
            entries.add(new Entry(currentPath, bytes, got, gotCrc));
        }

        private void closeCurrent() throws IOException {
            if (current != null) {
                current.close();
                current = null;
            }
        }

        private void closeDigest() {
            if (sha != null) {
                sha.close();
                sha = null;
            }
        }

        public List<Entry> entries() {
            return List.copyOf(entries);
        }

        /** Why the transfer failed, or null. */
        public String error() {
            return error;
        }

        @Override
        public void close() {
            closeDigest();
            try {
                closeCurrent();
            } catch (IOException ignored) {
                // Already failing.
            }
        }
    }

    /** Entries as JSON, for step results and the event log. */
    public static ArrayNode json(List<Entry> entries) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (Entry e : entries) {
            ObjectNode o = a.addObject().put("path", e.path()).put("bytes", e.bytes());
            if (!e.sha256().isEmpty()) {
                o.put("sha256", e.sha256());
            }
            o.put("crc32c", e.crc32c());
        }
        return a;
    }
}
