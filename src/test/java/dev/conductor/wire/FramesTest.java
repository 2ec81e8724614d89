package dev.conductor.wire;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FramesTest {

    private static byte[] bodyOf(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 255, 256, 65_535, 65_536, 1_000_003})
    void aBodyComesBackAsItWasSent(int size) throws IOException {
        byte[] body = bodyOf(size);
        byte[] frame = Frames.encode(body);

        assertThat(frame).hasSize(4 + size);
        assertThat(Frames.read(new ByteArrayInputStream(frame), Frames.DEFAULT_LIMIT)).isEqualTo(body);
    }

    @Test
    void theHeaderIsTheBodyLengthAsFourBytesBigEndian() {
        assertThat(Arrays.copyOf(Frames.encode(new byte[217]), 4)).isEqualTo(HexFormat.of().parseHex("000000d9"));
        assertThat(Arrays.copyOf(Frames.encode(new byte[0x010203]), 4)).isEqualTo(HexFormat.of().parseHex("00010203"));
        assertThat(Arrays.copyOf(Frames.encode(new byte[0]), 4)).isEqualTo(new byte[4]);
    }

    @Test
    void writeSendsExactlyTheEncodedFrame() throws IOException {
        byte[] body = "{\"version\": 1, \"type\": \"run\", \"data\": {}}".getBytes();
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        Frames.write(out, body);

        assertThat(out.toByteArray()).isEqualTo(Frames.encode(body));
    }

    @Test
    void framesBackToBackAreReadOneAtATimeThenTheCleanEndIsNull() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, "first".getBytes());
        Frames.write(out, new byte[0]);
        Frames.write(out, "third".getBytes());
        InputStream in = new ByteArrayInputStream(out.toByteArray());

        assertThat(Frames.read(in, Frames.DEFAULT_LIMIT)).isEqualTo("first".getBytes());
        assertThat(Frames.read(in, Frames.DEFAULT_LIMIT)).isEmpty();
        assertThat(Frames.read(in, Frames.DEFAULT_LIMIT)).isEqualTo("third".getBytes());
        assertThat(Frames.read(in, Frames.DEFAULT_LIMIT)).isNull();
    }

    @Test
    void aStreamDeliveringOneByteAtATimeStillYieldsWholeFrames() throws IOException {
        byte[] body = bodyOf(1000);
        ByteArrayInputStream whole = new ByteArrayInputStream(Frames.encode(body));
        // As a socket does when a frame arrives in pieces: every read returns a single byte.
        InputStream trickle = new InputStream() {
            @Override
            public int read() {
                return whole.read();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                return whole.read(b, off, Math.min(len, 1));
            }
        };

        assertThat(Frames.read(trickle, Frames.DEFAULT_LIMIT)).isEqualTo(body);
    }

    @Test
    void anEmptyStreamIsACleanEndNotAnError() throws IOException {
        assertThat(Frames.read(InputStream.nullInputStream(), Frames.DEFAULT_LIMIT)).isNull();
    }

    @ParameterizedTest(name = "{0} of 4 header bytes")
    @ValueSource(ints = {1, 2, 3})
    void theStreamEndingInsideTheHeaderIsAnEofError(int got) {
        InputStream in = new ByteArrayInputStream(new byte[got]);

        assertThatThrownBy(() -> Frames.read(in, Frames.DEFAULT_LIMIT))
                .isInstanceOf(EOFException.class)
                .hasMessageContaining("header")
                .hasMessageContaining(got + " of 4");
    }

    @Test
    void theStreamEndingInsideTheBodyIsAnEofError() {
        byte[] frame = Frames.encode(bodyOf(100));
        InputStream in = new ByteArrayInputStream(Arrays.copyOf(frame, 4 + 60));

        assertThatThrownBy(() -> Frames.read(in, Frames.DEFAULT_LIMIT))
                .isInstanceOf(EOFException.class)
                .hasMessageContaining("body")
                .hasMessageContaining("60 of 100");
    }

    @Test
    void aHeaderOverTheLimitIsRefusedWithoutReadingTheBody() {
        long announced = 11L * 1024 * 1024;
        CountingStream in = new CountingStream(new SequenceInputStream(
                new ByteArrayInputStream(HexFormat.of().parseHex("00b00000")), new EndlessStream()));

        assertThatThrownBy(() -> Frames.read(in, Frames.DEFAULT_LIMIT))
                .isInstanceOfSatisfying(FrameTooLargeException.class, e -> {
                    assertThat(e.length()).isEqualTo(announced);
                    assertThat(e.limit()).isEqualTo(Frames.DEFAULT_LIMIT);
                })
                // The reference player's exact answer (malformed-input-responses.tsv).
                .hasMessage("Message too large: 11534336 bytes (max: 10485760)");
        assertThat(in.consumed).as("bytes read from the stream").isEqualTo(4);
    }

    @Test
    void theLengthIsUnsignedSoTheLargestHeaderIsTooLargeNotNegative() {
        InputStream in = new ByteArrayInputStream(HexFormat.of().parseHex("ffffffff"));

        assertThatThrownBy(() -> Frames.read(in, Frames.DEFAULT_LIMIT))
                .isInstanceOfSatisfying(FrameTooLargeException.class,
                        e -> assertThat(e.length()).isEqualTo(4_294_967_295L));
    }

    /**
     * A limit above 2 GiB is allowed by {@code max_message_size} (up to 4 GiB - 1) and then a
     * header of 0x80000000 or more is cast to a negative int.
     */
    @Test
    void aHeaderAboveWhatAnArrayHoldsIsAnIoErrorEvenUnderAHugeLimit() {
        for (String header : new String[]{"ffffffff", "80000000"}) {
            InputStream in = new ByteArrayInputStream(HexFormat.of().parseHex(header));

            assertThatThrownBy(() -> Frames.read(in, 0xFFFF_FFFFL)).as("header %s", header)
                    .isInstanceOf(IOException.class);
        }
    }

    @Test
    void aBodyOfExactlyTheLimitIsAcceptedAndOneByteMoreIsNot() throws IOException {
        assertThat(Frames.read(new ByteArrayInputStream(Frames.encode(new byte[8])), 8)).hasSize(8);
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(Frames.encode(new byte[9])), 8))
                .isInstanceOf(FrameTooLargeException.class)
                .hasMessage("Message too large: 9 bytes (max: 8)");
    }

    @Test
    void theDefaultLimitIsTheReferences10MiB() {
        assertThat(Frames.DEFAULT_LIMIT).isEqualTo(10_485_760L);
    }

    /** Counts what was taken from the wrapped stream. */
    private static final class CountingStream extends InputStream {
        private final InputStream in;
        long consumed;

        CountingStream(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                consumed++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                consumed += n;
            }
            return n;
        }
    }

    /** A body that never ends: reading it all would never return. */
    private static final class EndlessStream extends InputStream {
        @Override
        public int read() {
            return 'x';
        }

        @Override
        public int read(byte[] b, int off, int len) {
            Arrays.fill(b, off, off + len, (byte) 'x');
            return len;
        }
    }
}
