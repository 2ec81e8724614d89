package dev.conductor.plan;

import java.util.OptionalLong;

/**
 * The {@code [Coordinator]} section of a worker file: where the player listens and where it
 * sends its results.
 *
 * @param player         host or address of the player (its command port listens there)
 * @param conductor      host or address the conductor binds its result port on
 * @param cmdport        the player's command port
 * @param resultsport    the conductor's result port for this worker
 * @param maxMessageSize per-worker frame size limit in bytes, when the file sets one
 */
public record Coordinator(String player, String conductor, int cmdport, int resultsport,
                          OptionalLong maxMessageSize) {
}
