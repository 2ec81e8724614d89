package dev.conductor.wire;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DataFrameTest {
    private static Frame readOne(byte[] wire) throws Exception {
        return V2.read(new ByteArrayInputStream(wire), Frames.DEFAULT_LIMIT);
    }

    @Test
    void anOutputChunkIsALengthAFixedHeaderAndTheRawBytes() throws Exception {
        byte[] frame = new DataFrame(DataFrame.Kind.OUTPUT, 7, 3, DataFrame.STDERR, "hi\n".getBytes(StandardCharsets.UTF_8))
                .encode();
        assertThat(HexFormat.ofDelimiter(" ").formatHex(frame))
                .isEqualTo("00 00 00 0f b2 01 02 00 00 00 00 07 00 00 00 03 68 69 0a");
        DataFrame back = (DataFrame) readOne(frame);
        assertThat(back.kind()).isEqualTo(DataFrame.Kind.OUTPUT);
        assertThat(back.phaseId()).isEqualTo(7);
        assertThat(back.index()).isEqualTo(3);
        assertThat(back.streamName()).isEqualTo("stderr");
        assertThat(back.data()).isEqualTo("hi\n".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aHeaderWrittenInPlaceMakesOneFrameOfTheBytesAfterIt() throws Exception {
        byte[] payload = new byte[300_000];
        new java.util.Random(1).nextBytes(payload);
        byte[] buf = new byte[DataFrame.HEADROOM + payload.length];
        System.arraycopy(payload, 0, buf, DataFrame.HEADROOM, payload.length);
        int from = DataFrame.frameInPlace(buf, DataFrame.HEADROOM, payload.length, DataFrame.Kind.FILE, 1, 0, 0);
        assertThat(from).isZero();
        DataFrame back = (DataFrame) readOne(buf);
        assertThat(back.kind()).isEqualTo(DataFrame.Kind.FILE);
        assertThat(back.data()).isEqualTo(payload);
        assertThatThrownBy(() -> DataFrame.frameInPlace(buf, 3, 1, DataFrame.Kind.FILE, 1, 0, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void jsonAndDataFramesFollowEachOtherOnOneStream() throws Exception {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        wire.write(Frames.encode(V2.encode(V2.HEARTBEAT)));
        wire.write(new DataFrame(DataFrame.Kind.OUTPUT, 1, 0, DataFrame.STDOUT, new byte[0]).encode());
        wire.write(Frames.encode(V2.encode(V2.BYE)));
        ByteArrayInputStream in = new ByteArrayInputStream(wire.toByteArray());
        assertThat(((V2.Message) V2.read(in, Frames.DEFAULT_LIMIT)).type()).isEqualTo(V2.HEARTBEAT);
        assertThat(((DataFrame) V2.read(in, Frames.DEFAULT_LIMIT)).data()).isEmpty();
        assertThat(((V2.Message) V2.read(in, Frames.DEFAULT_LIMIT)).type()).isEqualTo(V2.BYE);
        assertThat(V2.read(in, Frames.DEFAULT_LIMIT)).isNull();
    }

    @Test
    void noJsonTextStartsWithTheMarker() {
        // 0xB2 is a UTF-8 continuation byte: no UTF-8 text, so no JSON text, begins with it.
        assertThat(DataFrame.isData("{\"version\": 2}".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(DataFrame.isData(" {}".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(DataFrame.isData(new byte[]{(byte) 0xB2})).isTrue();
        assertThat(V2.versionOf(new DataFrame(DataFrame.Kind.FILE, 1, 0, 0, new byte[4]).encode())).isEqualTo(-1);
    }

    @Test
    void aTruncatedHeaderIsRefusedClearly() {
        byte[] shortBody = {0, 0, 0, 5, (byte) 0xB2, 1, 1, 0, 0};
        assertThatThrownBy(() -> readOne(shortBody)).isInstanceOf(ProtocolException.class)
                .hasMessage("truncated data frame: 5 bytes, shorter than its 12-byte header");
        assertThatThrownBy(() -> DataFrame.decode(Arrays.copyOfRange(shortBody, 4, 9)))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("shorter than its 12-byte header");
        byte[] cut = Arrays.copyOf(new DataFrame(DataFrame.Kind.OUTPUT, 1, 0, 1, new byte[10]).encode(), 9);
        assertThatThrownBy(() -> readOne(cut)).isInstanceOf(EOFException.class)
                .hasMessage("connection closed inside a data frame header (5 of 12 bytes)");
        byte[] cutData = Arrays.copyOf(new DataFrame(DataFrame.Kind.OUTPUT, 1, 0, 1, new byte[10]).encode(), 20);
        assertThatThrownBy(() -> readOne(cutData)).isInstanceOf(EOFException.class)
                .hasMessage("connection closed inside a data frame (4 of 10 bytes)");
    }

    @Test
    void anUnknownKindABadStreamOrAReservedByteIsRefusedClearly() {
        byte[] frame = new DataFrame(DataFrame.Kind.OUTPUT, 1, 0, 1, new byte[3]).encode();
        frame[5] = 9;
        assertThatThrownBy(() -> readOne(frame)).isInstanceOf(ProtocolException.class)
                .hasMessage("unknown data frame kind 9 (known: 1 output, 2 file data)");
        frame[5] = 1;
        frame[6] = 3;
        assertThatThrownBy(() -> readOne(frame)).isInstanceOf(ProtocolException.class)
                .hasMessage("data frame of kind output with stream 3 (output: 1 stdout, 2 stderr; file data: 0)");
        frame[6] = 1;
        frame[7] = 1;
        assertThatThrownBy(() -> readOne(frame)).isInstanceOf(ProtocolException.class)
                .hasMessage("data frame with reserved byte 1, not 0");
    }

    @Test
    void anOversizedFrameIsRefusedBeforeItsBytesAreRead() {
        byte[] frame = new DataFrame(DataFrame.Kind.FILE, 1, 0, 0, new byte[2000]).encode();
        assertThatThrownBy(() -> V2.read(new ByteArrayInputStream(frame), 1000))
                .isInstanceOf(FrameTooLargeException.class)
                .hasMessage("Message too large: 2012 bytes (max: 1000)");
    }

    @Test
    void framesBeyondTheEagerSizeAreReadAsTheirBytesArriveAndStillExact() throws Exception {
        byte[] payload = new byte[3 << 20];
        new java.util.Random(5).nextBytes(payload);
        byte[] frame = new DataFrame(DataFrame.Kind.OUTPUT, 2, 1, DataFrame.STDOUT, payload).encode();
        assertThat(((DataFrame) V2.read(new ByteArrayInputStream(frame), 10L << 20)).data()).isEqualTo(payload);
        // A header announcing 2 MiB, then 10 bytes: the connection's end, not 2 MiB held for nothing.
        byte[] json = Arrays.copyOf(new byte[]{0, 0x20, 0, 0, '{'}, 15);
        assertThatThrownBy(() -> V2.read(new ByteArrayInputStream(json), 10L << 20)).isInstanceOf(EOFException.class)
                .hasMessage("connection closed inside a frame body (11 of 2097152 bytes)");
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(json), 10L << 20)).isInstanceOf(EOFException.class)
                .hasMessage("connection closed inside a frame body (11 of 2097152 bytes)");
        byte[] data = Arrays.copyOf(new DataFrame(DataFrame.Kind.FILE, 1, 0, 0, new byte[2 << 20]).encode(), 100);
        assertThatThrownBy(() -> V2.read(new ByteArrayInputStream(data), 10L << 20)).isInstanceOf(EOFException.class)
                .hasMessage("connection closed inside a data frame (84 of 2097152 bytes)");
    }
}
