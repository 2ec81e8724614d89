package dev.conductor.cli;

import dev.conductor.wire.Tls;
import picocli.CommandLine.Option;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** {@code --tls-cert}, {@code --tls-key}, {@code --tls-ca}: all three, or none. */
final class TlsOptions {
    @Option(names = "--tls-cert", paramLabel = "PEM", description = "our certificate (chain), PEM; enables mutual TLS for v2")
    Path cert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "our private key, PEM PKCS#8 (unencrypted)")
    Path key;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "CA certificate(s) the peer's certificate must chain to")
    Path ca;

    /**
     * @return the TLS context, empty when none of the options was given
     * @throws IOException with a message naming what is missing or unreadable
     */
    Optional<SSLContext> context() throws IOException {
        if (cert == null && key == null && ca == null) {
            return Optional.empty();
        }
        if (cert == null || key == null || ca == null) {
            throw new IOException("TLS needs all of --tls-cert, --tls-key and --tls-ca (missing: "
                    + (cert == null ? "--tls-cert " : "") + (key == null ? "--tls-key " : "") + (ca == null ? "--tls-ca" : "")
                    + ")");
        }
        return Optional.of(Tls.context(new Tls.Files3(cert, key, ca)));
    }
}
