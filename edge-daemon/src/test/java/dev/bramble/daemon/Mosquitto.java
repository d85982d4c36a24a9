package dev.bramble.daemon;

import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A real mosquitto on a free loopback port, with persistence in a directory of its own so that a restart keeps
 * sessions and queued messages, as a broker on a device does.
 */
final class Mosquitto implements AutoCloseable {
    private final Path dir;
    private final int port;
    private Process process;

    private Mosquitto(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    static Mosquitto start(Path dir) {
        return start(dir, "");
    }

    /** With more configuration after the plain listener's, such as a TLS listener. */
    static Mosquitto start(Path dir, String extraConf) {
        try {
            Files.createDirectories(dir);
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Files.writeString(dir.resolve("mosquitto.conf"), """
                    listener %d 127.0.0.1
                    allow_anonymous true
                    persistence true
                    persistence_location %s/
                    autosave_interval 1
                    max_queued_messages 100000
                    max_inflight_messages 100
                    user root
                    set_tcp_nodelay true
                    log_dest stdout
                    log_type error
                    log_type warning
                    log_type notice
                    """.formatted(port, dir) + extraConf);
            Mosquitto m = new Mosquitto(dir, port);
            m.launch();
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void launch() throws IOException {
        process = new ProcessBuilder("mosquitto", "-c", dir.resolve("mosquitto.conf").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("log").toFile()))
                .start();
        await("mosquitto on port " + port).atMost(10, TimeUnit.SECONDS).until(() -> {
            if (!process.isAlive()) {
                throw new AssertionError("mosquitto exited: " + Files.readString(dir.resolve("log")));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    String url() {
        return "tcp://127.0.0.1:" + port;
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the broker as a service manager would (SIGTERM: it saves its state) and starts it again. */
    void restart() {
        stop();
        try {
            launch();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void stop() {
        process.destroy();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A connected MQTT 5 test client with a persistent session; what arrives goes to {@code inbox}. */
    MqttClient client(String id, Inbox inbox) {
        try {
            MqttClient c = new MqttClient(url(), id, new MemoryPersistence());
            c.setCallback(inbox);
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setCleanStart(false);
            o.setSessionExpiryInterval(3600L);
            o.setAutomaticReconnect(true);
            o.setAutomaticReconnectDelay(1, 2);
            c.connect(o);
            return c;
        } catch (MqttException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A message a test client received. */
    record Received(String topic, String text, byte[] correlation) {
        com.fasterxml.jackson.databind.JsonNode json() {
            try {
                return TestDaemon.JSON.readTree(text);
            } catch (IOException e) {
                throw new AssertionError("not JSON on " + topic + ": " + text, e);
            }
        }
    }

    /** Collects what a test client receives. */
    static final class Inbox implements org.eclipse.paho.mqttv5.client.MqttCallback {
        final java.util.List<Received> messages = new java.util.concurrent.CopyOnWriteArrayList<>();

        java.util.List<Received> on(String topic) {
            return messages.stream().filter(m -> m.topic().equals(topic)).toList();
        }

        @Override
        public void messageArrived(String topic, org.eclipse.paho.mqttv5.common.MqttMessage message) {
            byte[] correlation = message.getProperties() == null ? null : message.getProperties().getCorrelationData();
            messages.add(new Received(topic, new String(message.getPayload(), java.nio.charset.StandardCharsets.UTF_8),
                    correlation));
        }

        @Override
        public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) {
        }

        @Override
        public void mqttErrorOccurred(MqttException e) {
        }

        @Override
        public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken token) {
        }

        @Override
        public void connectComplete(boolean reconnect, String uri) {
        }

        @Override
        public void authPacketArrived(int code, org.eclipse.paho.mqttv5.common.packet.MqttProperties p) {
        }
    }

    @Override
    public void close() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
