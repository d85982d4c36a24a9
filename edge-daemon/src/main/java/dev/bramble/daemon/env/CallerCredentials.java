package dev.bramble.daemon.env;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The credentials of environments whose functions may invoke others ({@code invokes} in function.json), as Lambda
 * gives each environment its role's: {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY} and
 * {@code AWS_SESSION_TOKEN}, with which the AWS SDK inside the function signs its calls (SigV4) to the device's
 * function gateway ({@code AWS_ENDPOINT_URL_LAMBDA}). One set per environment, issued at its launch, revoked when
 * it stops; they exist only in memory and in the environment's own variables' file (0400, its uid's).
 */
public final class CallerCredentials {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] KEY_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();

    /**
     * One environment's credentials.
     *
     * @param function     the function whose environment holds them
     * @param accessKeyId  what the SDK names in its signature
     * @param secret       what it signs with
     * @param sessionToken what it sends in {@code X-Amz-Security-Token}
     * @param invokes      the functions it may invoke
     */
    public record Caller(String function, String accessKeyId, String secret, String sessionToken,
                         List<String> invokes) {
        public Caller {
            invokes = List.copyOf(invokes);
        }

        /** The variables an AWS SDK reads them from. */
        Map<String, String> variables(String endpoint) {
            return Map.of("AWS_ACCESS_KEY_ID", accessKeyId, "AWS_SECRET_ACCESS_KEY", secret,
                    "AWS_SESSION_TOKEN", sessionToken, "AWS_ENDPOINT_URL_LAMBDA", endpoint);
        }
    }

    private final Map<String, Caller> byKeyId = new ConcurrentHashMap<>();
    private volatile String endpoint = "";

    /** Where the function gateway listens, once it does: {@code http://127.0.0.1:PORT}. */
    public void endpoint(String url) {
        endpoint = url;
    }

    /** Issues credentials to an environment of {@code function}. */
    Caller issue(String function, List<String> invokes) {
        StringBuilder id = new StringBuilder("ASIA");
        for (int i = 0; i < 16; i++) {
            id.append(KEY_ID_CHARS[RANDOM.nextInt(KEY_ID_CHARS.length)]);
        }
        Caller c = new Caller(function, id.toString(), random(30), random(48), invokes);
        byKeyId.put(c.accessKeyId(), c);
        return c;
    }

    /** The variables for a new environment's credentials. */
    Map<String, String> variables(Caller c) {
        return c.variables(endpoint);
    }

    /** The environment holding this access key id, while it runs. */
    public Optional<Caller> find(String accessKeyId) {
        return Optional.ofNullable(byKeyId.get(accessKeyId));
    }

    /** Revokes the credentials of a stopped environment. Idempotent. */
    void revoke(String accessKeyId) {
        if (accessKeyId != null) {
            byKeyId.remove(accessKeyId);
        }
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
