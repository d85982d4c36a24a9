package dev.bramble.bench;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The cold-start floor: a bare JVM that loads the same handler from the same jars, maps the same event with
 * Jackson, calls it once and prints the result. No daemon, channel or sandbox. With {@code --stay} it then idles,
 * so its memory can be measured.
 */
public final class BareLambda {
    private BareLambda() {
    }

    /**
     * @param args task root, handler class, event JSON, and optionally {@code --stay}
     */
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        List<URL> urls = new ArrayList<>();
        try (Stream<Path> jars = Files.list(root.resolve("lib"))) {
            for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                urls.add(jar.toUri().toURL());
            }
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), BareLambda.class.getClassLoader());
        ObjectMapper mapper = JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
        Class<?> type = Class.forName(args[1], true, loader);
        @SuppressWarnings("unchecked")
        RequestHandler<Object, Object> handler = (RequestHandler<Object, Object>) type.getConstructor().newInstance();
        JavaType input = mapper.getTypeFactory().constructType(type).findTypeParameters(RequestHandler.class)[0];
        Object result = handler.handleRequest(mapper.readerFor(input).readValue(args[2]), new BareContext());
        System.out.println(mapper.writeValueAsString(result));
        System.out.flush();
        if (args.length > 3 && args[3].equals("--stay")) {
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    private static final class BareContext implements Context {
        @Override
        public String getAwsRequestId() {
            return "bare";
        }

        @Override
        public String getLogGroupName() {
            return "bare";
        }

        @Override
        public String getLogStreamName() {
            return "bare";
        }

        @Override
        public String getFunctionName() {
            return "bare";
        }

        @Override
        public String getFunctionVersion() {
            return "1";
        }

        @Override
        public String getInvokedFunctionArn() {
            return "bare";
        }

        @Override
        public CognitoIdentity getIdentity() {
            return null;
        }

        @Override
        public ClientContext getClientContext() {
            return null;
        }

        @Override
        public int getRemainingTimeInMillis() {
            return 3000;
        }

        @Override
        public int getMemoryLimitInMB() {
            return 128;
        }

        @Override
        public LambdaLogger getLogger() {
            return new LambdaLogger() {
                @Override
                public void log(String message) {
                    System.err.println(message);
                }

                @Override
                public void log(byte[] message) {
                    System.err.println(new String(message, java.nio.charset.StandardCharsets.UTF_8));
                }
            };
        }
    }
}
