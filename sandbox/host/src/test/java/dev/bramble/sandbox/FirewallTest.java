package dev.bramble.sandbox;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The nft rules that keep contained uids off the host's listeners; the real kernel's part is ContainmentAttackTest. */
class FirewallTest {
    private final Firewall firewall = new Firewall(Path.of("/usr/sbin/nft"), "v1-bramble.x", 61000, 61999);

    @Test
    void oneTableOfTheDaemonsReplacedAtomicallyRejectingContainedUidsToLocalAddressesOnItsPorts() {
        String script = firewall.script(List.of(new Sandbox.Listener("tcp", 9000), new Sandbox.Listener("udp", 5683),
                new Sandbox.Listener("tcp", 9001)));
        assertThat(firewall.table()).isEqualTo("bramble_v1_bramble_x");
        assertThat(script).isEqualTo("""
                add table inet bramble_v1_bramble_x
                delete table inet bramble_v1_bramble_x
                table inet bramble_v1_bramble_x {
                  chain output {
                    type filter hook output priority filter; policy accept;
                    meta skuid 61000-61999 fib daddr type local tcp dport { 9000, 9001 } reject with tcp reset
                    meta skuid 61000-61999 fib daddr type local udp dport { 5683 } reject
                  }
                }
                """);
    }

    @Test
    void withoutUdpListenersThereIsNoUdpRule() {
        assertThat(firewall.script(List.of(new Sandbox.Listener("tcp", 9000)))).doesNotContain("udp");
    }

    @Test
    void aListenerIsTcpOrUdpOnARealPort() {
        assertThatThrownBy(() -> new Sandbox.Listener("sctp", 1)).hasMessageContaining("tcp or udp");
        assertThatThrownBy(() -> new Sandbox.Listener("tcp", 0)).hasMessageContaining("1..65535");
    }
}
