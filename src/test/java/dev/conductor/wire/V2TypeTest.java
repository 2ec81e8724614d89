package dev.conductor.wire;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** A message's type read without decoding the rest, as a player's session reader does. */
class V2TypeTest {
    private static String typeOf(String json) {
        return V2.typeOf(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theTypeIsFoundWhereverItIsAndNestedValuesAreSkipped() {
        assertThat(typeOf("{\"version\":2,\"type\":\"run\",\"data\":{\"id\":3}}")).isEqualTo("run");
        assertThat(typeOf("{\"data\":{\"type\":\"not this\",\"list\":[{\"type\":1}]},\"type\":\"phase\",\"version\":2}"))
                .isEqualTo("phase");
        assertThat(typeOf(new String(V2.encode(V2.PROBE), StandardCharsets.UTF_8))).isEqualTo("probe");
    }

    @Test
    void noTypeOrNoJsonGivesNone() {
        assertThat(typeOf("{\"version\":2,\"data\":{}}")).isNull();
        assertThat(typeOf("{\"type\":7}")).isNull();
        assertThat(typeOf("[\"type\",\"run\"]")).isNull();
        assertThat(typeOf("not json")).isNull();
        assertThat(typeOf("")).isNull();
        assertThat(typeOf("{\"type\":\"ru")).isNull();
    }

    @Test
    void readRawGivesTheBodyUndecodedAndDataFramesAsTheyAre() throws Exception {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        Frames.write(wire, V2.encode(V2.RUN));
        V2.Raw raw = V2.readRaw(new ByteArrayInputStream(wire.toByteArray()), Frames.DEFAULT_LIMIT);
        assertThat(raw).isInstanceOf(V2.Raw.Json.class);
        assertThat(((V2.Raw.Json) raw).type()).isEqualTo("run");
        assertThat(V2.decode(((V2.Raw.Json) raw).body()).type()).isEqualTo("run");
        assertThat(V2.readRaw(new ByteArrayInputStream(new byte[0]), Frames.DEFAULT_LIMIT)).isNull();
    }
}
