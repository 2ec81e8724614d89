package dev.conductor.cli;

/**
 * The JVM flags the launchers give by default ({@code bin/lib/launch.sh}, which spells them
 * out again; a test keeps the two the same), for the harnesses that start JVMs the way users do.
 * {@code CONDUCTOR_JAVA_OPTS}, even empty, replaces them.
 */
public final class LaunchFlags {
    /**
     * {@code bin/conduct}, {@code bin/fixture}, {@code bin/bench}: a serial collector and a
     * capped heap (G1 would size the heap from the machine's RAM).
     */
    public static final String CONDUCTOR = "-XX:+UseSerialGC -Xmx128m";

    /**
     * {@code bin/player}: as {@link #CONDUCTOR}, and a heap that starts small, the C1 compiler
     * only (a player's work is system calls and the JDK's intrinsics: copies, CRC32C), and
     * freed native memory handed back every second (ignored by a JDK 21 without the flag). An
     * idle player stays under 64 MB of RSS (docs/PERFORMANCE.md). No smaller heap: phases at
     * the protocol's default limit of 10 MiB ran players with -Xmx32m and -Xmx64m out of it.
     * The player's own code and Jackson's are compiled after a tenth of the usual calls
     * ({@link #EARLY_COMPILE}), so that the player's warm-up compiles what each phase runs.
     */
    public static final String PLAYER = "-XX:+UseSerialGC -Xms8m -Xmx128m -XX:TieredStopAtLevel=1"
            + " -XX:+IgnoreUnrecognizedVMOptions -XX:TrimNativeHeapInterval=1000 " + LaunchFlags.EARLY_COMPILE;

    /**
     * A player's code and Jackson's, and the JDK's code that starts a process (its process
     * classes, {@code java.io} and {@code java.util}), compiled after a tenth of the calls the
     * JVM waits for by default: a phase runs each of them a few times, and at the default a
     * player was still interpreting its start path after a hundred phases. Compiling every
     * method that early cost an idle player 4 MB; the player's and Jackson's code about 1.5 MB,
     * and the JDK's part 0.7 MB more, for a start spread at 32 players of 1.64 ms instead of
     * 2.4 to 2.7 (docs/PERFORMANCE.md).
     */
    public static final String EARLY_COMPILE = "-XX:CompileCommand=quiet"
            + " -XX:CompileCommand=CompileThresholdScaling,dev/conductor/*.*,0.1"
            + " -XX:CompileCommand=CompileThresholdScaling,com/fasterxml/*.*,0.1"
            + " -XX:CompileCommand=CompileThresholdScaling,java/lang/Process*.*,0.1"
            + " -XX:CompileCommand=CompileThresholdScaling,java/io/*.*,0.1"
            + " -XX:CompileCommand=CompileThresholdScaling,java/util/*.*,0.1";

    /**
     * {@code bin/player --tls-cert ...}: as {@link #PLAYER} with the C2 compiler, whose AES
     * intrinsics encrypt some 20 times faster than C1's code (AES-GCM 700 against 31 MB/s on
     * one core here); an idle player then takes about 5 MB more.
     */
    public static final String PLAYER_TLS = "-XX:+UseSerialGC -Xms8m -Xmx128m"
            + " -XX:+IgnoreUnrecognizedVMOptions -XX:TrimNativeHeapInterval=1000 " + LaunchFlags.EARLY_COMPILE;

    private LaunchFlags() {
    }
}
