"""The function code of both versions of the peer-benchmark job (never deployed)."""


def handler(event: dict, context: object) -> dict:
    return {"statusCode": 200}
