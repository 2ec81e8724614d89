package dev.conductor.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conductor.config.ConfigException.Kind;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * Every case Python 3.11's {@code configparser} was run on must read the same here: for files
 * it accepts, the same sections, keys, raw values and interpolated values (and, for values it
 * cannot interpolate, the same exception and message); for files it rejects, the same kind of
 * error at the same line(s), with our message naming the file and line.
 */
class ConfigparserGoldenTest {

    private static final Path GOLDEN = dev.conductor.interop.Interop.folder("configparser");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Python's exception class -> our kind. An unknown class fails the case. */
    private static final Map<String, Kind> KINDS = Map.of(
            "DuplicateOptionError", Kind.DUPLICATE_OPTION,
            "DuplicateSectionError", Kind.DUPLICATE_SECTION,
            "MissingSectionHeaderError", Kind.MISSING_SECTION_HEADER,
            "ParsingError", Kind.SYNTAX,
            "InterpolationSyntaxError", Kind.INTERPOLATION_SYNTAX,
            "InterpolationMissingOptionError", Kind.INTERPOLATION_MISSING_OPTION,
            "InterpolationDepthError", Kind.INTERPOLATION_DEPTH);

    /** Python names lines as "[line  3]" (duplicates, parsing errors) or "line: 1" (missing header). */
    private static final Pattern PYTHON_LINE = Pattern.compile("\\[line\\s+(\\d+)]|line: (\\d+)");

    private static List<Path> cases() throws IOException {
        Path cases = GOLDEN.resolve("cases");
        if (!Files.isDirectory(cases) || !Files.isDirectory(GOLDEN.resolve("expected"))) {
            fail(dev.conductor.interop.Interop.notFound(cases));
        }
        try (Stream<Path> files = Files.list(cases)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".ini")).sorted().toList();
        }
    }

    @Test
    void everyCaseHasAnExpectation() throws IOException {
        List<Path> cases = cases();
        assertThat(cases).as("golden cases").isNotEmpty();
        try (Stream<Path> expected = Files.list(GOLDEN.resolve("expected"))) {
            assertThat(expected.map(p -> p.getFileName().toString()).sorted().toList())
                    .as("one expected/*.json per cases/*.ini, and no orphans")
                    .isEqualTo(cases.stream().map(ConfigparserGoldenTest::jsonName).toList());
        }
    }

    @TestFactory
    Stream<DynamicTest> everyGoldenCase() throws IOException {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.getFileName().toString(), () -> check(c)));
    }

    private static void check(Path caseFile) throws Exception {
        JsonNode expected = JSON.readTree(GOLDEN.resolve("expected").resolve(jsonName(caseFile))
                .toFile());
        if (expected.get("ok").asBoolean()) {
            checkAccepted(IniFile.read(caseFile), expected);
        } else {
            checkRejected(caseFile, expected);
        }
    }

    private static void checkAccepted(IniFile ini, JsonNode expected) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>();
        ini.defaults().entries().values().forEach(e -> defaults.put(e.key(), e.value()));
        assertThat(defaults).as("defaults").containsExactlyEntriesOf(strings(expected.get("defaults")));

        List<String> expectedSections = new ArrayList<>();
        expected.get("sections").properties().forEach(e -> expectedSections.add(e.getKey()));
        assertThat(ini.sections().stream().map(IniFile.Section::name).toList()).as("sections in file order")
                .isEqualTo(expectedSections);

        for (String section : expectedSections) {
            JsonNode want = expected.get("sections").get(section);
            List<String> keys = new ArrayList<>();
            want.get("keys_in_iteration_order").forEach(k -> keys.add(k.asText()));
            assertThat(ini.keys(section)).as("keys of [%s]", section).isEqualTo(keys);

            for (String key : keys) {
                IniFile.Entry entry = ini.raw(section, key).orElseThrow();
                assertThat(entry.value()).as("raw [%s] %s", section, key).isEqualTo(want.get("raw").get(key).asText());

                JsonNode value = want.get("values").get(key);
                if (value.isTextual()) {
                    assertThat(ini.get(section, key)).as("value [%s] %s", section, key).hasValue(value.asText());
                    continue;
                }
                Kind kind = kindOf(value.get("error").asText());
                BasicInterpolation.Result result = ini.interpolate(section, entry);
                assertThat(result).as("[%s] %s", section, key).isInstanceOf(BasicInterpolation.Failure.class);
                BasicInterpolation.Failure failure = (BasicInterpolation.Failure) result;
                assertThat(failure.kind()).as("error kind of [%s] %s", section, key).isEqualTo(kind);
                assertThat(failure.referenceMessage()).as("Python's message for [%s] %s", section, key)
                        .isEqualTo(value.get("message").asText());
                // and the public API says where and which key, in our words
                assertThatThrownBy(() -> ini.get(section, key))
                        .isInstanceOfSatisfying(ConfigException.class, e -> {
                            assertThat(e.kind()).isEqualTo(kind);
                            assertThat(e.file()).isEqualTo(ini.name());
                            assertThat(e.line()).isEqualTo(entry.line());
                            assertThat(e.getMessage()).startsWith(ini.name() + ":" + entry.line() + ": ")
                                    .contains("'" + key + "'");
                        });
            }
        }
    }

    private static void checkRejected(Path caseFile, JsonNode expected) {
        Kind kind = kindOf(expected.get("error").asText());
        String pythonMessage = expected.get("message").asText();
        assertThat(pythonMessage).as("Python names the file").contains(GOLDEN.relativize(caseFile).toString());
        Set<Integer> pythonLines = new TreeSet<>();
        Matcher m = PYTHON_LINE.matcher(pythonMessage);
        while (m.find()) {
            pythonLines.add(Integer.parseInt(m.group(1) != null ? m.group(1) : m.group(2)));
        }
        assertThat(pythonLines).as("lines in Python's message %s", pythonMessage).isNotEmpty();

        assertThatThrownBy(() -> IniFile.read(caseFile)).isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.kind()).as("kind for %s", expected.get("error").asText()).isEqualTo(kind);
            assertThat(e.problems()).allSatisfy(p -> assertThat(p.kind()).isEqualTo(kind));
            assertThat(new TreeSet<>(e.problems().stream().map(ConfigException.Problem::line).toList()))
                    .as("lines").isEqualTo(pythonLines);
            for (ConfigException.Problem p : e.problems()) {
                assertThat(e.getMessage()).contains(caseFile + ":" + p.line() + ": ");
            }
        });
    }

    private static Kind kindOf(String pythonClass) {
        Kind kind = KINDS.get(pythonClass);
        if (kind == null) {
            fail("no mapping for Python's " + pythonClass + "; add it to KINDS");
        }
        return kind;
    }

    private static String jsonName(Path caseFile) {
        String name = caseFile.getFileName().toString();
        return name.substring(0, name.length() - ".ini".length()) + ".json";
    }

    private static Map<String, String> strings(JsonNode object) {
        Map<String, String> map = new LinkedHashMap<>();
        object.properties().forEach(e -> map.put(e.getKey(), e.getValue().asText()));
        return map;
    }
}
