package dev.conductor.config;

import dev.conductor.plan.Step;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The steps that coordinate rather than run a command, written as a value prefix:
 * {@code sleep:}, {@code barrier:}, {@code expect:}, {@code send:}, {@code close:},
 * {@code signal:}, {@code terminate:}, {@code wait:}. A prefix, not a key, so that files written
 * for the reference whose keys happen to start with these words keep their meaning.
 */
final class CoordinationSteps {
    static final List<String> PREFIXES = List.of("sleep:", "barrier:", "expect:", "send:", "close:", "signal:",
            "terminate:", "wait:", "put:", "get:");
    private static final Duration TRANSFER_LIMIT = Duration.ofSeconds(600);
    /** {@code put: results:WORKER/NAME ...} reads what a {@code get:} fetched earlier in the same trial. */
    static final String RESULTS = "results:";
    private static final Duration DEFAULT_LIMIT = Duration.ofSeconds(30);
    private static final Duration DEFAULT_GRACE = Duration.ofSeconds(5);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]+");
    private static final Set<String> SIGNALS = Set.of("HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "STOP", "CONT",
            "ALRM", "PIPE", "WINCH");

    private CoordinationSteps() {
    }

    /** A problem with the step's syntax; the caller adds file and line. */
    static final class Bad extends Exception {
        Bad(String message) {
            super(message);
        }
    }

    static Optional<String> prefixOf(String value) {
        return PREFIXES.stream().filter(value::startsWith).findFirst();
    }

    static Step parse(String key, int line, String prefix, String rest) throws Bad {
        String args = PythonText.strip(rest);
        return switch (prefix) {
            case "sleep:" -> new Step.Sleep(key, line, duration(words(args, 1, 1, "sleep: SECONDS, e.g. sleep: 2.5")[0],
                    "the time to sleep"));
            case "barrier:" -> {
                String[] w = words(args, 1, 2, "barrier: NAME [LIMIT], e.g. barrier: ready 60");
                if (!NAME.matcher(w[0]).matches()) {
                    throw new Bad("a barrier's name is letters, digits, '_', '.', '-', not '" + w[0] + "'");
                }
                yield new Step.Barrier(key, line, w[0], w.length > 1 ? duration(w[1], "the barrier's limit") : DEFAULT_LIMIT);
            }
            case "expect:" -> expect(key, line, args);
            case "send:" -> {
                int space = args.indexOf(' ');
                if (space < 0) {
                    throw new Bad("send: TARGET TEXT, e.g. send: spawn1 hello\\n");
                }
                String target = target(args.substring(0, space));
                String written = PythonText.strip(args.substring(space + 1));
                yield new Step.Send(key, line, target, unescape(written), written);
            }
            case "close:" -> new Step.Close(key, line, target(words(args, 1, 1, "close: TARGET")[0]));
            case "signal:" -> {
                String[] w = words(args, 2, 2, "signal: TARGET SIGNAL, e.g. signal: spawn1 HUP");
                yield new Step.Signal(key, line, target(w[0]), signal(w[1]));
            }
            case "terminate:" -> {
                String[] w = words(args, 1, 2, "terminate: TARGET [GRACE], e.g. terminate: spawn1 5");
                yield new Step.Terminate(key, line, target(w[0]), w.length > 1 ? duration(w[1], "the grace") : DEFAULT_GRACE);
            }
            case "wait:" -> {
                String[] w = words(args, 1, 2, "wait: TARGET [LIMIT], e.g. wait: spawn1 60");
                yield new Step.Wait(key, line, target(w[0]), w.length > 1 ? duration(w[1], "the limit") : DEFAULT_LIMIT);
            }
            case "put:" -> {
                String[] w = words(args, 2, 3, "put: LOCAL REMOTE [LIMIT], e.g. put: data/payload.bin payload.bin");
                String local = w[0].startsWith(RESULTS) ? RESULTS + relative(w[0].substring(RESULTS.length()),
                        "LOCAL (relative to the trial's results folder)")
                        : relative(w[0], "LOCAL (relative to the test file's folder)");
                yield new Step.Put(key, line, local,
                        relative(w[1], "REMOTE (relative to the player's files folder)"),
                        w.length > 2 ? duration(w[2], "the limit") : TRANSFER_LIMIT);
            }
            case "get:" -> {
                String[] w = words(args, 1, 3, "get: REMOTE [NAME [LIMIT]], e.g. get: capture.pcap");
                String remote = relative(w[0], "REMOTE (relative to the player's files folder)");
                String name = w.length > 1 ? relative(w[1], "NAME (relative to the worker's results folder)")
                        : java.nio.file.Path.of(remote).getFileName().toString();
                yield new Step.Get(key, line, remote, name, w.length > 2 ? duration(w[2], "the limit") : TRANSFER_LIMIT);
            }
            default -> throw new Bad("unknown step prefix " + prefix);
        };
    }

    /** {@code expect: TARGET /REGEX/ [LIMIT]}; a slash inside the expression is written {@code \/}. */
    private static Step expect(String key, int line, String args) throws Bad {
        String usage = "expect: TARGET /REGEX/ [LIMIT], e.g. expect: spawn1 /listening on port (\\d+)/ 10";
        int space = args.indexOf(' ');
        if (space < 0) {
            throw new Bad(usage);
        }
        String target = target(args.substring(0, space));
        String rest = args.substring(space + 1).stripLeading();
        if (!rest.startsWith("/")) {
            throw new Bad("the expression must be between slashes: " + usage);
        }
        int end = -1;
        for (int i = 1; i < rest.length(); i++) {
            if (rest.charAt(i) == '\\') {
                i++;
            } else if (rest.charAt(i) == '/') {
                end = i;
                break;
            }
        }
        if (end < 0) {
            throw new Bad("the expression has no closing '/': " + usage);
        }
        String regex = rest.substring(1, end).replace("\\/", "/");
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new Bad("the expression /" + regex + "/ is not a valid regular expression: " + e.getDescription());
        }
        String tail = rest.substring(end + 1).strip();
        Duration limit = tail.isEmpty() ? DEFAULT_LIMIT : duration(tail, "the limit");
        return new Step.Expect(key, line, target, regex, limit);
    }

    /** A path that stays inside its folder: relative, and no '..' part. */
    static String relative(String path, String what) throws Bad {
        java.nio.file.Path p;
        try {
            p = java.nio.file.Path.of(path).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new Bad(what + ": '" + path + "' is not a path");
        }
        if (p.isAbsolute() || p.startsWith("..") || p.toString().isEmpty() || path.contains("/../") || path.startsWith("../")) {
            throw new Bad(what + ": '" + path + "' must be relative and stay inside its folder (no absolute path, no '..')");
        }
        return p.toString();
    }

    private static String[] words(String args, int min, int max, String usage) throws Bad {
        String[] w = args.isEmpty() ? new String[0] : args.split("\\s+");
        if (w.length < min || w.length > max) {
            throw new Bad("expected " + usage);
        }
        return w;
    }

    private static String target(String word) throws Bad {
        if (!word.equals("-") && !NAME.matcher(word).matches()) {
            throw new Bad("'" + word + "' is not a step key (the key of a spawned step, or '-' for the latest)");
        }
        return word.toLowerCase(java.util.Locale.ROOT);
    }

    private static String signal(String word) throws Bad {
        String s = word.toUpperCase(java.util.Locale.ROOT).replaceFirst("^SIG", "");
        if (SIGNALS.contains(s) || s.matches("[0-9]{1,2}")) {
            return s;
        }
        throw new Bad("unknown signal '" + word + "' (use a name such as TERM, INT, HUP, USR1, KILL, or a number)");
    }

    private static Duration duration(String text, String what) throws Bad {
        try {
            BigDecimal seconds = new BigDecimal(text);
            if (seconds.signum() <= 0 || seconds.compareTo(BigDecimal.valueOf(86_400)) > 0) {
                throw new Bad(what + " must be more than 0 and at most 86400 seconds, not " + text);
            }
            return Duration.ofNanos(seconds.movePointRight(9).longValue());
        } catch (NumberFormatException e) {
            throw new Bad(what + ": '" + text + "' is not a number of seconds");
        }
    }

    /**
     * Decodes {@code \n \r \t \s} (a space, since values lose their edges' spaces) {@code \0
     * \\ \xHH} into bytes, other text as UTF-8; returns them one char per byte.
     */
    static String unescape(String s) throws Bad {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                int cp = s.codePointAt(i);
                b.writeBytes(new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                i += Character.charCount(cp) - 1;
                continue;
            }
            if (++i >= s.length()) {
                throw new Bad("a '\\' at the end of the text; write '\\\\' for a backslash");
            }
            char e = s.charAt(i);
            switch (e) {
                case 'n' -> b.write('\n');
                case 'r' -> b.write('\r');
                case 't' -> b.write('\t');
                case 's' -> b.write(' ');
                case '0' -> b.write(0);
                case '\\' -> b.write('\\');
                case 'x' -> {
                    try {
                        b.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                    } catch (RuntimeException ex) {
                        throw new Bad("'\\x' needs two hex digits");
                    }
                    i += 2;
                }
                default -> throw new Bad("unknown escape '\\" + e + "' (known: \\n \\r \\t \\s \\0 \\\\ \\xHH)");
            }
        }
        return new String(b.toByteArray(), java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
