package dev.conductor.wire;

import java.io.IOException;

/** A length header announced more bytes than the size limit allows; the body was not read. */
public final class FrameTooLargeException extends IOException {
    private final long length;
    private final long limit;

    public FrameTooLargeException(long length, long limit) {
        // The reference's wording, which its conductors and users already know.
        super("Message too large: " + length + " bytes (max: " + limit + ")");
        this.length = length;
        this.limit = limit;
    }

    public long length() {
        return length;
    }

    public long limit() {
        return limit;
    }
}
