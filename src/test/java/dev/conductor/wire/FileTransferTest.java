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

    /**
     * A get as the conductor and the player make it over real sockets on 127.0.0.1 with channels:
     * the sender writes its frames from native memory, the receiver reads the bytes of the
     * file's middle straight into its blocks ({@link FileTransfer.Receiver#fill}), as V2Link's
     * reader does. {@code damageFrame} (when at least 0) has one byte of that data frame flipped
     * on the way. Returns the receiver.
     */
    private FileTransfer.Receiver getOverLoopback(byte[] content, int damageFrame, int[] inPlace) throws Exception {
        Files.write(dir.resolve("big.bin"), content);
        FileTransfer.Receiver r = getOverLoopback(dir.resolve("big.bin"), dir.resolve("copy.bin"), damageFrame, inPlace);
        assertThat(r.entries().stream().mapToLong(FileTransfer.Entry::bytes).sum())
                .isEqualTo(r.error() == null ? content.length : 0);
        return r;
    }

    private FileTransfer.Receiver getOverLoopback(Path source, Path target, int damageFrame, int[] inPlace) throws Exception {
        try (var server = java.nio.channels.ServerSocketChannel.open()
                .bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0))) {
            var senderDone = new java.util.concurrent.CompletableFuture<List<FileTransfer.Entry>>();
            Thread.ofPlatform().daemon().start(() -> {
                try (var ch = java.nio.channels.SocketChannel.open(server.getLocalAddress())) {
                    var out = ch.socket().getOutputStream();
                    FileTransfer.Sender real = FileTransfer.Sender.over(out, ch, (t, d) -> Frames.write(out, V2.encode(t, d)),
                            true, Frames.DEFAULT_LIMIT);
                    int[] frames = {0};
                    FileTransfer.Sender sender = new FileTransfer.Sender() {
                        @Override
                        public void send(String type, ObjectNode data) throws java.io.IOException {
                            real.send(type, data);
                        }

                        @Override
                        public int dataFrameLimit() {
                            return real.dataFrameLimit();
                        }

                        @Override
                        public boolean writesBuffers() {
                            return true;
                        }

                        @Override
                        public void sendFrame(java.nio.ByteBuffer frame) throws java.io.IOException {
                            if (frames[0]++ == damageFrame) {
                                int at = frame.position() + DataFrame.HEADROOM + 1000;
                                frame.put(at, (byte) ~frame.get(at));
                            }
                            real.sendFrame(frame);
                        }
                    };
                    senderDone.complete(FileTransfer.send(source, 3, 0, sender, false));
                } catch (Exception e) {
                    senderDone.completeExceptionally(e);
                }
            });
            try (var ch = server.accept()) {
                ch.socket().setSoTimeout(30_000);
                var in = new FrameInput(ch.socket().getInputStream(), ch, 64 * 1024);
                var r = new FileTransfer.Receiver(target, true);
                boolean over = false;
                while (!over) {
                    V2.Head head = V2.readHead(in, Frames.DEFAULT_LIMIT);
                    if (head instanceof DataFrame.Header h && r.fillsInPlace()) {
                        inPlace[0]++;
                        over = r.fill(in, h.length());
                    } else {
                        over = r.accept(switch (head) {
                            case V2.Message m -> m;
                            case DataFrame.Header h -> h.readData(in, DataFrame.Landing.OWN);
                        });
                    }
                }
                r.close();
                senderDone.get(30, java.util.concurrent.TimeUnit.SECONDS);
                return r;
            }
        }
    }

    @Test
    void aLargeGetOverLoopbackSocketsIsReadStraightIntoTheFileAndArrivesExact() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(BulkFileWriterTest.directIoWorksIn(dir), "no O_DIRECT in " + dir + ": no blocks to fill");
        byte[] big = new byte[(24 << 20) + 12_345];
        new java.util.Random(10).nextBytes(big);
        int[] inPlace = {0};
        FileTransfer.Receiver r = getOverLoopback(big, -1, inPlace);
        assertThat(r.error()).isNull();
        String expected = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(big));
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(big);
        assertThat(r.entries()).singleElement().satisfies(e -> {
            assertThat(e.sha256()).isEqualTo(expected);
            assertThat(e.bytes()).isEqualTo(big.length);
            // The CRC32C of the blocks read in place is added on the digest's thread, after the reader's of the arrays.
            assertThat(e.crc32c()).isEqualTo(String.format("%08x", crc.getValue()));
        });
        // The first 8 MiB go through arrays (the page cache's part, then the first block); the rest in place.
        assertThat(inPlace[0]).isEqualTo((big.length - (8 << 20) + FileTransfer.FRAME_CHUNK - 1) / FileTransfer.FRAME_CHUNK);
        assertThat(Files.readAllBytes(dir.resolve("copy.bin"))).isEqualTo(big);
    }

    @Test
    void aFolderOfLargeFilesIsReadStraightIntoEachFileInTurn() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(BulkFileWriterTest.directIoWorksIn(dir), "no O_DIRECT in " + dir + ": no blocks to fill");
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("sub"));
        byte[] a = new byte[(13 << 20) + 1];
        byte[] b = new byte[(11 << 20) + 77];
        new java.util.Random(12).nextBytes(a);
        new java.util.Random(13).nextBytes(b);
        Files.write(src.resolve("a.bin"), a);
        Files.write(src.resolve("sub/b.bin"), b);
        Files.writeString(src.resolve("small.txt"), "small\n");
        int[] inPlace = {0};
        FileTransfer.Receiver r = getOverLoopback(dir.resolve("src"), dir.resolve("dst"), -1, inPlace);
        assertThat(r.error()).isNull();
        assertThat(r.entries()).extracting(FileTransfer.Entry::path).containsExactly("a.bin", "small.txt", "sub/b.bin");
        var sha = java.util.HexFormat.of();
        assertThat(r.entries().getFirst().sha256())
                .isEqualTo(sha.formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(a)));
        assertThat(r.entries().getLast().sha256())
                .isEqualTo(sha.formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b)));
        assertThat(inPlace[0]).isEqualTo(21 + 13);
        assertThat(Files.readAllBytes(dir.resolve("dst/a.bin"))).isEqualTo(a);
        assertThat(Files.readAllBytes(dir.resolve("dst/sub/b.bin"))).isEqualTo(b);
        assertThat(Files.readString(dir.resolve("dst/small.txt"))).isEqualTo("small\n");
    }

    @Test
    void aByteDamagedOnItsWayStraightIntoTheFileIsNoticed() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(BulkFileWriterTest.directIoWorksIn(dir), "no O_DIRECT in " + dir + ": no blocks to fill");
        byte[] big = new byte[20 << 20];
        new java.util.Random(11).nextBytes(big);
        int[] inPlace = {0};
        FileTransfer.Receiver r = getOverLoopback(big, 60, inPlace);
        assertThat(inPlace[0]).isPositive();
        assertThat(r.error()).contains("'' arrived damaged").contains("crc32c");
    }
}
