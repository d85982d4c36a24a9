package dev.bramble.daemon.trigger;

import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;

import javax.net.SocketFactory;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** MQTT 5 through Paho's mqttv5 client: clean start off, a session expiry, response topics and correlation data. */
final class PahoV5Link implements MqttLink {
    private static final long OP_TIMEOUT_MS = 10_000;

    private final MqttAsyncClient client;
    private final MqttConnectionOptions options;

    PahoV5Link(MqttBridge.Settings s, SocketFactory socketFactory, Events events) throws MqttException {
        client = new MqttAsyncClient(s.url(), s.clientId(), new MemoryPersistence());
        options = new MqttConnectionOptions();
        options.setCleanStart(false);
        options.setSessionExpiryInterval(s.sessionExpirySeconds());
        options.setAutomaticReconnect(false);
        options.setKeepAliveInterval(30);
        options.setConnectionTimeout(10);
        if (!s.username().isEmpty()) {
            options.setUserName(s.username());
        }
        if (!s.password().isEmpty()) {
            options.setPassword(s.password().getBytes(StandardCharsets.UTF_8));
        }
        if (socketFactory != null) {
            options.setSocketFactory(socketFactory);
        }
        client.setManualAcks(true);
        client.setCallback(new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse response) {
                events.lost(response.getException() != null ? response.getException()
                        : new IllegalStateException("disconnected by the broker: reason " + response.getReturnCode()
                        + (response.getReasonString() == null ? "" : " " + response.getReasonString())));
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {
                events.lost(exception);
            }

            @Override
            public void messageArrived(String topic, MqttMessage m) {
                MqttProperties p = m.getProperties();
                Map<String, String> user = new LinkedHashMap<>();
                Optional<String> responseTopic = Optional.empty();
                Optional<byte[]> correlation = Optional.empty();
                if (p != null) {
                    for (UserProperty u : p.getUserProperties()) {
                        user.put(u.getKey(), u.getValue());
                    }
                    responseTopic = Optional.ofNullable(p.getResponseTopic());
                    correlation = Optional.ofNullable(p.getCorrelationData());
                }
                events.arrived(new Message(m.getId(), topic, m.getPayload(), m.getQos(), m.isRetained(), user,
                        responseTopic, correlation));
            }

            @Override
            public void deliveryComplete(IMqttToken token) {
            }

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {
            }

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {
            }
        });
    }

    @Override
    public boolean connect(long timeoutMs) throws Exception {
        IMqttToken t = client.connect(options);
        t.waitForCompletion(timeoutMs);
        return t.getSessionPresent();
    }

    @Override
    public void subscribe(String filter, int qos) throws Exception {
        IMqttToken t = client.subscribe(filter, qos);
        t.waitForCompletion(OP_TIMEOUT_MS);
        int[] codes = t.getReasonCodes();
        if (codes != null && codes.length > 0 && codes[0] >= 0x80) {
            throw new IllegalStateException("the broker refused the subscription to '" + filter + "': reason 0x"
                    + Integer.toHexString(codes[0]));
        }
    }

    @Override
    public void unsubscribe(String filter) throws Exception {
        client.unsubscribe(filter).waitForCompletion(OP_TIMEOUT_MS);
    }

    @Override
    public void publish(String topic, byte[] payload, int qos, Optional<byte[]> correlationData,
                        java.util.function.Consumer<Boolean> done) throws Exception {
        MqttMessage m = new MqttMessage(payload);
        m.setQos(qos);
        if (correlationData.isPresent()) {
            MqttProperties p = new MqttProperties();
            p.setCorrelationData(correlationData.get());
            m.setProperties(p);
        }
        client.publish(topic, m, null, new org.eclipse.paho.mqttv5.client.MqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                done.accept(true);
            }

            @Override
            public void onFailure(IMqttToken token, Throwable e) {
                done.accept(false);
            }
        });
    }

    @Override
    public void ack(Message message) throws Exception {
        client.messageArrivedComplete(message.id(), message.qos());
    }

    @Override
    public boolean connected() {
        return client.isConnected();
    }

    @Override
    public void close() {
        try {
            if (client.isConnected()) {
                client.disconnect().waitForCompletion(2_000);
            } else {
                client.disconnectForcibly(0, 0, false);
            }
        } catch (MqttException e) {
            // closing anyway
        }
        try {
            client.close(true);
        } catch (MqttException e) {
            // nothing left to free
        }
    }
}
