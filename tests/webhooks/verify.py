"""Checks captured webhook deliveries with PyPI's `standardwebhooks` (an implementation of the
Standard Webhooks signature independent of Concierge's).

    python3 tests/webhooks/verify.py CAPTURE.json

CAPTURE.json: {"secrets": ["whsec_..."], "deliveries": [{"headers": {...}, "body": "..."}]}.
Every delivery must verify with every secret (during a rotation both sign). Exits 0 and prints
"verified N" when all do, 1 when one does not, 3 when the package is missing.
"""

import json
import sys

try:
    from standardwebhooks.webhooks import Webhook
except ImportError as error:  # the e2e test skips unless the check is required
    print(f"standardwebhooks is not installed: {error}", file=sys.stderr)
    sys.exit(3)


def main(path):
    with open(path, encoding="utf-8") as file:
        capture = json.load(file)
    checked = 0
    for secret in capture["secrets"]:
        hook = Webhook(secret)
        for delivery in capture["deliveries"]:
            verify(hook, delivery)
            checked += 1
    print(f"verified {len(capture['deliveries'])} deliveries ({checked} signatures)")


def verify(hook, delivery):
    try:
        payload = hook.verify(delivery["body"], delivery["headers"])
    except Exception as error:  # noqa: BLE001 - any refusal fails the check
        print(f"refused {delivery['headers'].get('webhook-id')}: {error}")
        sys.exit(1)
    if payload.get("id") != delivery["headers"]["webhook-id"]:
        print(f"the body's id is not the webhook-id: {payload}")
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
