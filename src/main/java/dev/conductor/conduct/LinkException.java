package dev.conductor.conduct;

/** A player could not be reached or did not answer as the protocol says; the message says which and how. */
public final class LinkException extends Exception {
    public LinkException(String message) {
        super(message);
    }
}
