package dev.conductor.config;

import dev.conductor.config.ConfigException.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The reader's own messages; its agreement with Python is {@link ConfigparserGoldenTest}'s job. */
class IniFileTest {

    @TempDir
    Path dir;

    @Test
    void duplicatesSayWhereTheFirstOneIs() {
        assertThatThrownBy(() -> IniFile.parse("tests/a.cfg", "[Run]\nstep1: a\n\n\n\n\n\n\nStep1: b\n"))
                .hasMessage("tests/a.cfg:9: option 'step1' in section 'Run' already exists (first at line 2)");
        assertThatThrownBy(() -> IniFile.parse("a.cfg", "[Run]\n[Startup]\n[Run]\n"))
                .hasMessage("a.cfg:3: section 'Run' already exists (first at line 1)");
    }

    @Test
    void everyBadLineIsListed() {
        assertThatThrownBy(() -> IniFile.parse("a.cfg", "[S]\njustakey\nk: v\n= v\n"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.kind()).isEqualTo(Kind.SYNTAX);
                    assertThat(e.getMessage()).isEqualTo("""
                            a.cfg:2: 'justakey' is not 'key = value', 'key: value', a [Section] header or a comment
                            a.cfg:4: '= v' has no key before '='""");
                });
    }

    @Test
    void aKeyBeforeAnySection() {
        assertThatThrownBy(() -> IniFile.parse("a.cfg", "# hi\n\ntrials: 1\n[Test]\n"))
                .hasMessage("a.cfg:3: 'trials: 1' comes before the first [Section] header;"
                        + " every key must be inside a section");
    }

    @Test
    void aByteOrderMarkIsExplained() throws Exception {
        Path file = dir.resolve("bom.cfg");
        Files.write(file, new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '[', 'S', ']', '\n'});
        assertThatThrownBy(() -> IniFile.read(file)).isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.kind()).isEqualTo(Kind.MISSING_SECTION_HEADER);
            assertThat(e.getMessage()).startsWith(file + ":1: the file starts with a UTF-8 byte order mark (BOM)")
                    .endsWith("save the file as UTF-8 without BOM");
        });
    }

    @Test
    void bytesThatAreNotUtf8AreReportedWithTheirLine() throws Exception {
        Path file = dir.resolve("latin1.cfg");
        Files.write(file, "[Run]\r\nstep1: echo caf\u00e9\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> IniFile.read(file)).isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.kind()).isEqualTo(Kind.UNREADABLE);
            assertThat(e.getMessage()).isEqualTo(file + ":2: byte 0xe9 is not valid UTF-8; save the file as UTF-8");
        });
    }

    @Test
    void lookupsFoldKeysButNotSectionNames() throws Exception {
        IniFile ini = IniFile.parse("a.cfg", "[DEFAULT]\nhost: h\n[Run]\nStep1: ping %(HOST)s\n");
        assertThat(ini.get("Run", "STEP1")).hasValue("ping h");
        assertThat(ini.get("run", "step1")).isEmpty();
        assertThat(ini.get("Run", "nope")).isEmpty();
        assertThat(ini.get("Run", "host")).hasValue("h");
        assertThat(ini.raw("Run", "step1")).hasValueSatisfying(e -> assertThat(e.line()).isEqualTo(4));
        assertThat(ini.section("Run").orElseThrow().entries()).containsOnlyKeys("step1");
        assertThat(ini.keys("Run")).containsExactly("step1", "host");
        assertThat(ini.defaults().line()).isEqualTo(1);
    }

    @Test
    void aLoneCarriageReturnEndsALineAsInPython() throws Exception {
        IniFile ini = IniFile.parse("a.cfg", "[S]\rk: a\r  b\r\rj: c");
        assertThat(ini.get("S", "k")).hasValue("a\nb");
        assertThat(ini.raw("S", "j")).hasValueSatisfying(e -> assertThat(e.line()).isEqualTo(5));
    }

    @Test
    void interpolationErrorsNameFileLineAndKey() throws Exception {
        IniFile ini = IniFile.parse("w.cfg", "[S]\na: %(b)s\nb: %(a)s\n");
        assertThatThrownBy(() -> ini.get("S", "b")).isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.kind()).isEqualTo(Kind.INTERPOLATION_DEPTH);
            assertThat(e.getMessage()).isEqualTo("w.cfg:3: option 'b' in section 'S': %(name)s references are still"
                    + " unresolved after 10 levels (do two keys refer to each other?); raw value '%(a)s'");
        });
    }
}
