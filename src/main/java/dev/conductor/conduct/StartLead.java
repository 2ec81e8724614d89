package dev.conductor.conduct;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The extra lead a v2 start gets on top of its fixed lead, from how long before the instant the
 * players of the phases before were ready: on a machine shared by many players, the start
 * orders take longer to be read than any fixed lead allows for.
 *
 * <p>It goes up at once to what the latest player needed (plus {@link #MARGIN_MICROS}) and down
 * by half a phase. A few players late for the first time (up to one in 16) are passed over: one
 * that did not get a CPU for a while is late whatever the lead, and a lead raised for it costs
 * every later phase its time. One late twice in a row counts, and with fewer than 16 players
 * every one does.
 */
final class StartLead {
    /** Ready less than this before the instant is late. */
    static final long MARGIN_MICROS = 1_000;
    static final long MAX_EXTRA_MICROS = 500_000;

    private long extraMicros;
    private Set<String> lateBefore = Set.of();

    /** The extra lead for the next start, in microseconds. */
    long extraMicros() {
        return extraMicros;
    }

    /**
     * Takes a phase's readiness into account.
     *
     * @param slacks   per worker, how long before the instant it was ready (negative: after), in µs
     * @param lead     that phase's whole lead, send to instant
     * @param baseLead the fixed part of it
     */
    void phaseDone(Map<String, Long> slacks, long lead, long baseLead) {
        if (slacks.isEmpty()) {
            return;
        }
        List<Map.Entry<String, Long>> ready = new ArrayList<>(slacks.entrySet());
        ready.sort(Map.Entry.comparingByValue());
        Set<String> lateNow = new HashSet<>();
        for (var r : ready) {
            if (r.getValue() < MARGIN_MICROS) {
                lateNow.add(r.getKey());
            }
        }
        int passOver = ready.size() / 16;
        long minSlack = ready.getLast().getValue();
        for (var r : ready) {
            if (lateNow.contains(r.getKey()) && passOver > 0 && !lateBefore.contains(r.getKey())) {
                passOver--;
                continue;
            }
            minSlack = r.getValue();
            break;
        }
        lateBefore = lateNow;
        long needed = lead - minSlack + MARGIN_MICROS - baseLead;
        extraMicros = Math.clamp(Math.max(needed, extraMicros / 2), 0, MAX_EXTRA_MICROS);
    }
}
