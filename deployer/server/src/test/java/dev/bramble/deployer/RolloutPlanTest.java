package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.protocol.DeviceRolloutState;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The rollout plan's decisions, from plain values: no database, no clock. */
class RolloutPlanTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static RolloutPlan plan(String json) throws Exception {
        JsonNode n = JSON.readTree(json);
        return RolloutPlan.parse(n);
    }

    @Test
    void withoutThresholdsTheFirstFailureHaltsAndEveryDeviceHasThirtyMinutes() throws Exception {
        RolloutPlan p = plan("{}");
        assertThat(p.maxFailures()).isZero();
        assertThat(p.deviceTimeoutSeconds()).isEqualTo(1800);
        assertThat(p.haltReason(Map.of(DeviceRolloutState.SUCCEEDED, 5L))).isEmpty();
        assertThat(p.haltReason(Map.of(DeviceRolloutState.TIMED_OUT, 1L))).get().asString()
                .contains("1 device(s) failed or timed out, more than maxFailures 0");
        // A percentage alone sets no count limit.
        assertThat(plan("{\"abort\": {\"failurePercent\": 50}}").maxFailures()).isNull();
    }

    @Test
    void everyProblemIsNamedAtOnceWithWhatIsAllowed() {
        assertThatThrownBy(() -> plan("""
                {"canaryPercent": 120, "maxFailures": -1, "rate": {"factor": 0.5},
                 "abort": {"failurePercent": "lots"}, "deviceTimeoutSeconds": 1}"""))
                .isInstanceOfSatisfying(ApiError.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.problems()).containsExactly(
                            "canaryPercent 120 is not allowed; use a whole number from 0 to 100",
                            "maxFailures -1 is not allowed; use a whole number from 0 to 1000000",
                            "rate.perMinute is required (1 to 100000)",
                            "rate.factor 0.5 is not allowed; use a number from 1 to 10",
                            "abort.failurePercent \"lots\" is not allowed; use a whole number from 0 to 100",
                            "deviceTimeoutSeconds 1 is not allowed; use a whole number from 5 to 604800");
                });
        assertThatThrownBy(() -> plan("{\"rate\": {\"perMinute\": 10, \"factor\": 2}}"))
                .hasMessageContaining("rate.every is required (1 to 1000000)");
        assertThatThrownBy(() -> plan("{\"rate\": 10}")).hasMessageContaining("rate must be an object");
        assertThatThrownBy(() -> plan("{\"canary\": 1.5}")).hasMessageContaining("canary 1.5 is not allowed");
    }

    @Test
    void theCanaryWaveIsACountOrAShareOfAtLeastOneDevice() throws Exception {
        assertThat(plan("{}").firstWave(10)).isEqualTo(10);
        assertThat(plan("{\"canary\": 3}").firstWave(10)).isEqualTo(3);
        assertThat(plan("{\"canary\": 30}").firstWave(10)).isEqualTo(10);
        assertThat(plan("{\"canaryPercent\": 33}").firstWave(3)).isEqualTo(1);
        assertThat(plan("{\"canaryPercent\": 1}").firstWave(10)).isEqualTo(1);
        assertThat(plan("{\"canaryPercent\": 25}").firstWave(10)).isEqualTo(3);
    }

    @Test
    void aConstantRateAccruesCreditOverTimeAndNeverBursts() throws Exception {
        RolloutPlan p = plan("{\"rate\": {\"perMinute\": 6}}");
        // A fresh rollout starts with one device's credit.
        assertThat(p.release(1, 0, 0, 10)).isEqualTo(new RolloutPlan.Release(1, 0));
        assertThat(p.release(0, 5_000, 0, 10).devices()).isZero();
        assertThat(p.release(0, 10_000, 0, 10).devices()).isEqualTo(1);
        // An hour of waiting (a pause, a canary) is worth at most one device at this rate: no burst.
        assertThat(p.release(0, 3_600_000, 0, 10).devices()).isEqualTo(1);
        // Credit left over carries into the next step, and never more devices than are eligible.
        RolloutPlan fast = plan("{\"rate\": {\"perMinute\": 600}}");
        RolloutPlan.Release r = fast.release(0, 1_550, 0, 100);
        assertThat(r.devices()).isEqualTo(15);
        assertThat(r.credit()).isCloseTo(0.5, within(1e-9));
        assertThat(fast.release(0, 60_000, 0, 100).devices()).isEqualTo(20); // two seconds' worth at most
        assertThat(fast.release(0, 60_000, 0, 3)).isEqualTo(new RolloutPlan.Release(3, 17));
        // Without a rate, every eligible device at once.
        assertThat(plan("{}").release(0, 0, 0, 42).devices()).isEqualTo(42);
    }

    @Test
    void anExponentialRampGrowsWithSuccessesUpToItsMaximum() throws Exception {
        RolloutPlan.Rate r = plan("{\"rate\": {\"perMinute\": 60, \"factor\": 2, \"every\": 5, "
                + "\"maxPerMinute\": 500}}").rate();
        assertThat(r.at(0)).isEqualTo(60);
        assertThat(r.at(4)).isEqualTo(60);
        assertThat(r.at(5)).isEqualTo(120);
        assertThat(r.at(14)).isEqualTo(240);
        assertThat(r.at(15)).isEqualTo(480);
        assertThat(r.at(20)).isEqualTo(500);
        assertThat(r.at(1_000_000_000)).isEqualTo(500);
        assertThatThrownBy(() -> plan("{\"rate\": {\"perMinute\": 60, \"maxPerMinute\": 10}}"))
                .hasMessageContaining("rate.maxPerMinute 10 is not allowed; use a whole number from 60 to 100000");
    }

    @Test
    void aFailureShareHaltsOnlyOnceEnoughDevicesSettled() throws Exception {
        RolloutPlan p = plan("{\"abort\": {\"failurePercent\": 30, \"minDevices\": 4}}");
        // 1 of 3 is 33 %, but only 3 settled
        assertThat(p.haltReason(Map.of(DeviceRolloutState.FAILED, 1L, DeviceRolloutState.SUCCEEDED, 2L,
                DeviceRolloutState.PENDING, 50L))).isEmpty();
        // 1 of 4 is 25 %
        assertThat(p.haltReason(Map.of(DeviceRolloutState.FAILED, 1L, DeviceRolloutState.SUCCEEDED, 3L))).isEmpty();
        assertThat(p.haltReason(Map.of(DeviceRolloutState.TIMED_OUT, 1L, DeviceRolloutState.FAILED, 1L,
                DeviceRolloutState.SUCCEEDED, 3L))).get().asString()
                .isEqualTo("2 of 5 settled device(s) failed or timed out (40 %), more than abort.failurePercent 30 % "
                        + "after abort.minDevices 4");
        // skipped and superseded devices are no outcome
        assertThat(p.haltReason(Map.of(DeviceRolloutState.SKIPPED, 10L, DeviceRolloutState.SUPERSEDED, 10L,
                DeviceRolloutState.SUCCEEDED, 4L))).isEmpty();
    }
}
