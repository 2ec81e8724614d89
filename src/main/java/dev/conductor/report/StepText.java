package dev.conductor.report;

import dev.conductor.events.Event;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** How the TAP, JUnit and chart reports word a step: one-line commands, why it failed, its output's end. */
final class StepText {
    /** What the reports quote of a failed step's output: as much as a reader scans on a CI page. */
    static final int TAIL_LINES = 20;
    static final int TAIL_CHARS = 4000;

    private StepText() {
    }

    /** {@code text} on one line (line breaks and other control characters become spaces), at most {@code max} characters. */
    static String oneLine(String text, int max) {
        StringBuilder b = new StringBuilder(Math.min(text.length(), max + 1));
        for (int i = 0; i < text.length() && b.length() <= max; i++) {
            char c = text.charAt(i);
            b.append(Character.isISOControl(c) ? ' ' : c);
        }
        String line = b.toString().strip();
        if (line.length() > max) {
            int cut = max - 1;
            if (Character.isHighSurrogate(line.charAt(cut - 1))) {
                cut--;
            }
            line = line.substring(0, cut) + "…";
        }
        return line;
    }

    /**
     * Why a step did not pass, in a line: the player's message without the command it repeats
     * (ours say "exited with code 7", "Command timed out after 5 seconds ...", "killed: ...").
     */
    static String reason(Event.StepFinished e) {
        String command = e.command().strip();
        for (String line : e.message().lines().toList()) {
            String l = line.strip();
            if (!l.isEmpty() && !l.equals(command)) {
                return oneLine(l, 200);
            }
        }
        return switch (e.status()) {
            case FAILED -> "exited with code " + e.code();
            case TIMEOUT -> "timed out";
            case KILLED -> "killed";
            case SKIPPED -> "skipped";
            case TODO -> "to do";
            case OK, SPAWNED -> "";
        };
    }

    /** Why a skipped step was skipped, without the player's "skipped: " prefix. */
    static String skipReason(Event.StepFinished e) {
        String m = e.message().strip();
        if (m.regionMatches(true, 0, "skipped:", 0, 8)) {
            m = m.substring(8).strip();
        }
        return m.isEmpty() ? "an earlier step failed" : oneLine(m, 200);
    }

    /**
     * A reference player has no output fields: everything it has to say is in the message. Worth
     * quoting when it says more than the command and {@link #reason}.
     */
    static boolean outputOnlyInMessage(Event.StepFinished e) {
        if (!e.stdout().isEmpty() || !e.stderr().isEmpty()) {
            return false;
        }
        String command = e.command().strip();
        List<String> rest = e.message().lines().map(String::strip).filter(l -> !l.isEmpty() && !l.equals(command)).toList();
        return rest.size() > 1 || (rest.size() == 1 && !rest.getFirst().equals(reason(e)));
    }

    static String millis(Duration d) {
        long ms = d.toMillis();
        return ms < 10_000 ? ms + " ms" : String.format(Locale.ROOT, "%.1f s", d.toNanos() / 1e9);
    }

    /**
     * The end of some output: its last {@code maxLines} lines (trailing blank lines dropped), cut
     * further to the last {@code maxChars} characters at a line start where it can be.
     *
     * @param omittedLines how many lines came before what is kept
     */
    record Tail(String text, int omittedLines) {
        static Tail of(String output, int maxLines, int maxChars) {
            List<String> lines = output.lines().toList();
            int end = lines.size();
            while (end > 0 && lines.get(end - 1).isBlank()) {
                end--;
            }
            int from = Math.max(0, end - maxLines);
            String text = String.join("\n", lines.subList(from, end));
            if (text.length() > maxChars) {
                int cut = text.length() - maxChars;
                int nl = text.indexOf('\n', cut);
                if (nl >= 0 && nl < text.length() - 1) {
                    from += (int) text.substring(0, nl + 1).chars().filter(c -> c == '\n').count();
                    text = text.substring(nl + 1);
                } else {
                    if (Character.isLowSurrogate(text.charAt(cut))) {
                        cut++;
                    }
                    text = "…" + text.substring(cut);
                }
            }
            return new Tail(text, from);
        }

        boolean isEmpty() {
            return text.isEmpty();
        }
    }
}
