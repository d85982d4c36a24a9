package dev.bramble.deployer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.DeploymentErrorCode;
import dev.bramble.protocol.DeploymentReport;
import dev.bramble.protocol.Signing;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Rollouts stepped by hand on a real database with a clock the test moves: deadlines, rates, waves, thresholds and
 * the operator's actions, each to the second and without waiting. Run on SQLite and on PostgreSQL.
 */
abstract class RolloutsTests {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger NAMES = new AtomicInteger();

    @TempDir
    static Path dir;
    static final MovableClock clock = new MovableClock();
    static Database db;
    static Fleet fleet;
    static KeyPair key;

    static void open(String url) {
        db = Database.open(url, "", "");
        fleet = Fleet.open(db, clock, Bundle.Limits.DEFAULT); // not started: the tests tick it themselves
        key = Signing.generate();
        fleet.catalog().addSigner("tests", Signing.pem(key.getPublic()));
    }

    @AfterAll
    static void close() {
        if (fleet != null) {
            fleet.close();
        }
    }

    static String unique(String base) {
        return base + "-" + NAMES.incrementAndGet();
    }

    /** Publishes {@code variants} versions of a function of its own. */
    static String function(int variants) throws Exception {
        String fn = unique("fn");
        for (int v = 1; v <= variants; v++) {
            Path zip = DeployerTests.bundle(dir, fn, v);
            String sha = DeployerTests.sha256(Files.readAllBytes(zip));
            fleet.catalog().publish(zip, Signing.sign(sha, key.getPrivate(), key.getPublic()).toJson());
        }
        return fn;
    }

    static List<String> devices(String group, int n) {
        List<String> out = new ArrayList<>();
        String token = fleet.devices().createEnrolmentToken(group, Map.of(), n, Duration.ofHours(1));
        for (int i = 0; i < n; i++) {
            out.add(fleet.devices().enrol(token, unique("pi")).deviceId());
        }
        return out;
    }

    static String deploy(String fn, String version, String group, String plan) throws Exception {
        return (String) fleet.rollouts().deploy(fn, version, "group:" + group, RolloutPlan.parse(JSON.readTree(plan)))
                .get("id");
    }

    static Map<String, Object> rollout(String id) {
        return fleet.rollouts().deployment(id);
    }

    static String state(String id) {
        return (String) rollout(id).get("state");
    }

    @SuppressWarnings("unchecked")
    static long count(String id, String state) {
        return ((Map<String, Long>) rollout(id).get("counts")).getOrDefault(state, 0L);
    }

    @SuppressWarnings("unchecked")
    static List<String> devicesIn(String id, String state) {
        return ((List<Map<String, Object>>) rollout(id).get("devices")).stream()
                .filter(d -> d.get("state").equals(state)).map(d -> (String) d.get("device")).toList();
    }

    static int desiredVersion(String device, String fn) {
        return fleet.desired().of(device).functions().stream().filter(f -> f.function().equals(fn))
                .mapToInt(f -> f.version()).findFirst().orElse(0);
    }

    static void succeed(String id, String device) {
        fleet.rollouts().report(device, DeploymentReport.succeeded(id));
    }

    static void fail(String id, String device) {
        fleet.rollouts().report(device, DeploymentReport.failed(id, DeploymentErrorCode.SMOKE_TEST_FAILED, "boom"));
    }

    static void tick(Duration d) {
        clock.advance(d);
        fleet.rollouts().tick();
    }

    /** Everything on version 1 first, so that version 2 has something to go back to. */
    static String onVersionOne(String fn, String group) throws Exception {
        String v1 = deploy(fn, "1", group, "{}");
        for (String d : devicesIn(v1, "pending")) {
            succeed(v1, d);
        }
        assertThat(state(v1)).isEqualTo("succeeded");
        return v1;
    }

    static dev.bramble.protocol.DesiredState.Function entry(String device, String fn) {
        return fleet.desired().of(device).functions().stream().filter(f -> f.function().equals(fn)).findFirst()
                .orElse(null);
    }

