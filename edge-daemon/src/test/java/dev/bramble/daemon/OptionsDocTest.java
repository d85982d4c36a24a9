package dev.bramble.daemon;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/operators.md's table of options is the one the definitions print: it cannot drift from the code. */
class OptionsDocTest {
    private static final String BEGIN = "<!-- options:begin (generated: brambled --help-config=markdown) -->\n";
    private static final String END = "<!-- options:end -->";

    @Test
    void theOperatorsGuideListsEveryOptionAsDefined() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "operators.md"));
        int from = doc.indexOf(BEGIN);
        int to = doc.indexOf(END);
        assertThat(from).as("docs/operators.md has the options markers").isNotNegative();
        assertThat(to).isGreaterThan(from);
        assertThat(doc.substring(from + BEGIN.length(), to))
                .as("docs/operators.md's options table differs from the definitions; regenerate it with "
                        + "dist/bin/brambled --help-config=markdown")
                .isEqualTo(DaemonConfig.markdown());
    }
}
