package dev.bramble.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;

import static org.assertj.core.api.Assertions.assertThat;

class ErrorObjectTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void anyMessageMakesValidJsonWithLambdasFields() throws Exception {
        String nasty = "quote \" backslash \\ newline \n tab \t bell \u0007 nul \u0000 é 🌡 </script>";
        Throwable t = new InvocationTargetException(new IllegalStateException(nasty,
                new java.io.IOException("disk \"full\"")));
        JsonNode e = JSON.readTree(ErrorObject.of(t));
        assertThat(e.get("errorMessage").asText()).isEqualTo(nasty);
        assertThat(e.get("errorType").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(e.get("stackTrace").isArray()).isTrue();
        // The runtime's own frames (this test's too: it is in the runtime's package) are left out; the rest stay.
        assertThat(e.get("stackTrace")).isNotEmpty()
                .noneMatch(f -> f.asText().startsWith("dev.bramble.runtime."));
        assertThat(e.at("/cause/errorMessage").asText()).isEqualTo("disk \"full\"");
        assertThat(e.at("/cause/errorType").asText()).isEqualTo("java.io.IOException");
        assertThat(e.at("/cause/cause").isMissingNode()).isTrue();
    }

    @Test
    void aChosenTypeHasAnEmptyTraceAndItsCause() throws Exception {
        JsonNode e = JSON.readTree(ErrorObject.of("Runtime.ImportModuleError", "Class not found: a.B",
                new ClassNotFoundException("a.B")));
        assertThat(e.get("errorType").asText()).isEqualTo("Runtime.ImportModuleError");
        assertThat(e.get("stackTrace")).isEmpty();
        assertThat(e.at("/cause/errorType").asText()).isEqualTo("java.lang.ClassNotFoundException");
        assertThat(JSON.readTree(ErrorObject.of("T", "m", null)).has("cause")).isFalse();
    }

    @Test
    void aLongCauseChainAndADeepStackAreCut() throws Exception {
        Throwable t = new RuntimeException("0");
        for (int i = 1; i < 20; i++) {
            t = new RuntimeException(Integer.toString(i), t);
        }
        JsonNode e = JSON.readTree(ErrorObject.of(t));
        int depth = 0;
        for (JsonNode c = e; c != null && !c.isMissingNode(); c = c.get("cause")) {
            assertThat(c.get("stackTrace").size()).isLessThanOrEqualTo(50);
            depth++;
        }
        assertThat(depth).isEqualTo(6);
    }
}
