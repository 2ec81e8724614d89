package dev.conductor.wire;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Mutual TLS for v2 from PEM files: our certificate chain, our private key (PKCS#8), and the CA
 * certificates a peer's certificate must chain to. Both sides present a certificate and check
 * the other's, so only holders of a certificate from the lab's CA take part.
 */
public final class Tls {
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final char[] NO_PASSWORD = new char[0];

    private Tls() {
    }

    /** The three files every side needs; the messages name whichever is wrong. */
    public record Files3(Path cert, Path key, Path ca) {
    }

    public static SSLContext context(Files3 files) throws IOException {
        try {
            List<Certificate> chain = certificates(files.cert(), "--tls-cert");
            PrivateKey key = privateKey(files.key());
            List<Certificate> cas = certificates(files.ca(), "--tls-ca");
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("self", key, NO_PASSWORD, chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, NO_PASSWORD);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                trust.setCertificateEntry("ca" + i, cas.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up TLS from " + files.cert() + ", " + files.key() + ", " + files.ca()
                    + ": " + e.getMessage(), e);
        }
    }

    private static List<Certificate> certificates(Path file, String option) throws IOException, GeneralSecurityException {
        String pem = read(file, option);
        List<Certificate> out = new ArrayList<>();
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            if (m.group(1).equals("CERTIFICATE")) {
                out.add(cf.generateCertificate(new ByteArrayInputStream(decode(m.group(2), file))));
            }
        }
        if (out.isEmpty()) {
            throw new IOException(option + " " + file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        return out;
    }

    private static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
        String pem = read(file, "--tls-key");
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            String kind = m.group(1);
            if (kind.equals("PRIVATE KEY")) {
                byte[] der = decode(m.group(2), file);
                for (String algorithm : List.of("RSA", "EC", "Ed25519", "RSASSA-PSS")) {
                    try {
                        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
                    } catch (GeneralSecurityException tryNext) {
                        // The PKCS#8 header names the algorithm; the JDK needs it named up front.
                    }
                }
                throw new IOException("--tls-key " + file + ": a PKCS#8 key of an algorithm this JDK cannot read");
            }
            if (kind.endsWith("PRIVATE KEY")) {
                throw new IOException("--tls-key " + file + " is a '" + kind + "' (PKCS#1/SEC1); convert it to PKCS#8 with"
                        + " 'openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key.pem'");
            }
        }
        throw new IOException("--tls-key " + file + " holds no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)");
    }

    private static String read(Path file, String option) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IOException("cannot read " + option + " " + file + ": " + e.getMessage(), e);
        }
    }

    private static byte[] decode(String base64, Path file) throws IOException {
        try {
            return Base64.getMimeDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": a PEM block is not valid base64");
        }
    }
}