    @Test
    void anUndeployIsARolloutThatTellsEachDeviceToDeleteTheFunctionAndARollbackPutsItBack() throws Exception {
        String fn = function(1);
        String group = unique("g");
        List<String> devices = devices(group, 3);
        String v1 = onVersionOne(fn, group);
        String id = (String) fleet.rollouts().undeploy(fn, "group:" + group, RolloutPlan.parse(JSON.readTree(
                "{\"canary\": 1}"))).get("id");
        assertThat(rollout(id)).containsEntry("undeploy", true).containsEntry("version", 0L);
        // The canary first, told to delete the function and to report to the undeploy; the rest still run it.
        String canary = devicesIn(id, "pending").getFirst();
        assertThat(entry(canary, fn).removed()).isTrue();
        assertThat(entry(canary, fn).deployment()).isEqualTo(id);
        assertThat(entry(canary, fn).sha256()).isNull();
        devices.stream().filter(d -> !d.equals(canary)).forEach(d -> assertThat(entry(d, fn).version()).isEqualTo(1));
        succeed(id, canary);
        for (String d : devicesIn(id, "pending")) {
            succeed(id, d);
        }
        assertThat(state(id)).isEqualTo("succeeded");
        assertThat(devices).allSatisfy(d -> assertThat(entry(d, fn).removed()).isTrue());

        // Rolled back: the function comes back at the version each device had.
        fleet.rollouts().rollback(id);
        assertThat(devices).allSatisfy(d -> assertThat(entry(d, fn).version()).isEqualTo(1));
        // And a rollback of the rollout that first brought it takes it off again (no deployment to report to).
        fleet.rollouts().rollback(v1);
        assertThat(devices).allSatisfy(d -> {
            assertThat(entry(d, fn).removed()).isTrue();
            assertThat(entry(d, fn).deployment()).isNull();
        });

        assertThatThrownBy(() -> fleet.rollouts().undeploy("no-such-fn", "group:" + group, RolloutPlan.parse(
                JSON.readTree("{}")))).isInstanceOf(ApiError.class).hasMessageContaining("no-such-fn");
    }

    @Test
    void aTokenOlderThanTheRotationAgeIsToBeRotated() {
        String device = devices(unique("g"), 1).getFirst();
        assertThat(fleet.desired().of(device).rotateToken()).isFalse();
        clock.advance(Duration.ofDays(DeployerConfig.DEFAULT_ROTATE_AFTER_DAYS).plusMinutes(1));
        assertThat(fleet.desired().of(device).rotateToken()).isTrue();
        String fresh = fleet.devices().newToken(device);
        assertThat(fleet.desired().of(device).rotateToken()).as("until the new token is used").isTrue();
        assertThat(fleet.devices().deviceForToken(fresh)).contains(device);
        assertThat(fleet.desired().of(device).rotateToken()).isFalse();
    }

    @Test
    void aSilentDeviceTimesOutGoesBackToItsVersionAndTheRolloutEnds() throws Exception {
        String fn = function(2);
        String group = unique("g");
        List<String> devices = devices(group, 3);
        onVersionOne(fn, group);
        String id = deploy(fn, "2", group, "{\"deviceTimeoutSeconds\": 60, \"maxFailures\": 1}");
        succeed(id, devices.get(0));
        succeed(id, devices.get(1));
        tick(Duration.ofSeconds(59));
        assertThat(state(id)).isEqualTo("in_progress");
        assertThat(desiredVersion(devices.get(2), fn)).isEqualTo(2);

        tick(Duration.ofSeconds(2));
        assertThat(state(id)).isEqualTo("succeeded");
        assertThat(devicesIn(id, "timed_out")).containsExactly(devices.get(2));
        @SuppressWarnings("unchecked")
        Map<String, Object> silent = ((List<Map<String, Object>>) rollout(id).get("devices")).stream()
                .filter(d -> d.get("device").equals(devices.get(2))).findFirst().orElseThrow();
        assertThat(silent.get("errorCode")).isEqualTo("TIMED_OUT");
        assertThat((String) silent.get("error")).contains("no report within PT1M");
        assertThat(desiredVersion(devices.get(2), fn)).isEqualTo(1);
        // It speaks up late: the outcome stands.
        succeed(id, devices.get(2));
        assertThat(devicesIn(id, "timed_out")).containsExactly(devices.get(2));

        // With the default threshold, one silent device halts the next rollout instead.
        String next = deploy(fn, "2", group, "{\"deviceTimeoutSeconds\": 5}");
        tick(Duration.ofSeconds(6));
        assertThat(state(next)).isEqualTo("halted");
        assertThat((String) rollout(next).get("reason")).contains("more than maxFailures 0");
    }

