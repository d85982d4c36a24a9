package dev.bramble.daemon.http;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * SigV4 against AWS's published test suite (aws-sig-v4-test-suite, "get-vanilla"): the same canonical request and
 * the same signature. FunctionGatewayTest checks it against AWS's own signer and SDK.
 */
class SigV4Test {
    private static final String SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static final String AUTH = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
            + "aws4_request, SignedHeaders=host;x-amz-date, "
            + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    private static final Map<String, String> HEADERS = Map.of("host", "example.amazonaws.com",
            "x-amz-date", "20150830T123600Z");

    @Test
    void getVanillaGivesAwssCanonicalRequestAndSignature() {
        SigV4.Authorization auth = SigV4.Authorization.parse(AUTH);
        assertThat(auth.accessKeyId()).isEqualTo("AKIDEXAMPLE");
        assertThat(auth.scope()).isEqualTo("20150830/us-east-1/service/aws4_request");
        assertThat(SigV4.canonicalRequest(auth, "GET", "/", "", HEADERS::get, new byte[0])).isEqualTo("""
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""");
        assertThat(SigV4.expected(SECRET, auth, "GET", "/", "", HEADERS::get, new byte[0]))
                .isEqualTo(auth.signature());
    }

    @Test
    void anyChangeToWhatIsSignedChangesTheSignature() {
        SigV4.Authorization auth = SigV4.Authorization.parse(AUTH);
        String good = SigV4.expected(SECRET, auth, "GET", "/", "", HEADERS::get, new byte[0]);
        assertThat(SigV4.expected(SECRET, auth, "POST", "/", "", HEADERS::get, new byte[0])).isNotEqualTo(good);
        assertThat(SigV4.expected(SECRET, auth, "GET", "/x", "", HEADERS::get, new byte[0])).isNotEqualTo(good);
        assertThat(SigV4.expected(SECRET, auth, "GET", "/", "a=1", HEADERS::get, new byte[0])).isNotEqualTo(good);
        assertThat(SigV4.expected(SECRET, auth, "GET", "/", "", HEADERS::get, "{}".getBytes(StandardCharsets.UTF_8)))
                .isNotEqualTo(good);
        assertThat(SigV4.expected(SECRET + "x", auth, "GET", "/", "", HEADERS::get, new byte[0])).isNotEqualTo(good);
    }

    @Test
    void pathsAreEncodedTwiceAndQueriesSortedAsAwsDoes() {
        assertThat(SigV4.encode("arn%3Aaws%3Alambda")).isEqualTo("arn%253Aaws%253Alambda");
        assertThat(SigV4.encode("a b~c")).isEqualTo("a%20b~c");
        SigV4.Authorization auth = SigV4.Authorization.parse(AUTH);
        assertThat(SigV4.canonicalRequest(auth, "GET", "/", "Param2=value2&Param1=value1", HEADERS::get,
                new byte[0]).lines().skip(2).findFirst()).contains("Param1=value1&Param2=value2");
    }

    @Test
    void aHeaderThatIsNotAV4SignatureSaysWhatIsExpected() {
        assertThatThrownBy(() -> SigV4.Authorization.parse("Bearer abc"))
                .hasMessageContaining("AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request");
    }
}
