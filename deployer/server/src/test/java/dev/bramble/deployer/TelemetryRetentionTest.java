package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.TelemetryBatch;
import dev.bramble.protocol.TelemetryEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Retention on a real SQLite file, with the deployer's clock moved forward. */
class TelemetryRetentionTest {
    @TempDir
    Path dir;

    @Test
    void telemetryOlderThanTheRetentionIsDeletedAndItsNumbersStayAcknowledged() {
        MovableClock clock = new MovableClock();
        Database db = Database.open("jdbc:sqlite:" + dir.resolve("deployer.db"), "", "");
        Fleet fleet = Fleet.open(db, clock, Bundle.Limits.DEFAULT);
        Devices.Enrolled device = fleet.devices().enrol(fleet.devices().createEnrolmentToken(null, Map.of(), 1, Duration.ofHours(1)), "pi");
        Telemetry telemetry = new Telemetry(db, clock, Duration.ofDays(1));
        TelemetryEntry old = TelemetryEntry.log("fn", clock.millis(), "env", null, "old line").withSeq(1);
        telemetry.ingest(device.deviceId(), new TelemetryBatch("box", List.of(old,
                TelemetryEntry.metrics(clock.millis(), "{}").withSeq(2))));

        clock.millis.addAndGet(Duration.ofHours(23).toMillis());
        assertThat(telemetry.retainOnce()).isZero();
        telemetry.ingest(device.deviceId(), new TelemetryBatch("box", List.of(
                TelemetryEntry.log("fn", clock.millis(), "env", null, "new line").withSeq(3))));

        clock.millis.addAndGet(Duration.ofHours(2).toMillis());
        assertThat(telemetry.retainOnce()).isEqualTo(2);
        assertThat(telemetry.logs(device.deviceId(), "fn", 0, 0, 100)).extracting(m -> m.get("message"))
                .containsExactly("new line");
        assertThat(telemetry.metrics(device.deviceId(), null).get("snapshot")).isNull();
        // The deleted line sent again (its answer lost long ago) is still known: not stored a second time.
        assertThat(telemetry.ingest(device.deviceId(), new TelemetryBatch("box", List.of(old))).duplicates())
                .isEqualTo(1);
        assertThat(telemetry.logs(device.deviceId(), "fn", 0, 0, 100)).hasSize(1);
    }
}
