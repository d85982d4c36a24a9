package dev.bramble.daemon.http;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AWS Signature Version 4, checked as AWS checks it: what the AWS SDKs inside a function sign their calls to the
 * function gateway with. Pure: the request's parts in, the signature AWS would expect out.
 */
final class SigV4 {
    static final String ALGORITHM = "AWS4-HMAC-SHA256";
    private static final Pattern AUTHORIZATION = Pattern.compile(ALGORITHM
            + " +Credential=([^/,\\s]+)/(\\d{8})/([^/,\\s]+)/([^/,\\s]+)/aws4_request, *SignedHeaders=([a-z0-9;-]+), "
            + "*Signature=([0-9a-f]{64})");

    private SigV4() {
    }

    /**
     * The {@code Authorization} header, taken apart.
     *
     * @param accessKeyId   who signed
     * @param date          the scope's date, yyyyMMdd
     * @param region        the scope's region
     * @param service       the scope's service
     * @param signedHeaders the headers the signature covers, lower case, sorted
     * @param signature     hex
     */
    record Authorization(String accessKeyId, String date, String region, String service, List<String> signedHeaders,
                         String signature) {
        static Authorization parse(String header) {
            Matcher m = AUTHORIZATION.matcher(header.strip());
            if (!m.matches()) {
                throw new IllegalArgumentException("Authorization is not an " + ALGORITHM + " signature: expected '"
                        + ALGORITHM + " Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=…, "
                        + "Signature=…'");
            }
            return new Authorization(m.group(1), m.group(2), m.group(3), m.group(4), List.of(m.group(5).split(";")),
                    m.group(6));
        }

        String scope() {
            return date + "/" + region + "/" + service + "/aws4_request";
        }
    }

    /**
     * The signature AWS expects for this request.
     *
     * @param secret   the secret access key
     * @param auth     the request's Authorization, for its scope and signed headers
     * @param method   the HTTP method
     * @param rawPath  the path as sent, percent-encoded
     * @param rawQuery the query as sent, without '?', or empty
     * @param header   a header's value by lower-case name (several values joined by ','), or null
     * @param body     the body, whose SHA-256 is signed
     */
    static String expected(String secret, Authorization auth, String method, String rawPath, String rawQuery,
                           Function<String, String> header, byte[] body) {
        String amzDate = header.apply("x-amz-date");
        String canonical = canonicalRequest(auth, method, rawPath, rawQuery, header, body);
        String toSign = ALGORITHM + "\n" + amzDate + "\n" + auth.scope() + "\n" + hex(sha256(
                canonical.getBytes(StandardCharsets.UTF_8)));
        byte[] key = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), auth.date());
        key = hmac(key, auth.region());
        key = hmac(key, auth.service());
        key = hmac(key, "aws4_request");
        return hex(hmac(key, toSign));
    }

    static String canonicalRequest(Authorization auth, String method, String rawPath, String rawQuery,
                                   Function<String, String> header, byte[] body) {
        StringBuilder sb = new StringBuilder(method).append('\n');
        // Every service but S3 signs the path encoded twice: each segment as sent, encoded once more.
        List<String> segments = new ArrayList<>();
        for (String segment : (rawPath.isEmpty() ? "/" : rawPath).split("/", -1)) {
            segments.add(encode(segment));
        }
        sb.append(String.join("/", segments)).append('\n');
        sb.append(canonicalQuery(rawQuery)).append('\n');
        for (String name : auth.signedHeaders()) {
            String value = header.apply(name);
            sb.append(name).append(':').append(value == null ? "" : value.strip().replaceAll("\\s+", " "))
                    .append('\n');
        }
        sb.append('\n').append(String.join(";", auth.signedHeaders())).append('\n');
        String declared = header.apply("x-amz-content-sha256");
        sb.append(declared != null && declared.equals("UNSIGNED-PAYLOAD") ? declared : hex(sha256(body)));
        return sb.toString();
    }

    private static String canonicalQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        List<Map.Entry<String, String>> pairs = new ArrayList<>();
        for (String part : rawQuery.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            pairs.add(Map.entry(encode(decode(k)), encode(decode(v))));
        }
        pairs.sort(Map.Entry.<String, String>comparingByKey().thenComparing(Map.Entry.comparingByValue()));
        List<String> out = new ArrayList<>();
        pairs.forEach(p -> out.add(p.getKey() + "=" + p.getValue()));
        return String.join("&", out);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** RFC 3986 encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - _ . ~ as %XX, upper-case hex. */
    static String encode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
                    || c == '.' || c == '~') {
                sb.append(c);
            } else {
                sb.append('%').append(String.format(Locale.ROOT, "%02X", b & 0xff));
            }
        }
        return sb.toString();
    }

    /** Compares in constant time. */
    static boolean same(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
