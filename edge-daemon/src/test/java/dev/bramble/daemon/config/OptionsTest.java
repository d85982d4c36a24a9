package dev.bramble.daemon.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Options as their definitions say: defaults, bounds, types, rules, overrides, and every problem at once. */
class OptionsTest {
    private static final Option<Integer> PORT = Option.integer("a.port", 9000, 0, 65_535, "", "a port");
    private static final Option<Long> BIG = Option.longInteger("a.big", 5L, 0, 1L << 40, "bytes", "a size");
    private static final Option<Boolean> ON = Option.flag("a.on", false, "a switch");
    private static final Option.Text NAME = Option.text("b.name", "x", "letters", "a name").matching("[a-z]+");
    private static final Option.Text URL = Option.text("b.url", "", "http://… or empty", "a URL").optional()
            .matching("http://.+");
    private static final Option.Text SECRET = Option.text("b.secret", "", "16 or more characters, or empty",
            "a token").secret();
    private static final Option<List<String>> FLAGS = Option.strings("b.flags", List.of("-a"), "flags");
    private static final List<Option<?>> ALL = List.of(PORT, BIG, ON, NAME, URL, SECRET, FLAGS);

    private static Options read(String yaml) throws Exception {
        JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
        return new Options(root == null ? new ObjectMapper().createObjectNode() : root, ALL);
    }

    @Test
    void anAbsentKeyGivesTheDefaultAndAProfilesOverrideReplacesIt() throws Exception {
        Options o = read("{}");
        assertThat(o.get(PORT)).isEqualTo(9000);
        assertThat(o.get(FLAGS)).containsExactly("-a");
        o.override(PORT, 8080);
        o.override(BIG, 7L);
        assertThat(o.get(PORT)).isEqualTo(8080);
        assertThat(o.get(BIG)).isEqualTo(7L);
        assertThat(o.problems()).isEmpty();
    }

    @Test
    void givenValuesAreRead() throws Exception {
        Options o = read("a: {port: 80, big: 1099511627776, on: true}\nb: {name: abc, url: \"http://h\", "
                + "secret: \"0123456789abcdef\", flags: [\"-x\", \"-y\"]}\n");
        assertThat(List.of(o.get(PORT), o.get(BIG), o.get(ON), o.get(NAME), o.get(URL), o.get(SECRET), o.get(FLAGS)))
                .containsExactly(80, 1L << 40, true, "abc", "http://h", "0123456789abcdef", List.of("-x", "-y"));
        o.unknownKeys();
        assertThat(o.problems()).isEmpty();
    }

    @Test
    void everyProblemIsListedInOrderAndTheDefaultStandsIn() throws Exception {
        Options o = read("a: {port: 70000, big: 1.5, on: yes please}\nb: {name: ABC, url: ftp://h, secret: short, "
                + "flags: [{x: 1}]}\nc: 1\n");
        assertThat(o.get(PORT)).isEqualTo(9000);
        assertThat(o.get(BIG)).isEqualTo(5L);
        assertThat(o.get(ON)).isFalse();
        o.get(NAME);
        o.get(URL);
        o.get(SECRET);
        assertThat(o.get(FLAGS)).containsExactly("-a");
        o.unknownKeys();
        assertThat(o.problems()).containsExactly(
                "a.port: 70000 is outside the allowed range 0..65535",
                "a.big: expected a whole number from 0 to 1099511627776, got 1.5",
                "a.on: expected true or false, got \"yes please\"",
                "b.name: 'ABC' is not allowed; expected letters",
                "b.url: 'ftp://h' is not allowed; expected http://… or empty",
                "b.secret: 5 characters is too short to be a secret; use at least 16, or leave it empty",
                "b.flags: expected a list of strings, got [{\"x\":1}]",
                "c: unknown key; known keys: [a.port, a.big, a.on, b.name, b.url, b.secret, b.flags]");
    }

    @Test
    void aKeyDefinedTwiceOrADefaultOutsideItsBoundsIsRefusedAtOnce() {
        assertThatThrownBy(() -> new Options(new ObjectMapper().createObjectNode(),
                List.of(PORT, Option.integer("a.port", 1, 0, 2, "", "again"))))
                .hasMessage("option a.port is defined twice");
        assertThatThrownBy(() -> Option.integer("a.x", 5, 0, 4, "", "x"))
                .hasMessage("a.x: default 5 is outside 0..4");
        assertThatThrownBy(() -> Option.flag("A_Key", true, "x")).hasMessageContaining("lower-case dotted words");
    }

    @Test
    void helpAndMarkdownCarryKeyDefaultAllowedUnitAndMeaning() {
        assertThat(Options.help("t", ALL)).contains("a.big", "default 5 bytes; allowed 0..1099511627776",
                "a size");
        assertThat(Options.markdown(ALL)).contains("| `a.big` | 5 | 0..1099511627776 | bytes | a size |",
                "| `b.url` | empty | http://… or empty |  | a URL |");
    }
}
