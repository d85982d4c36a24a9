package dev.bramble.daemon.trigger;

import java.util.Map;
import java.util.Optional;

/**
 * One MQTT client connection, whichever protocol version: the seam between {@link MqttBridge}, which owns
 * reconnection, subscriptions and routing, and the Paho client of each version. Messages are acknowledged by hand,
 * after they are stored.
 */
interface MqttLink extends AutoCloseable {

    /** A message as it arrived. */
    record Message(int id, String topic, byte[] payload, int qos, boolean retain, Map<String, String> userProperties,
                   Optional<String> responseTopic, Optional<byte[]> correlationData) {
    }

    /** What the link reports; called on the client's threads. */
    interface Events {
        void arrived(Message message);

        void lost(Throwable cause);
    }

    /**
     * Connects, waiting at most {@code timeoutMs}.
     *
     * @return whether the broker still had the session
     * @throws Exception naming why not
     */
    boolean connect(long timeoutMs) throws Exception;

    /** Subscribes, waiting for the broker's answer; throws when the broker refuses. */
    void subscribe(String filter, int qos) throws Exception;

    void unsubscribe(String filter) throws Exception;

    /**
     * Starts a publish; {@code done} hears whether the broker took it (PUBACK for QoS 1).
     */
    void publish(String topic, byte[] payload, int qos, Optional<byte[]> correlationData,
                 java.util.function.Consumer<Boolean> done) throws Exception;

    /** Acknowledges a message to the broker (PUBACK for QoS 1). */
    void ack(Message message) throws Exception;

    boolean connected();

    /** Disconnects politely if connected (or at once when it is not), and frees the client. */
    @Override
    void close();
}
