package dev.conductor.interop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the Python reference's recordings are: {@code $CONDUCTOR_INTEROP} when set, else
 * {@code ../shared/interop}, the folder beside the checkout; for a clone of a local checkout
 * made elsewhere ({@code git clone /path/to/main /tmp/try}), the folder beside that checkout.
 */
public final class Interop {
    private static final Path BESIDE = Path.of("..", "shared", "interop");

    private Interop() {
    }

    /** The recordings' folder, or a path under it. */
    public static Path folder(String... under) {
        return Path.of(root().toString(), under);
    }

    private static Path root() {
        String env = System.getenv("CONDUCTOR_INTEROP");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        if (Files.isDirectory(BESIDE)) {
            return BESIDE;
        }
        return localOrigin().map(o -> o.resolveSibling("shared").resolve("interop")).filter(Files::isDirectory)
                .orElse(BESIDE);
    }

    /** The checkout this one was cloned from, when that is a folder on this machine. */
    private static Optional<Path> localOrigin() {
        List<String> config;
        try {
            config = Files.readAllLines(Path.of(".git", "config"));
        } catch (IOException e) {
            return Optional.empty();
        }
        boolean inOrigin = false;
        for (String line : config) {
            String t = line.strip();
            if (t.startsWith("[")) {
                inOrigin = t.equals("[remote \"origin\"]");
            } else if (inOrigin && t.startsWith("url")) {
                String url = t.substring(t.indexOf('=') + 1).strip();
                url = url.startsWith("file://") ? url.substring("file://".length()) : url;
                Path p = Path.of(url).toAbsolutePath().normalize();
                return url.startsWith("/") && Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** What a test says when a recording is missing: where it looked, and how to point it elsewhere. */
    public static String notFound(Path file) {
        return "reference recording not found at " + file.toAbsolutePath().normalize()
                + ": clone the project beside the shared folder (../shared/interop), or set CONDUCTOR_INTEROP"
                + " to the interop folder";
    }
}
