#!/usr/bin/env python3
"""A minimal Lambda runtime loop for Python: the fallback when awslambdaric is not installed.

usage: python_runtime.py module.function   (with AWS_LAMBDA_RUNTIME_API and LAMBDA_TASK_ROOT set)
"""

import importlib
import json
import os
import sys
import urllib.request


def main():
    base = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "."))
    module, name = sys.argv[1].rsplit(".", 1)
    handler = getattr(importlib.import_module(module), name)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while True:
        with opener.open(f"{base}/invocation/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read())
        try:
            result, kind = json.dumps(handler(event, None)).encode(), "response"
        except Exception as error:  # reported to the Runtime API, as Lambda's own runtimes do
            result, kind = json.dumps({"errorMessage": str(error), "errorType": type(error).__name__}).encode(), "error"
        opener.open(urllib.request.Request(f"{base}/invocation/{request_id}/{kind}", data=result, method="POST")).read()


if __name__ == "__main__":
    main()
