package dev.conductor.wire;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * Shared-secret authentication for v2: each side proves it knows the token by an HMAC-SHA256
 * over both sides' fresh nonces and its role, so the token never crosses the wire and a
 * recorded proof is worthless in another session or in the other direction.
 */
public final class Auth {
    public static final String SCHEME = "hmac-sha256";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Auth() {
    }

    /** Reads a token file: its content, surrounding whitespace removed; at least 16 bytes. */
    public static byte[] readToken(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IOException("cannot read token file " + file + ": " + e.getMessage(), e);
        }
        if (text.length() < 16) {
            throw new IOException("token file " + file + " holds " + text.length()
                    + " characters; use at least 16 (e.g. 'openssl rand -hex 32 > " + file + "')");
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    public static String nonce() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }

    /** The proof of {@code role} ("player" or "conductor") for this pair of nonces. */
    public static String proof(byte[] token, String role, String conductorNonce, String playerNonce) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(token, "HmacSHA256"));
            byte[] out = mac.doFinal((role + "|" + conductorNonce + "|" + playerNonce).getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /** Constant-time comparison, so timing tells an attacker nothing. */
    public static boolean matches(String expected, String got) {
        return got != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), got.getBytes(StandardCharsets.UTF_8));
    }
}
