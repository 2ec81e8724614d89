package dev.conductor.wire;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FileTransferTest {
    @TempDir
    Path dir;

    private record Message(String type, ObjectNode data) {
    }

    @Test
    void aFolderGoesAcrossWithEveryFilesChecksum() throws Exception {
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("a/b"));
        byte[] big = new byte[300_000];
        new java.util.Random(7).nextBytes(big);
        Files.write(src.resolve("a/b/big.bin"), big);
        Files.writeString(src.resolve("top.txt"), "top\n");
        List<Message> wire = new ArrayList<>();
        List<FileTransfer.Entry> sent = FileTransfer.send(src, 1, 2, (t, d) -> wire.add(new Message(t, d)));
        assertThat(sent).extracting(FileTransfer.Entry::path).containsExactly("a/b/big.bin", "top.txt");
        try (var r = new FileTransfer.Receiver(dir.resolve("dst"))) {
            boolean done = false;
            for (Message m : wire) {
                done = r.accept(m.type(), m.data());
            }
            assertThat(done).isTrue();
            assertThat(r.error()).isNull();
            assertThat(r.entries()).isEqualTo(sent);
        }
        assertThat(Files.readAllBytes(dir.resolve("dst/a/b/big.bin"))).isEqualTo(big);
        assertThat(sent.getFirst().sha256()).hasSize(64);
    }

    @Test
    void withDataFramesTheBytesGoRawInFramesWithinThePeersLimit() throws Exception {
        byte[] big = new byte[700_001];
        new java.util.Random(8).nextBytes(big);
        Files.write(dir.resolve("big.bin"), big);
        java.io.ByteArrayOutputStream wire = new java.io.ByteArrayOutputStream();
        int limit = 100_000;
        FileTransfer.Sender sender = new FileTransfer.Sender() {
            @Override
            public void send(String type, ObjectNode data) throws java.io.IOException {
                wire.write(Frames.encode(V2.encode(type, data)));
            }

            @Override
            public int dataFrameLimit() {
                return limit;
            }

            @Override
            public void sendFrame(byte[] frame, int off, int len) {
                wire.write(frame, off, len);
            }
        };
        List<FileTransfer.Entry> sent = FileTransfer.send(dir.resolve("big.bin"), 4, 5, sender);
        var in = new java.io.ByteArrayInputStream(wire.toByteArray());
        int dataFrames = 0;
        try (var r = new FileTransfer.Receiver(dir.resolve("copy.bin"))) {
            boolean done = false;
            while (!done) {
                Frame f = V2.read(in, limit);
                if (f instanceof DataFrame d) {
                    dataFrames++;
                    assertThat(d.kind()).isEqualTo(DataFrame.Kind.FILE);
                    assertThat(d.phaseId()).isEqualTo(4);
                    assertThat(d.index()).isEqualTo(5);
                } else {
                    assertThat(((V2.Message) f).type()).isNotEqualTo(FileTransfer.DATA);
                }
                done = r.accept(f);
            }
            assertThat(r.error()).isNull();
            assertThat(r.entries()).isEqualTo(sent);
        }
        assertThat(dataFrames).isEqualTo((700_001 + limit - DataFrame.HEADER - 1) / (limit - DataFrame.HEADER));
        assertThat(Files.readAllBytes(dir.resolve("copy.bin"))).isEqualTo(big);
    }

    @Test
    void aPathThatWouldLeaveTheTargetIsRefused() {
        try (var r = new FileTransfer.Receiver(dir.resolve("dst"))) {
            ObjectNode begin = Json.object().put("id", 1).put("index", 0).put("path", "../../escaped");
            assertThat(r.accept(FileTransfer.BEGIN, begin)).isTrue();
            assertThat(r.error()).contains("outside");
        }
        assertThat(Files.exists(dir.resolve("escaped"))).isFalse();
        assertThat(Files.exists(dir.getParent().resolve("escaped"))).isFalse();
    }

    /**
     * "payload" sent as one file, each message changed by {@code tamper} on the way, into a
     * receiver that computes SHA-256 or not; returns the receiver's error.
     */
    private String receiveTampered(boolean sha256, java.util.function.Consumer<Message> tamper) throws Exception {
        Files.writeString(dir.resolve("f"), "payload");
        List<Message> wire = new ArrayList<>();
        FileTransfer.send(dir.resolve("f"), 1, 0, (t, d) -> wire.add(new Message(t, d)));
        try (var r = new FileTransfer.Receiver(dir.resolve("copy"), sha256)) {
            for (Message m : wire) {
                tamper.accept(m);
                if (r.accept(m.type(), m.data())) {
                    break;
                }
            }
            return r.error();
        }
    }

    private static void damage(Message m) {
        if (m.type().equals(FileTransfer.DATA)) {
            m.data().put("data", java.util.Base64.getEncoder().encodeToString("pAyload".getBytes()));
        }
    }

    /** What a peer of before crc32c sends: file_done with the SHA-256 alone. */
    private static void withoutCrc(Message m) {
        if (m.type().equals(FileTransfer.FILE_DONE)) {
            m.data().remove("crc32c");
        }
    }

    @Test
    void damagedDataIsNoticed() throws Exception {
        assertThat(receiveTampered(true, FileTransferTest::damage)).contains("arrived damaged").contains("crc32c");
        assertThat(receiveTampered(false, FileTransferTest::damage)).contains("arrived damaged").contains("crc32c");
    }

    @Test
    void fromAPeerWithoutCrc32cTheSha256IsChecked() throws Exception {
        assertThat(receiveTampered(true, m -> {
            damage(m);
            withoutCrc(m);
        })).contains("arrived damaged").contains("sha256");
        assertThat(receiveTampered(true, FileTransferTest::withoutCrc)).isNull();
    }

    @Test
    void aSideThatComputesNoSha256CannotCheckAPeerThatSendsOnlyThat() throws Exception {
        assertThat(receiveTampered(false, FileTransferTest::withoutCrc)).contains("cannot be checked").contains("only a sha256");
    }

    /**
     * The player's side of a get with a conductor that lists crc32c: the sender computes CRC32C
     * only, the receiver (the conductor) both, and its SHA-256 is the file's. Large enough for
     * the receiver to hash on its background thread and to write around the page cache.
     */
    @Test
    void aLargeFileFromASenderWithoutSha256GetsTheReceiversSha256() throws Exception {
        byte[] big = new byte[9 * 1024 * 1024 + 123];
        new java.util.Random(9).nextBytes(big);
        Files.write(dir.resolve("big.bin"), big);
        List<Message> wire = new ArrayList<>();
        List<FileTransfer.Entry> sent = FileTransfer.send(dir.resolve("big.bin"), 1, 0,
                (t, d) -> wire.add(new Message(t, d)), false);
        assertThat(sent.getFirst().sha256()).isEmpty();
        assertThat(wire).filteredOn(m -> m.type().equals(FileTransfer.FILE_DONE)).singleElement()
                .satisfies(m -> assertThat(m.data().has("sha256")).isFalse());
        try (var r = new FileTransfer.Receiver(dir.resolve("copy.bin"), true)) {
            boolean done = false;
            for (Message m : wire) {
                done = r.accept(m.type(), m.data());
            }
            assertThat(done).isTrue();
            assertThat(r.error()).isNull();
            String expected = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(big));
            assertThat(r.entries()).singleElement().satisfies(e -> {
                assertThat(e.sha256()).isEqualTo(expected);
                assertThat(e.crc32c()).isEqualTo(sent.getFirst().crc32c());
                assertThat(e.bytes()).isEqualTo(big.length);
            });
        }
        assertThat(Files.readAllBytes(dir.resolve("copy.bin"))).isEqualTo(big);
    }

    @Test
    void aMissingSourceEndsTheTransferWithTheReason() {
        List<Message> wire = new ArrayList<>();
        try {
            FileTransfer.send(dir.resolve("nope"), 1, 0, (t, d) -> wire.add(new Message(t, d)));
        } catch (java.io.IOException expected) {
            assertThat(expected.getMessage()).contains("does not exist");
        }
        assertThat(wire).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(FileTransfer.DONE);
            assertThat(m.data().path("error").asText()).contains("does not exist");
        });
    }
}
