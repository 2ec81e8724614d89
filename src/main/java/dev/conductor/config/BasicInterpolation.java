package dev.conductor.config;

import dev.conductor.config.ConfigException.Kind;

import java.util.Optional;
import java.util.function.Function;

/**
 * configparser's {@code BasicInterpolation}: {@code %(name)s} is replaced by the value of key
 * {@code name} (same section first, then {@code [DEFAULT]}), {@code %%} is a literal
 * {@code %}, any other {@code %} is an error. Substituted values are expanded in turn, in the
 * context of the section that was asked for, up to {@value #MAX_DEPTH} levels.
 *
 * <p>One instance resolves one value; failures are results, not exceptions, so that the
 * golden tests can compare the reference's own message as well as ours.
 */
final class BasicInterpolation {

    /** configparser's {@code MAX_INTERPOLATION_DEPTH}. */
    static final int MAX_DEPTH = 10;

    sealed interface Result permits Value, Failure {
    }

    /** The value after substitution. */
    record Value(String text) implements Result {
    }

    /**
     * A value that cannot be substituted.
     *
     * @param referenceMessage the message Python's exception carries, character for character
     * @param message          ours: what is wrong and what to write instead (no file or line)
     */
    record Failure(Kind kind, String referenceMessage, String message) implements Result {
    }

    private final String section;
    private final String option;
    private final String raw;
    private final Function<String, Optional<String>> lookup;

    /**
     * @param option the key being read (lower case), named in errors at every depth
     * @param raw    its value before substitution, quoted in errors at every depth
     * @param lookup raw value of a lower-case key as seen from {@code section}
     */
    private BasicInterpolation(String section, String option, String raw,
                               Function<String, Optional<String>> lookup) {
        this.section = section;
        this.option = option;
        this.raw = raw;
        this.lookup = lookup;
    }

    static Result resolve(String section, String option, String raw,
                          Function<String, Optional<String>> lookup) {
        BasicInterpolation it = new BasicInterpolation(section, option, raw, lookup);
        StringBuilder out = new StringBuilder();
        Failure failure = it.expand(out, raw, 1);
        return failure != null ? failure : new Value(out.toString());
    }

    /** Appends {@code rest} with its references expanded; the first failure ends the walk. */
    private Failure expand(StringBuilder out, String rest, int depth) {
        if (depth > MAX_DEPTH) {
            return depthError();
        }
        while (!rest.isEmpty()) {
            int p = rest.indexOf('%');
            if (p < 0) {
                out.append(rest);
                return null;
            }
            out.append(rest, 0, p);
            rest = rest.substring(p);
            char next = rest.length() > 1 ? rest.charAt(1) : 0;
            if (rest.length() > 1 && next == '%') {
                out.append('%');
                rest = rest.substring(2);
            } else if (rest.length() > 1 && next == '(') {
                // configparser's pattern is %\(([^)]+)\)s: the name runs to the first ')'
                int close = rest.indexOf(')', 2);
                if (close < 3 || close + 1 >= rest.length() || rest.charAt(close + 1) != 's') {
                    return badReference(rest);
                }
                String name = PythonText.lower(rest.substring(2, close));
                rest = rest.substring(close + 2);
                Optional<String> value = lookup.apply(name);
                if (value.isEmpty()) {
                    return missing(name);
                }
                if (value.get().indexOf('%') >= 0) {
                    Failure failure = expand(out, value.get(), depth + 1);
                    if (failure != null) {
                        return failure;
                    }
                } else {
                    out.append(value.get());
                }
            } else {
                return badPercent(rest);
            }
        }
        return null;
    }

    private String where() {
        return "option " + PythonText.repr(option) + " in section " + PythonText.repr(section);
    }

    private Failure badPercent(String rest) {
        return new Failure(Kind.INTERPOLATION_SYNTAX,
                "'%' must be followed by '%' or '(', found: " + PythonText.repr(rest),
                where() + ": '%' must be followed by '%' or '(name)s', found " + PythonText.repr(rest)
                        + " (write %% for a literal %)");
    }

    private Failure badReference(String rest) {
        return new Failure(Kind.INTERPOLATION_SYNTAX,
                "bad interpolation variable reference " + PythonText.repr(rest),
                where() + ": bad reference " + PythonText.repr(rest)
                        + " (write %(name)s to use key 'name', or %% for a literal %)");
    }

    private Failure missing(String name) {
        return new Failure(Kind.INTERPOLATION_MISSING_OPTION,
                "Bad value substitution: " + where() + " contains an interpolation key "
                        + PythonText.repr(name) + " which is not a valid option name. Raw value: "
                        + PythonText.repr(raw),
                where() + " uses %(" + name + ")s, but there is no key " + PythonText.repr(name)
                        + " in [" + section + "] or [DEFAULT] (write %% for a literal %)");
    }

    private Failure depthError() {
        return new Failure(Kind.INTERPOLATION_DEPTH,
                "Recursion limit exceeded in value substitution: " + where()
                        + " contains an interpolation key which cannot be substituted in " + MAX_DEPTH
                        + " steps. Raw value: " + PythonText.repr(raw),
                where() + ": %(name)s references are still unresolved after " + MAX_DEPTH
                        + " levels (do two keys refer to each other?); raw value " + PythonText.repr(raw));
    }
}
