"""Bramble's bootstrap of the managed python3 runtime: Lambda's Runtime API client and handler loader.

Standard library only, so a device needs nothing but its own python3. It does what Lambda's Python runtime does:
imports the handler named by _HANDLER (module.function) from the bundle's top (LAMBDA_TASK_ROOT), then asks the
Runtime API (AWS_LAMBDA_RUNTIME_API) for each invocation, calls handler(event, context) and posts the result, or
Lambda's error object when the handler raises or its result is not JSON.
"""
import http.client
import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback

API = "/2018-06-01/runtime"


class RuntimeApi:
    """One keep-alive connection to the Runtime API; a long poll waits on it for the next invocation."""

    def __init__(self, endpoint):
        host, _, port = endpoint.rpartition(":")
        self.host, self.port, self.conn = host, int(port), None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            try:
                self.conn.request(method, API + path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.headers, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


class LambdaContext:
    """The context object of Lambda's Python runtime."""

    def __init__(self, request_id, headers):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        client_context = headers.get("Lambda-Runtime-Client-Context")
        self.client_context = json.loads(client_context) if client_context else None
        identity = headers.get("Lambda-Runtime-Cognito-Identity")
        self.identity = json.loads(identity) if identity else None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


class RequestIdFilter(logging.Filter):
    """Puts the current invocation's request id on each record, as Lambda's log format has it."""

    current = threading.local()

    def filter(self, record):
        record.aws_request_id = getattr(self.current, "request_id", None) or ""
        return True


def configure_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                  "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def error_object(e, request_id=None):
    error = {"errorMessage": str(e), "errorType": type(e).__name__}
    if request_id:
        error["requestId"] = request_id
    # the function's frames, not this bootstrap's, as Lambda's trace shows them
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename != __file__]
    error["stackTrace"] = traceback.format_list(frames)
    return error


def log_error(error):
    # Lambda's one error line, its trace on the following lines
    print("[ERROR] %s: %s" % (error["errorType"], error["errorMessage"]), file=sys.stderr)
    for frame in error.get("stackTrace", []):
        print(frame.rstrip("\n"), file=sys.stderr)


def load_handler(api):
    spec = os.environ["_HANDLER"]
    module_name, _, function_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        return fail_init(api, "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    except Exception as e:  # the module's own code failed (a SyntaxError included)
        return fail_init(api, "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    handler = getattr(module, function_name, None)
    if not callable(handler):
        return fail_init(api, "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'"
                         % (function_name, module_name))
    return handler


def fail_init(api, error_type, message, error=None):
    error = error or {"errorMessage": message, "errorType": error_type, "stackTrace": []}
    log_error(error)
    api.request("POST", "/init/error", json.dumps(error), {"Lambda-Runtime-Function-Error-Type": error_type})
    sys.exit(1)


def serve(handler, api):
    while True:
        status, headers, body = api.request("GET", "/invocation/next")
        if status != 200:
            print("[ERROR] Runtime API: GET next answered %d: %s" % (status, body[:200]), file=sys.stderr)
            time.sleep(0.1)
            continue
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        RequestIdFilter.current.request_id = request_id
        try:
            event = json.loads(body) if body else None
            result = handler(event, LambdaContext(request_id, headers))
            try:
                answer = json.dumps(result)
            except (TypeError, ValueError) as e:
                raise MarshalError("Unable to marshal response: %s" % e) from None
            api.request("POST", "/invocation/%s/response" % request_id, answer,
                        {"Content-Type": "application/json"})
        except Exception as e:
            error = error_object(e, request_id)
            if isinstance(e, MarshalError):
                error["errorType"] = "Runtime.MarshalError"
            log_error(error)
            api.request("POST", "/invocation/%s/error" % request_id, json.dumps(error),
                        {"Lambda-Runtime-Function-Error-Type": error["errorType"]})
        finally:
            RequestIdFilter.current.request_id = None


class MarshalError(Exception):
    pass


def main():
    root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[0] = root  # the bundle's top, not this bootstrap's directory
    configure_logging()
    endpoint = os.environ["AWS_LAMBDA_RUNTIME_API"]
    handler = load_handler(RuntimeApi(endpoint))
    workers = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1"))
    threads = [threading.Thread(target=serve, args=(handler, RuntimeApi(endpoint)), daemon=True)
               for _ in range(workers - 1)]
    for t in threads:
        t.start()
    serve(handler, RuntimeApi(endpoint))


if __name__ == "__main__":
    main()
