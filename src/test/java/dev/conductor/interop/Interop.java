package dev.conductor.interop;

import java.nio.file.Path;

/**
 * Where the Python reference's recordings are: {@code $CONDUCTOR_INTEROP} when set, else
 * {@code ../shared/interop}, the folder beside the checkout.
 */
public final class Interop {
    private Interop() {
    }

    /** The recordings' folder, or a path under it. */
    public static Path folder(String... under) {
        String env = System.getenv("CONDUCTOR_INTEROP");
        Path root = env != null && !env.isBlank() ? Path.of(env) : Path.of("..", "shared", "interop");
        return Path.of(root.toString(), under);
    }

    /** What a test says when a recording is missing: where it looked, and how to point it elsewhere. */
    public static String notFound(Path file) {
        return "reference recording not found at " + file.toAbsolutePath().normalize()
                + ": clone the project beside the shared folder (../shared/interop), or set CONDUCTOR_INTEROP"
                + " to the interop folder";
    }
}
