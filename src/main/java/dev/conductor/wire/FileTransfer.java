package dev.conductor.wire;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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

/**
 * Files and folders over a v2 connection, streamed in chunks (no size limit but the disk), each
 * file's SHA-256 computed on both sides and compared. Messages, all with the phase {@code id}
 * and step {@code index}: {@code file_begin {path}}, the bytes (binary {@link DataFrame}s of
 * {@link #FRAME_CHUNK} when both sides agreed on them at hello, else {@code file {data}} with
 * base64 in chunks of {@link #JSON_CHUNK}),
 * {@code file_done {bytes, sha256}} per file, then {@code transfer_done {files, bytes}} or
 * {@code transfer_done {error}}. Paths are relative, never absolute, never with {@code ..}:
 * nothing can be written outside the folder it is meant for.
 */
public final class FileTransfer {
    public static final String BEGIN = "file_begin";
    public static final String DATA = "file";
    public static final String FILE_DONE = "file_done";
    public static final String DONE = "transfer_done";
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

        /**
         * A sender over one connection: messages through {@code messages}, data frames (when the
         * peer takes them) written whole to {@code out}, under its lock as every other write is.
         */
        static Sender over(java.io.OutputStream out, Sender messages, boolean dataFrames, long peerLimit) {
            int limit = dataFrames ? (int) Math.min(Integer.MAX_VALUE, peerLimit) : 0;
            return new Sender() {
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


    /** One file that went across. */
    public record Entry(String path, long bytes, String sha256) {
    }

    /**
     * Sends {@code source} (a file, or a folder with everything below it; symbolic links are not
     * followed) and returns what was sent.
     */
    public static List<Entry> send(Path source, int id, int index, Sender out) throws IOException {
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
                    entries.add(sendFile(f, source.relativize(f).toString(), id, index, out));
                }
            } else {
                entries.add(sendFile(source, "", id, index, out));
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

    private static Entry sendFile(Path file, String relative, int id, int index, Sender out) throws IOException {
        MessageDigest sha = sha256();
        ObjectNode begin = ids(id, index);
        begin.put("path", relative);
        out.send(BEGIN, begin);
        long total = 0;
        int limit = out.dataFrameLimit();
        boolean frames = limit > DataFrame.HEADER;
        // Data frames: read each chunk just past the room for its header, so it goes out in one write.
        int chunk = frames ? Math.min(FRAME_CHUNK, limit - DataFrame.HEADER) : JSON_CHUNK;
        int at = frames ? DataFrame.HEADROOM : 0;
        byte[] buf = new byte[at + chunk];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.readNBytes(buf, at, chunk)) > 0) {
                sha.update(buf, at, n);
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
        String digest = HexFormat.of().formatHex(sha.digest());
        ObjectNode done = ids(id, index);
        done.put("bytes", total);
        done.put("sha256", digest);
        out.send(FILE_DONE, done);
        return new Entry(relative, total, digest);
    }

    private static ObjectNode ids(int id, int index) {
        ObjectNode d = Json.object();
        d.put("id", id);
        d.put("index", index);
        return d;
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
     * for a folder), refusing any path that would leave it, and checks every file's SHA-256.
     */
    public static final class Receiver implements AutoCloseable {
        private final Path target;
        private final List<Entry> entries = new ArrayList<>();
        private OutputStream current;
        private String currentPath;
        private MessageDigest sha;
        private long bytes;
        private String error;
        private boolean done;

        public Receiver(Path target) {
            this.target = target.toAbsolutePath().normalize();
        }

        /** Takes one frame: a file message or a data frame. */
        public boolean accept(Frame f) {
            return switch (f) {
                case V2.Message m -> accept(m.type(), m.data());
                case DataFrame d -> acceptData(d.data());
            };
        }

        /** Takes the bytes of one data frame; returns true when the transfer is over (it failed). */
        public boolean acceptData(byte[] b) {
            if (done) {
                return true;
            }
            try {
                write(b);
            } catch (IOException e) {
                fail(e.getMessage());
                return true;
            }
            return false;
        }

        private void write(byte[] b) throws IOException {
            if (current == null) {
                throw new IOException("data before file_begin");
            }
            current.write(b);
            sha.update(b);
            bytes += b.length;
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
                    case DATA -> write(Base64.getDecoder().decode(data.path("data").asText()));
                    case FILE_DONE -> {
                        finishFile(data.path("sha256").asText(), data.path("bytes").asLong());
                    }
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
            current = Files.newOutputStream(dest);
            currentPath = relative;
            sha = sha256();
            bytes = 0;
        }

        private void finishFile(String expected, long expectedBytes) throws IOException {
            closeCurrent();
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equals(expected) || bytes != expectedBytes) {
                throw new IOException("'" + currentPath + "' arrived damaged: " + bytes + " bytes, sha256 " + got
                        + " where the sender had " + expectedBytes + " bytes, sha256 " + expected);
            }
            entries.add(new Entry(currentPath, bytes, got));
        }

        private void closeCurrent() throws IOException {
            if (current != null) {
                current.close();
                current = null;
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
            a.addObject().put("path", e.path()).put("bytes", e.bytes()).put("sha256", e.sha256());
        }
        return a;
    }
}
