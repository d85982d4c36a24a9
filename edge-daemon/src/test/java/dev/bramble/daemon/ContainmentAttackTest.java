package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Hostile functions against the daemon's reach: its listeners, the network, idle time, the cgroup tree and the
 * archive directory on the data disk. Each attack is refused or contained, and the daemon keeps serving. Needs root
 * (nft, cgroups, bwrap, setpriv); CI runs it as root with sandbox.require-isolation.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainmentAttackTest {
    @TempDir
    static Path dir;
    TestDaemon d;
    /** A service of the device's own on loopback, not the daemon's: functions may reach it. */
    HttpServer service;
    int coapPort;

    @BeforeAll
    void start() throws IOException {
        assumeTrue(Daemons.isRoot(), "containment needs root (nft, cgroups, mount namespaces, setpriv); "
                + "scripts/test runs as root in CI");
        service = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        service.createContext("/", x -> {
            byte[] body = "device service".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        service.start();
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(0)) {
            coapPort = s.getLocalPort();
        }
        // Listening on every address, so the device's own non-loopback addresses are tried too.
        d = TestDaemon.start(dir.resolve("data"), """
                http:
                  bind: 0.0.0.0
                coap:
                  bind: 0.0.0.0
                  port: %d
                """.formatted(coapPort), Clock.systemUTC(), true);
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("prober", "")));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("offline",
                "\"network\": \"none\"")));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("spinner",
                "\"cpus\": 0.5, \"timeoutSeconds\": 5")));
    }

    @AfterAll
    void stop() {
        if (d != null) {
            d.close();
        }
        if (service != null) {
            service.stop(0);
        }
    }

    private String serviceUrl() {
        return "http://127.0.0.1:" + service.getAddress().getPort() + "/";
    }

    /** Every URL of the daemon's listener a function could try: loopback, and each address of the device. */
    private List<String> daemonUrls(String path) throws IOException {
        List<String> urls = new ArrayList<>();
        urls.add("http://127.0.0.1:" + d.daemon().port() + path);
        urls.add("http://[::1]:" + d.daemon().port() + path);
        for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(n.getInetAddresses())) {
                if (a instanceof java.net.Inet4Address && !a.isLoopbackAddress()) {
                    urls.add("http://" + a.getHostAddress() + ":" + d.daemon().port() + path);
                }
            }
        }
        return urls;
    }

    private JsonNode probe(String function, String event) {
        TestDaemon.Response r = d.invoke(function, event);
        assertThat(r.header("X-Amz-Function-Error")).as(r.text()).isEmpty();
        return r.json();
    }

    @Test
    void aFunctionCannotReachTheDaemonsListenersOnAnyAddressButReachesTheDevicesOtherServices() throws IOException {
        List<String> targets = new ArrayList<>(daemonUrls("/v1/status"));
        targets.addAll(daemonUrls("/v1/health"));
        targets.add(serviceUrl());
        String event = TestDaemon.JSON.writeValueAsString(java.util.Map.of("httpGet", targets,
                "udpSend", List.of("127.0.0.1:" + coapPort)));
        JsonNode r = probe("prober", event);
        for (String url : targets) {
            JsonNode answer = r.path("httpGet").path(url);
            if (url.equals(serviceUrl())) {
                assertThat(answer.path("status").asInt()).as("%s: %s", url, answer).isEqualTo(200);
                assertThat(answer.path("body").asText()).isEqualTo("device service");
            } else {
                assertThat(answer.has("error")).as("%s: %s", url, answer).isTrue();
                assertThat(answer.path("error").asText()).as(url).containsAnyOf("Connection refused",
                        "Connection reset");
            }
        }
        assertThat(r.path("udpSend").path("127.0.0.1:" + coapPort).path("error").asText())
                .as("the CoAP listener").contains("Operation not permitted");
        // The same requests from the host itself are served: the rules stop functions, not the daemon.
        assertThat(d.get("/v1/health").status()).isEqualTo(200);
        try (java.net.DatagramSocket s = new java.net.DatagramSocket()) {
            s.setSoTimeout(5_000);
            byte[] get = {0x40, 0x01, 0x12, 0x34};
            s.send(new java.net.DatagramPacket(get, get.length, new InetSocketAddress("127.0.0.1", coapPort)));
            java.net.DatagramPacket answer = new java.net.DatagramPacket(new byte[1500], 1500);
            s.receive(answer);
            assertThat(answer.getLength()).as("CoAP answers the host").isPositive();
        }
        assertThat(d.invoke("prober", "{}").status()).isEqualTo(200);
    }

    @Test
    void aFunctionWithNetworkNoneHasOnlyItsOwnLoopbackAndReachesNothing() throws IOException {
        String event = TestDaemon.JSON.writeValueAsString(java.util.Map.of("interfaces", true,
                "httpGet", List.of(serviceUrl(), daemonUrls("/v1/health").get(0))));
        JsonNode r = probe("offline", event);
        assertThat(r.path("interfaces").toString()).isEqualTo("[\"lo\"]");
        r.path("httpGet").forEach(a -> assertThat(a.path("error").asText()).contains("Connection refused"));
        // A function with the default network sees the device's interfaces.
        assertThat(probe("prober", "{\"interfaces\": true}").path("interfaces").size()).isGreaterThan(1);
    }

    @Test
    void anIdleEnvironmentIsFrozenSoItsBackgroundThreadsAndProcessesCostNothing() throws Exception {
        JsonNode first = probe("spinner", "{\"background\": 2, \"sleepMs\": 300}");
        assertThat(first.path("background").asInt()).isEqualTo(2);
        long pid = d.get("/v1/functions/spinner").json().at("/environments/0/sandboxPid").asLong();
        await("the idle environment frozen").atMost(5, SECONDS).until(() -> d.get("/v1/functions/spinner").json()
                .at("/environments/0/frozen").asBoolean());
        List<Long> tree = Stream.concat(Stream.of(pid), ProcessHandle.of(pid).orElseThrow().descendants()
                .map(ProcessHandle::pid)).toList();
        assertThat(tree.size()).as("the JVM and its two busy shells, under the sandbox").isGreaterThanOrEqualTo(4);
        long before = cpuTicks(tree);
        // A wall-clock wait on purpose: what is measured is what the processes do while nobody calls them.
        Thread.sleep(2_000);
        long idle = cpuTicks(tree) - before;
        assertThat(idle).as("CPU ticks (10 ms) the frozen environment used in 2 s; unfrozen it would use ~100")
                .isLessThanOrEqualTo(2);
        // Thawed for the next call, which sees its spinner ran while it was busy only.
        JsonNode next = probe("spinner", "{}");
        assertThat(next.path("spinsSoFar").asLong()).isGreaterThan(first.path("spinsSoFar").asLong());
        assertThat(next.path("pid").asLong()).isEqualTo(first.path("pid").asLong());
    }

    @Test
    void functionsSeeNoCgroupsNorTheHostsMessageQueues() {
        JsonNode r = probe("prober", "{\"listDir\": \"/sys/fs/cgroup\"}");
        assertThat(r.at("/listDir/entries").toString()).as(r.toString()).isEqualTo("[]");
        assertThat(Path.of("/sys/fs/cgroup/memory")).exists();
    }

    @Test
    void aFunctionsJvmCannotWriteBesideOrIntoItsClassDataArchive() throws IOException {
        Path archives = d.dataDir().resolve("archives/prober");
        await("prober's archive trained").atMost(60, SECONDS).until(() -> archive(archives) != null);
        Path archive = archive(archives);
        long size = Files.size(archive);
        // The next environment is one started with the archive there: it maps it read-only.
        assertThat(d.send("DELETE", "/v1/functions/prober/environments", null).status()).isEqualTo(200);
        JsonNode r = probe("prober", TestDaemon.JSON.writeValueAsString(java.util.Map.of("writeTo",
                List.of(archive.getParent().toString()), "writeMb", 8, "appendTo", archive.toString())));
        assertThat(r.at("/writeTo/" + archive.getParent().toString().replace("/", "~1") + "/error").asText())
                .as(r.toString()).containsAnyOf("Read-only file system", "AccessDeniedException");
        assertThat(r.at("/appendTo/error").asText()).as(r.toString()).containsAnyOf("Read-only file system",
                "AccessDeniedException");
        assertThat(Files.size(archive)).isEqualTo(size);
        try (Stream<Path> files = Files.list(archive.getParent())) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("app.jsa");
        }
    }

    private static Path archive(Path archives) throws IOException {
        if (!Files.isDirectory(archives)) {
            return null;
        }
        try (Stream<Path> files = Files.walk(archives)) {
            return files.filter(p -> p.getFileName().toString().equals("app.jsa"))
                    .filter(p -> p.toFile().length() > 1 << 20).findFirst().orElse(null);
        }
    }

    /** utime + stime of these processes, in clock ticks, from /proc/PID/stat. */
    private static long cpuTicks(List<Long> pids) {
        long sum = 0;
        for (long pid : pids) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                sum += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            } catch (IOException e) {
                // gone
            }
        }
        return sum;
    }
}
