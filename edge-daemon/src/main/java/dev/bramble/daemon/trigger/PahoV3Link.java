package dev.bramble.daemon.trigger;

import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

import javax.net.SocketFactory;
import java.util.Map;
import java.util.Optional;

/** MQTT 3.1.1 through Paho's mqttv3 client: a persistent session (clean session off); no properties. */
final class PahoV3Link implements MqttLink {
    private static final long OP_TIMEOUT_MS = 10_000;

    private final MqttAsyncClient client;
    private final MqttConnectOptions options;

    PahoV3Link(MqttBridge.Settings s, SocketFactory socketFactory, Events events) throws MqttException {
        client = new MqttAsyncClient(s.url(), s.clientId(), new MemoryPersistence());
        options = new MqttConnectOptions();
        options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        options.setCleanSession(false);
        options.setAutomaticReconnect(false);
        options.setKeepAliveInterval(30);
        options.setConnectionTimeout(10);
        if (!s.username().isEmpty()) {
            options.setUserName(s.username());
        }
        if (!s.password().isEmpty()) {
            options.setPassword(s.password().toCharArray());
        }
        if (socketFactory != null) {
            options.setSocketFactory(socketFactory);
        }
        client.setManualAcks(true);
        client.setCallback(new MqttCallbackExtended() {
            @Override
            public void connectionLost(Throwable cause) {
                events.lost(cause);
            }

            @Override
            public void messageArrived(String topic, MqttMessage m) {
                events.arrived(new Message(m.getId(), topic, m.getPayload(), m.getQos(), m.isRetained(), Map.of(),
                        Optional.empty(), Optional.empty()));
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {
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
        int[] granted = t.getGrantedQos();
        if (granted != null && granted.length > 0 && granted[0] >= 0x80) {
            throw new IllegalStateException("the broker refused the subscription to '" + filter + "'");
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
        client.publish(topic, m, null, new org.eclipse.paho.client.mqttv3.IMqttActionListener() {
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
