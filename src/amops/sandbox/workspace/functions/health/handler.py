"""GET /health: answers 200 with the environment and the version that is running."""

import json
import os


def handler(event, context):
    body = {
        "status": "ok",
        "environment": os.environ.get("AM_ENV"),
        "region": os.environ.get("AWS_REGION"),
        "function_version": context.function_version,
    }
    print(json.dumps({"level": "INFO", "message": "health", "request_id": context.aws_request_id}))
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
