package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.events.DynamodbEvent;
import com.amazonaws.services.lambda.runtime.events.KinesisEvent;
import com.amazonaws.services.lambda.runtime.events.S3Event;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Handlers for the events whose mapping Lambda adapts most: S3 notifications, Kinesis records (epoch seconds and
 * base64 data) and DynamoDB stream records (epoch seconds, typed attributes). Each says what it was given.
 */
public class StreamRecordsHandler {
    public Map<String, Object> s3(S3Event event, Context context) {
        var record = event.getRecords().getFirst();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bucket", record.getS3().getBucket().getName());
        out.put("key", record.getS3().getObject().getUrlDecodedKey());
        out.put("size", record.getS3().getObject().getSizeAsLong());
        out.put("eventTimeMs", record.getEventTime().getMillis());
        return out;
    }

    public Map<String, Object> kinesis(KinesisEvent event, Context context) {
        var record = event.getRecords().getFirst().getKinesis();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("arrivalMs", record.getApproximateArrivalTimestamp().getTime());
        out.put("data", StandardCharsets.UTF_8.decode(record.getData()).toString());
        return out;
    }

    public Map<String, Object> dynamodb(DynamodbEvent event, Context context) {
        var record = event.getRecords().getFirst().getDynamodb();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("createdMs", record.getApproximateCreationDateTime().getTime());
        out.put("message", record.getNewImage().get("Message").getS());
        return out;
    }
}
