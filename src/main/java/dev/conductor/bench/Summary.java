package dev.conductor.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A sample of numbers, summarised with nearest-rank percentiles (no interpolation: every figure
 * quoted is one that was really measured). With 20 samples, p99 is the maximum.
 */
record Summary(int count, double median, double p90, double p99, double max) {
    static Summary of(List<Double> values) {
        if (values.isEmpty()) {
            return new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return new Summary(sorted.size(), rank(sorted, 50), rank(sorted, 90), rank(sorted, 99), sorted.getLast());
    }

    private static double rank(List<Double> sorted, double percentile) {
        int index = (int) Math.ceil(percentile / 100 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
}
