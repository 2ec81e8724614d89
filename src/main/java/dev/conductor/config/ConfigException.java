package dev.conductor.config;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A test file or worker file that cannot be used, with every problem found in it. Each
 * problem names its file and line so the user can go straight to it; {@link #getMessage()}
 * lists them one per line as {@code file:line: problem}, which is what the CLI prints.
 */
public final class ConfigException extends Exception {

    /**
     * What kind of rule a problem broke. The INI kinds correspond one to one to the
     * exceptions Python's {@code configparser} raises, so tests can check that we reject
     * exactly what the reference rejects.
     */
    public enum Kind {
        /** The file is missing, unreadable or not UTF-8. */
        UNREADABLE,
        /** A key comes before any {@code [Section]} header ({@code MissingSectionHeaderError}). */
        MISSING_SECTION_HEADER,
        /** A section header appears twice ({@code DuplicateSectionError}). */
        DUPLICATE_SECTION,
        /** A key appears twice in one section ({@code DuplicateOptionError}). */
        DUPLICATE_OPTION,
        /** A line is neither a header, a {@code key = value} line nor a comment ({@code ParsingError}). */
        SYNTAX,
        /** A {@code %} not followed by {@code %} or {@code (name)s} ({@code InterpolationSyntaxError}). */
        INTERPOLATION_SYNTAX,
        /** {@code %(name)s} names no key ({@code InterpolationMissingOptionError}). */
        INTERPOLATION_MISSING_OPTION,
        /** {@code %(name)s} references nest too deep, usually a loop ({@code InterpolationDepthError}). */
        INTERPOLATION_DEPTH,
        /** The file is valid INI but breaks a rule of test files or worker files. */
        INVALID
    }

    /**
     * One problem at one place.
     *
     * @param file    the file as it was named when opened (relative paths stay relative)
     * @param line    1-based line, 0 when the problem concerns the whole file
     * @param message what is wrong and, where it helps, what to do
     */
    public record Problem(Kind kind, String file, int line, String message) {
        public Problem {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(message, "message");
            if (line < 0) {
                throw new IllegalArgumentException("line must be >= 0, was " + line);
            }
        }

        /** {@code file:line: message}, or {@code file: message} when there is no line. */
        @Override
        public String toString() {
            return line > 0 ? file + ":" + line + ": " + message : file + ": " + message;
        }
    }

    private final List<Problem> problems;

    public ConfigException(Problem problem) {
        this(List.of(problem));
    }

    /** @param problems at least one, in the order they should be shown */
    public ConfigException(List<Problem> problems) {
        super(render(problems));
        this.problems = List.copyOf(problems);
    }

    private static String render(List<Problem> problems) {
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        return problems.stream().map(Problem::toString).collect(Collectors.joining("\n"));
    }

    /** Every problem, in the order found (files in the order read, lines ascending within a check). */
    public List<Problem> problems() {
        return problems;
    }

    /** The kind of the first problem. */
    public Kind kind() {
        return problems.get(0).kind();
    }

    /** The file of the first problem. */
    public String file() {
        return problems.get(0).file();
    }

    /** The line of the first problem, 0 when it concerns the whole file. */
    public int line() {
        return problems.get(0).line();
    }
}
