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

    @Test
    void damagedDataIsNoticed() throws Exception {
        Files.writeString(dir.resolve("f"), "payload");
        List<Message> wire = new ArrayList<>();
        FileTransfer.send(dir.resolve("f"), 1, 0, (t, d) -> wire.add(new Message(t, d)));
        try (var r = new FileTransfer.Receiver(dir.resolve("copy"))) {
            for (Message m : wire) {
                if (m.type().equals(FileTransfer.DATA)) {
                    m.data().put("data", java.util.Base64.getEncoder().encodeToString("pAyload".getBytes()));
                }
                if (r.accept(m.type(), m.data())) {
                    break;
                }
            }
            assertThat(r.error()).contains("arrived damaged").contains("sha256");
        }
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
