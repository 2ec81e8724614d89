package dev.conductor.bench;

import picocli.CommandLine.Option;

/** {@code --player-java-opts}, shared by the harnesses that start player JVMs. */
final class PlayerJavaOpts {
    @Option(names = "--player-java-opts", paramLabel = "OPTS", defaultValue = dev.conductor.cli.LaunchFlags.PLAYER,
            description = "flags of the player JVMs; '' for the JVM's defaults (default: bin/player's, ${DEFAULT-VALUE})")
    String value;
}
