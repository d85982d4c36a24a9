package dev.bramble.bench;

import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;

/** A private mosquitto and a Paho client that times one message at a time. */
final class MqttProbe implements AutoCloseable {
    private final Process broker;
    private final int port;
    private final MqttClient client;
    private final SynchronousQueue<String> arrivals = new SynchronousQueue<>();

    private MqttProbe(Process broker, int port) throws MqttException {
        this.broker = broker;
        this.port = port;
        client = new MqttClient(url(), "bench-probe", new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage message) throws InterruptedException {
                arrivals.put(topic);
            }

            @Override
            public void disconnected(MqttDisconnectResponse r) {
            }

            @Override
            public void mqttErrorOccurred(MqttException e) {
            }

            @Override
            public void deliveryComplete(IMqttToken token) {
            }

            @Override
            public void connectComplete(boolean reconnect, String uri) {
            }

            @Override
            public void authPacketArrived(int code, MqttProperties p) {
            }
        });
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        o.setSocketFactory(new NoDelayFactory()); // as brambled's own client does
        client.connect(o);
        client.subscribe(new String[]{"bench/echo", "bench/out/#"}, new int[]{1, 1});
    }

    static MqttProbe start(Path dir) throws Exception {
        Files.createDirectories(dir);
        int port = Bench.freePort();
        Files.writeString(dir.resolve("mosquitto.conf"), "listener " + port + " 127.0.0.1\nallow_anonymous true\n"
                + "user root\n"
                // Without it mosquitto leaves Nagle on: a QoS 1 exchange then waits out delayed ACKs (~40 ms each).
                + "set_tcp_nodelay true\n");
        Process p = new ProcessBuilder("mosquitto", "-c", dir.resolve("mosquitto.conf").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
        for (int i = 0; ; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                break;
            } catch (IOException e) {
                if (i > 100 || !p.isAlive()) {
                    throw new IOException("mosquitto did not start; see " + dir.resolve("log"), e);
                }
                Thread.sleep(50);
            }
        }
        return new MqttProbe(p, port);
    }

    String url() {
        return "tcp://127.0.0.1:" + port;
    }

    void awaitSubscribed(String daemonBase, String filter) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (int i = 0; i < 200; i++) {
            String status = http.send(HttpRequest.newBuilder(URI.create(daemonBase + "/v1/status"))
                    .header("Authorization", "Bearer " + Daemon.ADMIN_TOKEN).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            if (status.contains("\"" + filter + "\":")) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException("brambled never subscribed to " + filter);
    }

    /** Milliseconds from publish to arrival on {@code replyTopic}, after {@code warmup} untimed ones. */
    List<Double> roundTrips(String topic, String replyTopic, int warmup, int count) throws Exception {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < warmup + count; i++) {
            long t0 = System.nanoTime();
            client.publish(topic, "{}".getBytes(), 1, false);
            String got = arrivals.poll(10, TimeUnit.SECONDS);
            if (!replyTopic.equals(got)) {
                throw new IOException("expected a message on " + replyTopic + ", got " + got);
            }
            if (i >= warmup) {
                ms.add((System.nanoTime() - t0) / 1e6);
            }
        }
        return ms;
    }

    @Override
    public void close() throws Exception {
        client.disconnect();
        client.close();
        broker.destroy();
        broker.waitFor(5, TimeUnit.SECONDS);
    }

    /** Plain sockets with Nagle off (Paho writes header and payload apart; see brambled's NoDelay). */
    private static final class NoDelayFactory extends javax.net.SocketFactory {
        private static java.net.Socket on(java.net.Socket s) throws IOException {
            s.setTcpNoDelay(true);
            return s;
        }

        @Override
        public java.net.Socket createSocket() throws IOException {
            return on(new java.net.Socket());
        }

        @Override
        public java.net.Socket createSocket(String h, int p) throws IOException {
            return on(new java.net.Socket(h, p));
        }

        @Override
        public java.net.Socket createSocket(String h, int p, java.net.InetAddress l, int lp) throws IOException {
            return on(new java.net.Socket(h, p, l, lp));
        }

        @Override
        public java.net.Socket createSocket(java.net.InetAddress h, int p) throws IOException {
            return on(new java.net.Socket(h, p));
        }

        @Override
        public java.net.Socket createSocket(java.net.InetAddress h, int p, java.net.InetAddress l, int lp)
                throws IOException {
            return on(new java.net.Socket(h, p, l, lp));
        }
    }
}
