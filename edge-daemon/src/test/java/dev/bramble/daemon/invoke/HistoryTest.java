package dev.bramble.daemon.invoke;

import dev.bramble.daemon.TestClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The dashboard's hour of counters, on a clock moved by hand. */
class HistoryTest {
    private static final Instant T0 = Instant.parse("2026-12-02T10:00:30Z");
    private final TestClock clock = TestClock.frozenAt(T0);
    private final History history = new History(clock);

    @Test
    void binsAreAQuarterApartAndEveryDurationFallsInTheBinThatBoundsIt() {
        assertThat(History.bin(1)).isZero();
        assertThat(History.bin(100_000)).isZero();
        assertThat(History.binMs(0)).isEqualTo(0.1);
        for (int b = 1; b < History.BINS; b++) {
            assertThat(History.binMs(b) / History.binMs(b - 1)).isCloseTo(1.25, within(1e-9));
        }
        for (long nanos = 100_001; nanos < 900_000_000_000L; nanos = nanos * 7 / 5) {
            int b = History.bin(nanos);
            assertThat(nanos / 1e6).as("%d ns in bin %d", nanos, b).isLessThanOrEqualTo(History.binMs(b) + 1e-9)
                    .isGreaterThan(History.binMs(b - 1) - 1e-9);
        }
        // past the last bound (about 15 minutes), everything lands in the last bin, never out of the array
        assertThat(History.bin(Long.MAX_VALUE)).isEqualTo(History.BINS - 1);
        assertThat(History.binMs(History.BINS - 2)).isGreaterThan(15 * 60 * 1000.0 / 1.25);
    }

    @Test
    void aMinuteCountsWhatHappenedInItAndTheHourAddsThemUp() {
        history.invoked("a", ms(10), false, true, 1);
        history.invoked("a", ms(20), true, false, 3);
        history.invoked("a", 0, true, false, 0); // failed before it ran: counted, not timed
        history.throttled("a");
        clock.advance(Duration.ofMinutes(2));
        history.invoked("a", ms(40), false, false, 2);

        Map<String, Object> a = series(history.view(null), "a");
        assertThat(longs(a, "invocations")).endsWith(3, 0, 1);
        assertThat(longs(a, "errors")).endsWith(2, 0, 0);
        assertThat(longs(a, "throttles")).endsWith(1, 0, 0);
        assertThat(longs(a, "coldStarts")).endsWith(1, 0, 0);
        assertThat(longs(a, "concurrentMax")).endsWith(3, 0, 2);
        assertThat(doubles(a, "avgMs").subList(57, 60)).containsExactly(15.0, null, 40.0);
        assertThat(doubles(a, "maxMs").subList(57, 60)).containsExactly(20.0, null, 40.0);
        Map<String, Object> hour = hour(a);
        assertThat(hour).containsEntry("invocations", 4L).containsEntry("errors", 2L).containsEntry("throttles", 1L)
                .containsEntry("coldStarts", 1L).containsEntry("concurrentMax", 3L)
                .containsEntry("avgMs", 23.33).containsEntry("maxMs", 40.0);
    }

    @Test
    void theStartIsTheFirstMinuteOfTheHourShownAndMinutesOlderThanAnHourAreGone() {
        history.invoked("a", ms(5), false, false, 1);
        Map<String, Object> view = history.view(null);
        long minute = T0.toEpochMilli() / 60_000;
        assertThat(view).containsEntry("start", (minute - 59) * 60_000).containsEntry("stepSeconds", 60);

        clock.advance(Duration.ofMinutes(59));
        assertThat(longs(series(history.view(null), "a"), "invocations")[0]).isEqualTo(1);
        clock.advance(Duration.ofMinutes(1));
        assertThat(hour(series(history.view(null), "a"))).containsEntry("invocations", 0L)
                .containsEntry("p50Ms", null);
    }