    @Test
    void aConstantRateReleasesNoFasterThanAskedAndAWaitIsNoBurst() throws Exception {
        String fn = function(1);
        String group = unique("g");
        devices(group, 10);
        String id = deploy(fn, "1", group, "{\"rate\": {\"perMinute\": 6}}");
        assertThat(count(id, "pending")).isEqualTo(1);
        tick(Duration.ofSeconds(5));
        assertThat(count(id, "pending")).isEqualTo(1);
        tick(Duration.ofSeconds(5));
        assertThat(count(id, "pending")).isEqualTo(2);
        for (int i = 0; i < 3; i++) {
            tick(Duration.ofSeconds(10));
        }
        assertThat(count(id, "pending")).isEqualTo(5);
        assertThat(count(id, "waiting")).isEqualTo(5);
        // Ten minutes without a step (a replica was down): one device, not sixty.
        tick(Duration.ofMinutes(10));
        assertThat(count(id, "pending")).isEqualTo(6);
        for (String d : devicesIn(id, "pending")) {
            succeed(id, d);
        }
        for (int i = 0; i < 4; i++) {
            tick(Duration.ofSeconds(10));
        }
        for (String d : devicesIn(id, "pending")) {
            succeed(id, d);
        }
        tick(Duration.ofSeconds(1));
        assertThat(state(id)).isEqualTo("succeeded");
        assertThat(count(id, "succeeded")).isEqualTo(10);
    }

    @Test
    void anExponentialRampGrowsAsDevicesSucceed() throws Exception {
        String fn = function(1);
        String group = unique("g");
        devices(group, 30);
        String id = deploy(fn, "1", group, "{\"rate\": {\"perMinute\": 60, \"factor\": 2, \"every\": 2, "
                + "\"maxPerMinute\": 240}}");
        List<Long> released = new ArrayList<>();
        long before = 0;
        released.add(count(id, "pending"));
        for (int i = 0; i < 5; i++) {
            for (String d : devicesIn(id, "pending")) {
                succeed(id, d);
            }
            before = count(id, "succeeded");
            tick(Duration.ofSeconds(1));
            released.add(count(id, "pending"));
        }
        // 1/s until 2 succeeded, 2/s until 4, then 4/s: the maximum.
        assertThat(released).containsExactly(1L, 1L, 2L, 4L, 4L, 4L);
        assertThat(before).isEqualTo(12);
    }

