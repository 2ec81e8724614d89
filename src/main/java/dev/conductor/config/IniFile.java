package dev.conductor.config;

import dev.conductor.config.ConfigException.Kind;
import dev.conductor.config.ConfigException.Problem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An INI file read exactly as Python's {@code configparser.ConfigParser()} reads it with its
 * default settings, because Conductor's existing test files were written against that reader:
 * <ul>
 *   <li>{@code [Name]} starts a section; the name is kept as written (case and inner spaces);
 *       {@code [DEFAULT]} (exactly so) holds keys every section can see;</li>
 *   <li>{@code key = value} or {@code key: value}, split at the first {@code =} or {@code :};
 *       keys are folded to lower case, keys and values are stripped of surrounding spaces;</li>
 *   <li>a line whose first non-blank character is {@code #} or {@code ;} is a comment; a
 *       {@code #} later in a line is part of the value;</li>
 *   <li>a line indented deeper than its key continues the value (blank lines inside are kept,
 *       trailing ones dropped);</li>
 *   <li>a duplicate section or key, a key before any section and a line that is none of the
 *       above are errors;</li>
 *   <li>{@link #get} expands {@code %(name)s} and {@code %%} (see {@link BasicInterpolation}),
 *       lazily, so a bad reference only fails the value that has it.</li>
 * </ul>
 * Instances are immutable.
 */
public final class IniFile {

    /** The name configparser gives the section of shared keys. */
    public static final String DEFAULT_SECTION = "DEFAULT";

    /**
     * One {@code key = value} as written (continuation lines joined with {@code \n}).
     *
     * @param key   folded to lower case
     * @param value before interpolation
     * @param line  the line of the key
     */
    public record Entry(String key, String value, int line) {
        public Entry {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
        }
    }

    /**
     * A section's own entries, in file order.
     *
     * @param line the line of its header (for {@code DEFAULT}, the first one; 0 when there is none)
     */
    public record Section(String name, int line, Map<String, Entry> entries) {
        public Section {
            Objects.requireNonNull(name, "name");
            entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        }

        /** The entry of a key of this section only (not DEFAULT's); the key is folded to lower case. */
        public Optional<Entry> entry(String key) {
            return Optional.ofNullable(entries.get(PythonText.lower(key)));
        }
    }

    private final String name;
    private final Section defaults;
    private final Map<String, Section> sections;

    private IniFile(String name, Section defaults, Map<String, Section> sections) {
        this.name = name;
        this.defaults = defaults;
        this.sections = Collections.unmodifiableMap(new LinkedHashMap<>(sections));
    }

    /**
     * Reads a UTF-8 file. A byte order mark is not skipped, because the reference does not
     * skip it either (it makes the first line an error; the message says so).
     *
     * @throws ConfigException when the file cannot be read, is not UTF-8 or breaks an INI rule;
     *                         messages name the file as {@code file.toString()}
     */
    public static IniFile read(Path file) throws ConfigException {
        String shown = file.toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(new Problem(Kind.UNREADABLE, shown, 0, "no such file"));
        } catch (AccessDeniedException e) {
            throw new ConfigException(new Problem(Kind.UNREADABLE, shown, 0, "permission denied"));
        } catch (IOException e) {
            throw new ConfigException(new Problem(Kind.UNREADABLE, shown, 0, "cannot read: " + e));
        }
        return parse(shown, decodeUtf8(shown, bytes));
    }

    /**
     * Parses text already in memory.
     *
     * @param name how messages name the source, usually its path
     */
    public static IniFile parse(String name, String text) throws ConfigException {
        return new Reader(name).read(text);
    }

    /** The file as named in messages. */
    public String name() {
        return name;
    }

    /** The sections in file order, without {@code DEFAULT}. */
    public List<Section> sections() {
        return List.copyOf(sections.values());
    }

    /** A section by its exact name (not {@code DEFAULT}; see {@link #defaults()}). */
    public Optional<Section> section(String sectionName) {
        return Optional.ofNullable(sections.get(sectionName));
    }

    public boolean hasSection(String sectionName) {
        return sections.containsKey(sectionName);
    }

    /** The {@code [DEFAULT]} section; empty, at line 0, when the file has none. */
    public Section defaults() {
        return defaults;
    }

    /**
     * The keys configparser yields when iterating a section: its own in file order, then
     * {@code DEFAULT}'s that it does not override. Note that for a phase section this
     * includes DEFAULT's keys, which is why the plan loader walks {@link Section#entries()}.
     *
     * @throws IllegalArgumentException when there is no such section
     */
    public List<String> keys(String sectionName) {
        if (DEFAULT_SECTION.equals(sectionName)) {
            return List.copyOf(defaults.entries().keySet());
        }
        Section section = sections.get(sectionName);
        if (section == null) {
            throw new IllegalArgumentException("no section " + PythonText.repr(sectionName) + " in " + name);
        }
        List<String> keys = new ArrayList<>(section.entries().keySet());
        for (String key : defaults.entries().keySet()) {
            if (!section.entries().containsKey(key)) {
                keys.add(key);
            }
        }
        return List.copyOf(keys);
    }

    /**
     * A key's entry as seen from a section: the section's own, else {@code DEFAULT}'s. Empty
     * when the section or key does not exist. The key is folded to lower case.
     */
    public Optional<Entry> raw(String sectionName, String key) {
        String k = PythonText.lower(key);
        if (!DEFAULT_SECTION.equals(sectionName)) {
            Section section = sections.get(sectionName);
            if (section == null) {
                return Optional.empty();
            }
            Entry own = section.entries().get(k);
            if (own != null) {
                return Optional.of(own);
            }
        }
        return Optional.ofNullable(defaults.entries().get(k));
    }

    /**
     * A key's value after interpolation, as {@code config[section][key]} gives it in Python.
     * Empty when the section or key does not exist.
     *
     * @throws ConfigException (kind {@code INTERPOLATION_*}) naming the file, the line of the
     *                         key and the key, when the value cannot be interpolated
     */
    public Optional<String> get(String sectionName, String key) throws ConfigException {
        Optional<Entry> entry = raw(sectionName, key);
        if (entry.isEmpty()) {
            return Optional.empty();
        }
        return switch (interpolate(sectionName, entry.get())) {
            case BasicInterpolation.Value v -> Optional.of(v.text());
            case BasicInterpolation.Failure f ->
                    throw new ConfigException(new Problem(f.kind(), name, entry.get().line(), f.message()));
        };
    }

    /** {@link #get} without the exception, for callers (and the golden tests) that need both texts. */
    BasicInterpolation.Result interpolate(String sectionName, Entry entry) {
        return BasicInterpolation.resolve(sectionName, entry.key(), entry.value(),
                ref -> raw(sectionName, ref).map(Entry::value));
    }

    @Override
    public String toString() {
        return "IniFile[" + name + ", sections=" + sections.keySet() + "]";
    }

    /** Strict UTF-8; a bad byte is reported with its line, since Python would stop there too. */
    private static String decodeUtf8(String shown, byte[] bytes) throws ConfigException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) {
                // count line ends the way the reader splits lines: \n, \r\n and a lone \r
                if (bytes[i] == '\n' || (bytes[i] == '\r' && (i + 1 >= bytes.length || bytes[i + 1] != '\n'))) {
                    line++;
                }
            }
            throw new ConfigException(new Problem(Kind.UNREADABLE, shown, line, String.format(
                    "byte 0x%02x is not valid UTF-8; save the file as UTF-8", bytes[at] & 0xff)));
        }
        out.flip();
        return out.toString();
    }

    /** One pass over the text, following configparser's {@code RawConfigParser._read}. */
    private static final class Reader {
        private final String name;
        private final Map<String, Builder> sections = new LinkedHashMap<>();
        private final Builder defaults = new Builder(DEFAULT_SECTION);
        private final List<Problem> syntaxErrors = new ArrayList<>();
        private Builder current;
        /** The key the next indented line would continue; null or "" when there is none. */
        private String option;
        private int indentLevel;

        Reader(String name) {
            this.name = name;
        }

        IniFile read(String text) throws ConfigException {
            List<String> lines = lines(text);
            for (int i = 0; i < lines.size(); i++) {
                line(lines.get(i), i + 1);
            }
            if (!syntaxErrors.isEmpty()) {
                // like configparser: bad lines are collected and reported together at the end
                throw new ConfigException(syntaxErrors);
            }
            Map<String, Section> built = new LinkedHashMap<>();
            sections.forEach((n, b) -> built.put(n, b.build()));
            return new IniFile(name, defaults.build(), built);
        }

        private void line(String line, int lineno) throws ConfigException {
            String stripped = PythonText.strip(line);
            boolean comment = stripped.startsWith("#") || stripped.startsWith(";");
            if (stripped.isEmpty() || comment) {
                // a blank line may be part of a multi-line value; a comment line never is
                if (!comment && current != null && hasOption()) {
                    current.continueValue(option, "");
                }
                return;
            }
            int indent = PythonText.firstNonSpace(line);
            if (current != null && hasOption() && indent > indentLevel) {
                current.continueValue(option, stripped);
                return;
            }
            indentLevel = indent;
            int close = stripped.lastIndexOf(']');
            if (stripped.startsWith("[") && close >= 2) {
                // configparser's \[(?P<header>.+)\] with a greedy .+: up to the last ']', rest ignored
                header(stripped.substring(1, close), lineno);
            } else if (current == null) {
                throw new ConfigException(new Problem(Kind.MISSING_SECTION_HEADER, name, lineno,
                        missingHeaderMessage(stripped)));
            } else {
                option(stripped, lineno);
            }
        }

        private boolean hasOption() {
            return option != null && !option.isEmpty();
        }

        private void header(String sectionName, int lineno) throws ConfigException {
            Builder existing = sections.get(sectionName);
            if (existing != null) {
                throw new ConfigException(new Problem(Kind.DUPLICATE_SECTION, name, lineno,
                        "section " + PythonText.repr(sectionName) + " already exists (first at line "
                                + existing.line + ")"));
            }
            if (DEFAULT_SECTION.equals(sectionName)) {
                // configparser merges repeated [DEFAULT] headers; only repeated keys are errors
                current = defaults;
                if (defaults.line == 0) {
                    defaults.line = lineno;
                }
            } else {
                current = new Builder(sectionName);
                current.line = lineno;
                sections.put(sectionName, current);
            }
            option = null;
        }

        private void option(String text, int lineno) throws ConfigException {
            int delimiter = firstDelimiter(text);
            if (delimiter < 0) {
                // configparser keeps going (and keeps the previous key for continuations)
                syntaxErrors.add(new Problem(Kind.SYNTAX, name, lineno, PythonText.repr(text)
                        + " is not 'key = value', 'key: value', a [Section] header or a comment"));
                return;
            }
            String key = PythonText.lower(PythonText.rstrip(text.substring(0, delimiter)));
            if (key.isEmpty()) {
                // configparser reports the line but still stores the value under the empty key
                syntaxErrors.add(new Problem(Kind.SYNTAX, name, lineno, PythonText.repr(text)
                        + " has no key before '" + text.charAt(delimiter) + "'"));
            }
            Entry first = current.entries.get(key);
            if (first != null) {
                throw new ConfigException(new Problem(Kind.DUPLICATE_OPTION, name, lineno,
                        "option " + PythonText.repr(key) + " in section " + PythonText.repr(current.name)
                                + " already exists (first at line " + first.line() + ")"));
            }
            current.start(key, PythonText.strip(text.substring(delimiter + 1)), lineno);
            option = key;
        }

        private static int firstDelimiter(String text) {
            int eq = text.indexOf('=');
            int colon = text.indexOf(':');
            if (eq < 0) {
                return colon;
            }
            return colon < 0 ? eq : Math.min(eq, colon);
        }

        private String missingHeaderMessage(String text) {
            if (text.startsWith("\uFEFF")) {
                return "the file starts with a UTF-8 byte order mark (BOM), which the reference reader"
                        + " takes as text before the first [Section] header; save the file as UTF-8"
                        + " without BOM";
            }
            return PythonText.repr(text) + " comes before the first [Section] header;"
                    + " every key must be inside a section";
        }

        /**
         * Python's universal newlines: {@code \n}, {@code \r\n} and a lone {@code \r} end a
         * line; a final line without an end still counts, an empty text has no lines.
         */
        private static List<String> lines(String text) {
            List<String> lines = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '\n' || c == '\r') {
                    lines.add(text.substring(start, i));
                    if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                        i++;
                    }
                    start = i + 1;
                }
            }
            if (start < text.length()) {
                lines.add(text.substring(start));
            }
            return lines;
        }
    }

    /** A section while it is being read: values are lists of lines until the end. */
    private static final class Builder {
        final String name;
        int line;
        final Map<String, Entry> entries = new LinkedHashMap<>();
        private final Map<String, List<String>> parts = new LinkedHashMap<>();

        Builder(String name) {
            this.name = name;
        }

        void start(String key, String firstLine, int lineno) {
            entries.put(key, new Entry(key, "", lineno));
            List<String> value = new ArrayList<>();
            value.add(firstLine);
            parts.put(key, value);
        }

        void continueValue(String key, String text) {
            parts.get(key).add(text);
        }

        Section build() {
            Map<String, Entry> done = new LinkedHashMap<>();
            entries.forEach((key, entry) -> done.put(key, new Entry(key,
                    // configparser joins the lines and drops trailing blank ones with rstrip()
                    PythonText.rstrip(String.join("\n", parts.get(key))), entry.line())));
            return new Section(name, line, done);
        }
    }
}
