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
