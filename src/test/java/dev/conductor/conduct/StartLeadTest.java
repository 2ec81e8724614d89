package dev.conductor.conduct;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class StartLeadTest {
    private static final long LEAD = 20_000;
    private static final long BASE = 5_000;

    /** 32 players ready {@code onTime} µs before the instant, but those given in {@code late}. */
    private static Map<String, Long> slacks(long onTime, Map<String, Long> late) {
        Map<String, Long> m = new HashMap<>();
        for (int i = 0; i < 32; i++) {
            m.put("w" + i, onTime);
        }
        m.putAll(late);
        return m;
    }

    @Test
    void goesUpAtOnceToWhatTheLatestNeededAndDownByHalfAPhase() {
        StartLead lead = new StartLead();
        // Ready 2 ms after the instant: the next start needs 2 ms more lead than this one's 20 ms, plus the
        // margin, less the fixed part.
        lead.phaseDone(Map.of("a", -2_000L, "b", 10_000L), LEAD, BASE);
        assertThat(lead.extraMicros()).isEqualTo(LEAD + 2_000 + StartLead.MARGIN_MICROS - BASE);
        long raised = lead.extraMicros();
        // Everyone early: what was needed is below zero, the lead halves.
        lead.phaseDone(Map.of("a", 100_000L, "b", 100_000L), LEAD + raised, BASE);
        assertThat(lead.extraMicros()).isEqualTo(raised / 2);
        lead.phaseDone(Map.of("a", 100_000L, "b", 100_000L), LEAD, BASE);
        assertThat(lead.extraMicros()).isEqualTo(raised / 4);
    }

    @Test
    void withFewerThanSixteenPlayersEveryLatePlayerCounts() {
        StartLead lead = new StartLead();
        Map<String, Long> slacks = new HashMap<>();
        for (int i = 0; i < 15; i++) {
            slacks.put("w" + i, 10_000L);
        }
        slacks.put("w3", -50_000L);
        lead.phaseDone(slacks, LEAD, BASE);
        assertThat(lead.extraMicros()).isEqualTo(LEAD + 50_000 + StartLead.MARGIN_MICROS - BASE);
    }

    @Test
    void upToOneInSixteenLateForTheFirstTimeArePassedOverButNotTwiceInARow() {
        StartLead lead = new StartLead();
        // 32 players: two may be passed over; a third late one sets the lead.
        lead.phaseDone(slacks(10_000, Map.of("w1", -80_000L, "w2", -70_000L)), LEAD, BASE);
        assertThat(lead.extraMicros()).as("two first-time late players passed over: the others were 10 ms early")
                .isEqualTo(LEAD - 10_000 + StartLead.MARGIN_MICROS - BASE);
        lead.phaseDone(slacks(10_000, Map.of("w1", -60_000L, "w5", -90_000L)), LEAD, BASE);
        assertThat(lead.extraMicros()).as("w1 is late twice in a row (it counts); w5 for the first time")
                .isEqualTo(LEAD + 60_000 + StartLead.MARGIN_MICROS - BASE);
        StartLead other = new StartLead();
        other.phaseDone(slacks(10_000, Map.of("w1", -80_000L, "w2", -70_000L, "w3", -30_000L)), LEAD, BASE);
        assertThat(other.extraMicros()).as("a third late player counts")
                .isEqualTo(LEAD + 30_000 + StartLead.MARGIN_MICROS - BASE);
    }

    @Test
    void neverMoreThanItsCapNorBelowZeroAndUnchangedWithoutWord() {
        StartLead lead = new StartLead();
        lead.phaseDone(Map.of("a", -10_000_000L), LEAD, BASE);
        assertThat(lead.extraMicros()).isEqualTo(StartLead.MAX_EXTRA_MICROS);
        lead.phaseDone(Map.of(), LEAD, BASE);
        assertThat(lead.extraMicros()).isEqualTo(StartLead.MAX_EXTRA_MICROS);
        StartLead early = new StartLead();
        early.phaseDone(Map.of("a", 1_000_000L), LEAD, BASE);
        assertThat(early.extraMicros()).isZero();
    }
}