    @Test
    void theRestWaitForEveryCanaryEvenWithARate() throws Exception {
        String fn = function(1);
        String group = unique("g");
        devices(group, 6);
        String id = deploy(fn, "1", group, "{\"canary\": 2, \"rate\": {\"perMinute\": 600}}");
        assertThat(count(id, "pending")).isEqualTo(1);
        tick(Duration.ofSeconds(1));
        List<String> canaries = devicesIn(id, "pending");
        assertThat(canaries).hasSize(2);
        succeed(id, canaries.get(0));
        tick(Duration.ofSeconds(1));
        assertThat(count(id, "pending")).isEqualTo(1); // the other canary is still out
        succeed(id, canaries.get(1));
        tick(Duration.ofSeconds(1));
        assertThat(count(id, "pending")).isEqualTo(4);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) rollout(id).get("devices");
        assertThat(rows.stream().filter(d -> ((Long) d.get("wave")) == 0).map(d -> d.get("device")))
                .containsExactlyInAnyOrderElementsOf(canaries);
    }

    @Test
    void aFailureShareHaltsOnceEnoughDevicesSettledAndSkipsTheRest() throws Exception {
        String fn = function(2);
        String group = unique("g");
        List<String> devices = devices(group, 8);
        onVersionOne(fn, group);
        String id = deploy(fn, "2", group, "{\"canary\": 5, \"abort\": {\"failurePercent\": 30, \"minDevices\": 4}}");
        List<String> out = devicesIn(id, "pending");
        fail(id, out.get(0));
        succeed(id, out.get(1));
        succeed(id, out.get(2));
        assertThat(state(id)).isEqualTo("in_progress"); // 1 of 3: too few to judge
        fail(id, out.get(3));
        assertThat(state(id)).isEqualTo("halted"); // 2 of 4
        assertThat((String) rollout(id).get("reason")).contains("2 of 4 settled device(s)", "abort.failurePercent 30");
        assertThat(count(id, "skipped")).isEqualTo(3);
        assertThat(desiredVersion(out.get(0), fn)).isEqualTo(1);
        assertThat(desiredVersion(out.get(1), fn)).isEqualTo(2);
        for (String d : devices) {
            if (!out.contains(d)) {
                assertThat(desiredVersion(d, fn)).isEqualTo(1);
            }
        }
    }

    @Test
    void aPauseHoldsReleasesButNotDeadlinesAndEachActionNamesWhatIsAllowed() throws Exception {
        String fn = function(1);
        String group = unique("g");
        devices(group, 5);
        String id = deploy(fn, "1", group, "{\"rate\": {\"perMinute\": 60}, \"deviceTimeoutSeconds\": 20, "
                + "\"maxFailures\": 5}");
        assertThat(fleet.rollouts().pause(id).get("state")).isEqualTo("paused");
        tick(Duration.ofSeconds(10));
        assertThat(count(id, "pending")).isEqualTo(1);
        tick(Duration.ofSeconds(11));
        assertThat(count(id, "timed_out")).isEqualTo(1); // the deadline ran on while paused
        assertThat(count(id, "pending")).isZero();
        assertThatThrownBy(() -> fleet.rollouts().pause(id)).isInstanceOfSatisfying(ApiError.class, e -> {
            assertThat(e.status()).isEqualTo(409);
            assertThat(e.getMessage()).isEqualTo("deployment " + id + " is paused; it cannot become paused (from "
                    + "paused it may become [in_progress, halted, cancelled, rolled_back])");
        });

        assertThat(fleet.rollouts().resume(id).get("state")).isEqualTo("in_progress");
        assertThat(count(id, "pending")).isZero(); // the rate counts from the resume: no burst
        tick(Duration.ofSeconds(1));
        assertThat(count(id, "pending")).isEqualTo(1);
        assertThatThrownBy(() -> fleet.rollouts().resume(id)).hasMessageContaining("is in_progress; it cannot "
                + "become in_progress");

        assertThat(fleet.rollouts().cancel(id).get("state")).isEqualTo("cancelled");
        assertThat(count(id, "skipped")).isEqualTo(3);
        tick(Duration.ofMinutes(5)); // a closed rollout is not stepped: its pending device stays as it is
        assertThat(count(id, "pending")).isEqualTo(1);
        assertThat(fleet.rollouts().rollback(id).get("state")).isEqualTo("rolled_back");
        assertThatThrownBy(() -> fleet.rollouts().rollback(id)).isInstanceOfSatisfying(ApiError.class, e ->
                assertThat(e.getMessage()).endsWith("cannot become rolled_back (rolled_back is final)"));
        assertThatThrownBy(() -> fleet.rollouts().pause("nope")).isInstanceOfSatisfying(ApiError.class, e ->
                assertThat(e.status()).isEqualTo(404));
    }

    @Test
    void aReportNamesAKnownOutcomeAndCode() throws Exception {
        String fn = function(1);
        String group = unique("g");
        String device = devices(group, 1).getFirst();
        String id = deploy(fn, "1", group, "{}");
        assertThatThrownBy(() -> fleet.rollouts().report(device, new DeploymentReport(id,
                dev.bramble.protocol.DeviceRolloutState.FAILED, "BAD_LUCK", "x")))
                .hasMessage("errorCode 'BAD_LUCK' is not allowed for a failure; allowed: [DOWNLOAD_FAILED, DISK_FULL, "
                        + "DIGEST_MISMATCH, SIGNATURE_INVALID, UNTRUSTED_KEY, INVALID_BUNDLE, INIT_FAILED, "
                        + "SMOKE_TEST_FAILED, INTERNAL]");
        // the deployer's own codes are not a device's to report
        assertThatThrownBy(() -> fleet.rollouts().report(device, new DeploymentReport(id,
                dev.bramble.protocol.DeviceRolloutState.FAILED, "TIMED_OUT", "x"))).hasMessageContaining("TIMED_OUT");
        assertThatThrownBy(() -> fleet.rollouts().report(device, new DeploymentReport(id,
                dev.bramble.protocol.DeviceRolloutState.SKIPPED, null, null)))
                .hasMessage("state 'skipped' is not allowed; allowed: [succeeded, failed]");
        assertThat(count(id, "pending")).isEqualTo(1);
        succeed(id, device);
        assertThat(state(id)).isEqualTo("succeeded");
    }
}
