"""A humidity sensor's function, as one writes it for Lambda's Python runtime.

MQTT brings {"humidity": 71.5} on sensors/<device>/humidity, as the trigger's event: {"topic": ..., "payload": ...};
what it returns goes to actuators/<device>/vent (the trigger's replyTopic).
"""
import logging
import os

logger = logging.getLogger()
VENT_ABOVE = float(os.environ.get("VENT_ABOVE", "70"))


def handler(event, context):
    device = event["topic"].split("/")[1]
    humidity = float(event["payload"]["humidity"])
    command = "vent" if humidity > VENT_ABOVE else "idle"
    logger.info("device=%s humidity=%.1f command=%s", device, humidity, command)
    return {"device": device, "command": command, "humidity": humidity, "requestId": context.aws_request_id}
