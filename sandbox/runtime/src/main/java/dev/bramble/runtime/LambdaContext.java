package dev.bramble.runtime;

import com.amazonaws.services.lambda.runtime.Client;
import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;

import java.util.Map;

/** The {@link Context} of one invocation. */
record LambdaContext(FunctionFacts facts, String awsRequestId, String invokedFunctionArn, long deadlineEpochMs,
                     ClientContext clientContext, LambdaLogger logger) implements Context {

    @Override
    public String getAwsRequestId() {
        return awsRequestId;
    }

    @Override
    public String getLogGroupName() {
        return facts.logGroupName();
    }

    @Override
    public String getLogStreamName() {
        return facts.logStreamName();
    }

    @Override
    public String getFunctionName() {
        return facts.functionName();
    }

    @Override
    public String getFunctionVersion() {
        return facts.functionVersion();
    }

    @Override
    public String getInvokedFunctionArn() {
        return invokedFunctionArn;
    }

    @Override
    public CognitoIdentity getIdentity() {
        return NoIdentity.INSTANCE;
    }

    @Override
    public ClientContext getClientContext() {
        return clientContext;
    }

    @Override
    public int getRemainingTimeInMillis() {
        long left = deadlineEpochMs - System.currentTimeMillis();
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, left));
    }

    @Override
    public int getMemoryLimitInMB() {
        return facts.memoryMb();
    }

    @Override
    public LambdaLogger getLogger() {
        return logger;
    }

    /** Facts about the function that are the same for every invocation in this environment. */
    record FunctionFacts(String functionName, String functionVersion, int memoryMb, String logGroupName,
                         String logStreamName) {
        static FunctionFacts fromEnvironment(Map<String, String> env) {
            return new FunctionFacts(
                    env.getOrDefault("AWS_LAMBDA_FUNCTION_NAME", "unknown"),
                    env.getOrDefault("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                    parseInt(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 128),
                    env.getOrDefault("AWS_LAMBDA_LOG_GROUP_NAME", ""),
                    env.getOrDefault("AWS_LAMBDA_LOG_STREAM_NAME", ""));
        }

        private static int parseInt(String s, int fallback) {
            try {
                return s == null ? fallback : Integer.parseInt(s);
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
    }

    /** Devices have no Cognito; Lambda itself returns empty ids in that case. */
    private enum NoIdentity implements CognitoIdentity {
        INSTANCE;

        @Override
        public String getIdentityId() {
            return "";
        }

        @Override
        public String getIdentityPoolId() {
            return "";
        }
    }

    /** The client context from {@code X-Amz-Client-Context}, as Lambda's mobile SDK shapes it. */
    record ParsedClientContext(Client client, Map<String, String> custom, Map<String, String> env)
            implements ClientContext {
        @Override
        public Client getClient() {
            return client;
        }

        @Override
        public Map<String, String> getCustom() {
            return custom;
        }

        @Override
        public Map<String, String> getEnvironment() {
            return env;
        }
    }

    /** The {@code client} part of a client context. */
    record ParsedClient(String installationId, String appTitle, String appVersionName, String appVersionCode,
                        String appPackageName) implements Client {
        @Override
        public String getInstallationId() {
            return installationId;
        }

        @Override
        public String getAppTitle() {
            return appTitle;
        }

        @Override
        public String getAppVersionName() {
            return appVersionName;
        }

        @Override
        public String getAppVersionCode() {
            return appVersionCode;
        }

        @Override
        public String getAppPackageName() {
            return appPackageName;
        }
    }
}
