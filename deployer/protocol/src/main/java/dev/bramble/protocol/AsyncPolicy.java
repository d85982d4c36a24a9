package dev.bramble.protocol;

import java.time.Duration;
import java.util.Optional;

/**
 * How asynchronous invocations of a function are retried and where their outcome goes, the manifest's
 * {@code async} object. Lambda's defaults: two retries and six hours.
 *
 * @param maxRetries         retries after the first attempt fails, 0 to 2
 * @param maxEventAge        an event older than this is not tried again, 60 s to 6 h
 * @param onSuccessTopic     an MQTT topic that receives a record of each success
 * @param onFailureTopic     an MQTT topic that receives each event that ran out of attempts, besides the
 *                           daemon's dead-letter store
 */
public record AsyncPolicy(int maxRetries, Duration maxEventAge, Optional<String> onSuccessTopic,
                          Optional<String> onFailureTopic) {
    public static final int MAX_RETRIES = 2;
    public static final Duration MIN_EVENT_AGE = Duration.ofSeconds(60);
    public static final Duration MAX_EVENT_AGE = Duration.ofHours(6);
    /** Lambda's defaults. */
    public static final AsyncPolicy DEFAULT = new AsyncPolicy(MAX_RETRIES, MAX_EVENT_AGE, Optional.empty(),
            Optional.empty());
}
