"""The Python reference as a deployable Lambda handler (`lambda_function.handler`), for cold starts.

What a Python developer would ship: configuration and the boto3 SNS client built once at import,
the reference handler from `reference.py` per invocation, the SNS publish for real.
"""

import os
import sys

import boto3

import reference

reference.configure(
    os.environ["ALERT_TOPIC_ARN"],
    {
        slug: os.environ[f"{prefix}_WEBHOOK_SECRETS"].split(",")[0]
        for slug, prefix in (("atlas", "ATLAS"), ("app-services", "APP_SERVICES"), ("monte-carlo", "MONTE_CARLO"))
        if os.environ.get(f"{prefix}_WEBHOOK_SECRETS")
    },
)
reference.LOG = sys.stdout
SNS = boto3.client("sns")


def publish(**request):
    return SNS.publish(**request)["MessageId"]


reference.PUBLISH = publish
handler = reference.handler
