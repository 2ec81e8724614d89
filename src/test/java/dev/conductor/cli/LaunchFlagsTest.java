package dev.conductor.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The launchers and the harnesses that start JVMs as the launchers do agree on the flags. */
class LaunchFlagsTest {
    @Test
    void theLauncherSpellsOutTheSameFlags() throws Exception {
        String launcher = Files.readString(Path.of("bin", "lib", "launch.sh"));
        assertThat(launcher)
                .contains("dev.conductor.cli.PlayerCommand)\n    CONDUCTOR_DEFAULT_OPTS=\"" + LaunchFlags.PLAYER + "\"\n")
                .contains("--tls-cert|--tls-cert=*)\n          CONDUCTOR_DEFAULT_OPTS=\"" + LaunchFlags.PLAYER_TLS + "\" ;;")
                .contains("*)\n    CONDUCTOR_DEFAULT_OPTS=\"" + LaunchFlags.CONDUCTOR + "\" ;;")
                .contains("${CONDUCTOR_JAVA_OPTS-$CONDUCTOR_DEFAULT_OPTS}");
    }

    /** A JDK that does not know a flag of these must still start: the launchers run on any JDK 21 or later. */
    @Test
    void thePlayersFlagsStartThisJdk() throws Exception {
        startsThisJdk(LaunchFlags.PLAYER);
        startsThisJdk(LaunchFlags.PLAYER_TLS);
        startsThisJdk(LaunchFlags.CONDUCTOR);
    }

    private static void startsThisJdk(String flags) throws Exception {
        java.util.List<String> argv = new java.util.ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.addAll(java.util.List.of(flags.split(" ")));
        argv.add("-version");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(flags + ": " + out).isZero();
    }
}
