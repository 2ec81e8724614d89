package dev.conductor.wire;

/**
 * A frame that decoded to something the protocol does not accept. Carries the result code and
 * message the reference answers with, so a player can reply exactly as the reference does.
 */
public final class ProtocolException extends Exception {
    private final int code;

    public ProtocolException(int code, String message) {
        super(message);
        this.code = code;
    }

    public int code() {
        return code;
    }
}
