package dev.conductor.cli;

import picocli.CommandLine;

/** {@code --version} of every command. */
final class Version implements CommandLine.IVersionProvider {
    static final String VERSION = "0.1.0";

    @Override
    public String[] getVersion() {
        return new String[]{"Conductor for Java " + VERSION + " (wire protocol v1), Java " + Runtime.version()};
    }
}
