package dev.conductor.config;

import java.util.Locale;

/**
 * The few Python string operations configparser's behaviour depends on. Java's own
 * {@code strip()} and {@code isWhitespace} disagree with Python on characters such as
 * U+00A0 and U+001C, and a reader that must give the reference's answers cannot rely on them.
 */
final class PythonText {

    private PythonText() {
    }

    /** Python's {@code str.isspace()} for one code point (Unicode White_Space as CPython defines it). */
    static boolean isSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0
                || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029
                || c == 0x202f || c == 0x205f || c == 0x3000;
    }

    /** Python's {@code str.strip()}. */
    static String strip(String s) {
        return rstrip(s.substring(firstNonSpace(s)));
    }

    /** Python's {@code str.rstrip()}. */
    static String rstrip(String s) {
        int end = s.length();
        // every Python whitespace character is in the BMP, so char-wise scanning is exact
        while (end > 0 && isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    /** Index of the first non-whitespace character, or the length when there is none. */
    static int firstNonSpace(String s) {
        int i = 0;
        while (i < s.length() && isSpace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** Python's {@code str.lower()}, which configparser applies to every key. */
    static String lower(String s) {
        // ROOT, not the default locale: a Turkish default would turn 'I' into a dotless i
        return s.toLowerCase(Locale.ROOT);
    }

    /** Python's {@code repr()} of a str, as it appears inside configparser's error messages. */
    static String repr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder out = new StringBuilder(s.length() + 2).append(quote);
        s.codePoints().forEach(c -> {
            if (c == quote || c == '\\') {
                out.append('\\').appendCodePoint(c);
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", c));
            } else if (c < 0x7f || isPrintable(c)) {
                out.appendCodePoint(c);
            } else if (c <= 0xff) {
                out.append(String.format("\\x%02x", c));
            } else if (c <= 0xffff) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.append(String.format("\\U%08x", c));
            }
        });
        return out.append(quote).toString();
    }

    private static boolean isPrintable(int c) {
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                 Character.UNASSIGNED, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }
}
