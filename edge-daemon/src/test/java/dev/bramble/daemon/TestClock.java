package dev.bramble.daemon;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock tests move by hand: frozen at an instant, or real time plus an offset that only grows. */
public final class TestClock extends Clock {
    private final boolean ticking;
    private volatile Instant frozen;
    private volatile Duration offset = Duration.ZERO;

    private TestClock(boolean ticking, Instant frozen) {
        this.ticking = ticking;
        this.frozen = frozen;
    }

    /** Stands still at {@code start} until moved. */
    public static TestClock frozenAt(Instant start) {
        return new TestClock(false, start);
    }

    /** Real time, plus whatever {@link #advance} adds. */
    public static TestClock ticking() {
        return new TestClock(true, null);
    }

    public void advance(Duration d) {
        if (ticking) {
            offset = offset.plus(d);
        } else {
            frozen = frozen.plus(d);
        }
    }

    /** Moves a frozen clock to {@code t}. */
    public void set(Instant t) {
        if (ticking) {
            throw new IllegalStateException("a ticking clock only advances");
        }
        frozen = t;
    }

    @Override
    public ZoneOffset getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return ticking ? Instant.now().plus(offset) : frozen;
    }
}
