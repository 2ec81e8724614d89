package dev.conductor.report;

import java.util.regex.Pattern;

/**
 * Makes any text fit in an XML 1.0 document. Step output is arbitrary bytes: terminal colour
 * codes, NULs, form feeds. XML 1.0 cannot carry most control characters at all, not even as
 * character references, and a writer that passes them on produces a file no parser opens.
 */
final class XmlChars {
    /** ANSI escape sequences (colours, cursor moves, window titles) carry nothing a report reader wants. */
    private static final Pattern ANSI = Pattern.compile("\u001B(?:\\[[0-?]*[ -/]*[@-~]|\\][^\u0007\u001B]*(?:\u0007|\u001B\\\\)?|[@-Z\\\\-_])");
    static final char REPLACEMENT = '\uFFFD';

    private XmlChars() {
    }

    /** {@code text} without ANSI sequences, every character XML 1.0 forbids replaced by U+FFFD. */
    static String clean(String text) {
        String s = text.indexOf('\u001B') >= 0 ? ANSI.matcher(text).replaceAll("") : text;
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok;
            if (Character.isHighSurrogate(c)) {
                ok = i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
                if (ok) {
                    if (b != null) {
                        b.append(c).append(s.charAt(i + 1));
                    }
                    i++;
                    continue;
                }
            } else {
                ok = allowed(c);
            }
            if (!ok && b == null) {
                b = new StringBuilder(s.length());
                b.append(s, 0, i);
            }
            if (b != null) {
                b.append(ok ? c : REPLACEMENT);
            }
        }
        return b == null ? s : b.toString();
    }

    /** XML 1.0's Char production, for a single UTF-16 unit (pairs are handled by the caller). */
    private static boolean allowed(char c) {
        return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD);
    }
}
