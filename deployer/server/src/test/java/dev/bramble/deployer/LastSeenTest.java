package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** When devices were last seen, written in batches on a real SQLite file, with a clock the test moves. */
class LastSeenTest {
    @TempDir
    Path dir;
    private final MovableClock clock = new MovableClock();
    private Database db;
    private LastSeen seen;
    private String device;

    @BeforeEach
    void open() {
        db = Database.open("jdbc:sqlite:" + dir.resolve("deployer.db"), "", "");
        Fleet fleet = Fleet.open(db, clock, Bundle.Limits.DEFAULT);
        String token = fleet.devices().createEnrolmentToken("lab", Map.of(), 1, Duration.ofHours(1));
        device = fleet.devices().enrol(token, "pi").deviceId();
        seen = new LastSeen(db, clock); // not started: the test flushes by hand
    }

    @AfterEach
    void close() {
        db.close();
    }

    private Long lastSeen() {
        return db.read(c -> (Long) Sql.row(c, "SELECT last_seen FROM devices WHERE id = ?", device).orElseThrow()
                .get("last_seen"));
    }

    @Test
    void aMarkIsWrittenByTheNextFlushNotByTheRequest() {
        seen.mark(device);
        assertThat(lastSeen()).isNull();
        seen.flush();
        assertThat(lastSeen()).isEqualTo(clock.millis());
    }

    @Test
    void aDeviceAskingOftenIsWrittenOncePerGrain() {
        long first = clock.millis();
        seen.mark(device);
        seen.flush();
        for (int i = 0; i < 9; i++) {
            clock.advance(Duration.ofSeconds(1));
            seen.mark(device);
            seen.flush();
            assertThat(lastSeen()).as("marked again within the grain: not rewritten").isEqualTo(first);
        }
        clock.advance(Duration.ofSeconds(2));
        seen.mark(device);
        seen.flush();
        assertThat(lastSeen()).as("a grain later: the latest mark").isEqualTo(first + 11_000);
    }

    @Test
    void aFailedWriteKeepsTheMarksForTheNextFlush() throws SQLException {
        seen.mark(device);
        rename("devices", "devices_away");
        seen.flush(); // fails: no such table
        rename("devices_away", "devices");
        assertThat(lastSeen()).isNull();
        seen.flush();
        assertThat(lastSeen()).isEqualTo(clock.millis());
    }

    @Test
    void closingWritesWhatIsLeft() {
        seen.mark(device);
        seen.close();
        assertThat(lastSeen()).isEqualTo(clock.millis());
    }

    private void rename(String from, String to) {
        db.tx(c -> Sql.update(c, "ALTER TABLE " + from + " RENAME TO " + to));
    }
}
