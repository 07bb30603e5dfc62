"""Schemathesis hooks for the contract test (tests/e2e/contract.rs).

- NDJSON: the inventory feed's body is documented as its lines (an array of FeedLine);
  it is sent as one JSON object per line.
- Idempotency-Key: a key names one request, and the server rightly answers 422
  `idempotency_key_reused` when a key comes back with another request. Schemathesis draws
  keys from their pattern and repeats the few short ones it likes, so every key that is
  valid is made unique (an invalid one is sent as drawn: it must still be refused).
"""

import itertools
import json
import os
import re

import schemathesis

_KEYS = itertools.count(1)
_RUN = os.urandom(4).hex()


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, list):
        return "".join(json.dumps(line) + "\n" for line in value).encode()
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() != "idempotency-key":
            continue
        value = headers[name]
        schema = _header_schema(case, name)
        pattern = (schema or {}).get("pattern")
        if isinstance(value, str) and pattern and re.search(pattern, value):
            headers[name] = f"k{_RUN}-{next(_KEYS)}"


def _header_schema(case, name):
    for parameter in case.operation.definition.raw.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == name.lower():
            return parameter.get("schema")
    return None