    @Test
    void aSlotReusedAnHourLaterStartsFromZero() {
        history.invoked("a", ms(5), true, true, 4);
        clock.advance(Duration.ofMinutes(History.MINUTES)); // same slot of the ring, a different minute
        history.invoked("a", ms(7), false, false, 1);
        Map<String, Object> a = series(history.view(null), "a");
        assertThat(hour(a)).containsEntry("invocations", 1L).containsEntry("errors", 0L)
                .containsEntry("coldStarts", 0L).containsEntry("concurrentMax", 1L).containsEntry("maxMs", 7.0);
    }

    @Test
    void percentilesAreWithinABinOfTheTrueValueAndNeverAboveTheLargest() {
        // 1..1000 ms, shuffled: the true p50 is 500 ms, p99 990 ms
        List<Integer> durations = new java.util.ArrayList<>();
        for (int i = 1; i <= 1000; i++) {
            durations.add(i);
        }
        java.util.Collections.shuffle(durations, new java.util.Random(7));
        for (int d : durations) {
            history.invoked("a", ms(d), false, false, 1);
        }
        Map<String, Object> hour = hour(series(history.view(null), "a"));
        assertThat((Double) hour.get("p50Ms")).isBetween(500.0, 500 * 1.25);
        assertThat((Double) hour.get("p99Ms")).isBetween(990.0, 1000.0);
        assertThat(hour).containsEntry("maxMs", 1000.0);

        history.invoked("b", ms(3), false, false, 1);
        assertThat(hour(series(history.view("b"), "b"))).containsEntry("p50Ms", 3.0).containsEntry("p99Ms", 3.0);
    }

    @Test
    void theTotalAddsFunctionsAndOneFunctionCanBeAskedFor() {
        history.invoked("a", ms(10), false, false, 2);
        history.invoked("b", ms(30), true, false, 1);
        Map<String, Object> all = history.view(null);
        assertThat(functions(all)).containsOnlyKeys("a", "b");
        @SuppressWarnings("unchecked")
        Map<String, Object> total = hour((Map<String, Object>) all.get("total"));
        assertThat(total).containsEntry("invocations", 2L).containsEntry("errors", 1L)
                .containsEntry("concurrentMax", 3L).containsEntry("avgMs", 20.0).containsEntry("maxMs", 30.0);
        Map<String, Object> onlyB = history.view("b");
        assertThat(functions(onlyB)).containsOnlyKeys("b");
        assertThat(functions(history.view("none"))).isEmpty();
    }

    @Test
    void concurrentWritersLoseNoCount() throws Exception {
        int threads = 8;
        int each = 20_000;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int t = 0; t < threads; t++) {
                pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        history.invoked("a", ThreadLocalRandom.current().nextLong(1, 5_000_000_000L), i % 2 == 0,
                                false, 1);
                        if (i % 1000 == 0) {
                            history.view(null);
                        }
                    }
                });
            }
        }
        assertThat(hour(series(history.view(null), "a"))).containsEntry("invocations", (long) threads * each)
                .containsEntry("errors", (long) threads * each / 2);
    }

    private static long ms(long ms) {
        return ms * 1_000_000;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> functions(Map<String, Object> view) {
        return (Map<String, Object>) view.get("functions");
    }

    private static Map<String, Object> series(Map<String, Object> view, String function) {
        @SuppressWarnings("unchecked")
        Map<String, Object> s = (Map<String, Object>) functions(view).get(function);
        assertThat(s).as("series of %s", function).isNotNull();
        return s;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> hour(Map<String, Object> series) {
        return (Map<String, Object>) series.get("hour");
    }

    private static long[] longs(Map<String, Object> series, String key) {
        long[] v = (long[]) series.get(key);
        assertThat(v).hasSize(History.MINUTES);
        return v;
    }

    @SuppressWarnings("unchecked")
    private static List<Double> doubles(Map<String, Object> series, String key) {
        return (List<Double>) series.get(key);
    }
}
