#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Checks a running Kiln server against its OpenAPI document in docs/reference/openapi/, as an independent client.

The document is validated as OpenAPI 3.1 (openapi-spec-validator); every operation's `x-kiln-try` requests are sent
with `requests`, and each answer must have the status the entry expects and be valid for the document — status
documented, content type documented, JSON body valid for its schema — by openapi-core's response validator, never
Kiln's code. The routes the server's source registers (`router.get("…")`, …) and the document's operations must be
the same set, so a route added without its documentation (or documented and gone) fails too.

Request (JSON on stdin): {"spec": path, "base": URL, "vars": {"contract": …}, "sources": [Swift file, …]}.
Answer: {"checks": [[name, ok, detail], …]}.
"""
import json
import re
import sys

import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate as validate_spec

checks = []


def check(name, ok, detail=""):
    checks.append([name, bool(ok), str(detail)[:600]])
    return ok


def routes_in(sources):
    """(METHOD, path) of every route a Hummingbird router in these files registers, in OpenAPI's spelling."""
    found = set()
    for source in sources:
        text = open(source, encoding="utf-8").read()
        for method, path in re.findall(r'router\.(get|post|head|put|patch|delete)\("([^"]+)"', text):
            path = re.sub(r":(\w+)", r"{\1}", path)
            path = path.replace("/ipfs/**", "/ipfs/{cid}")
            found.add((method.upper(), path))
    return found


def main():
    request = json.load(sys.stdin)
    with open(request["spec"], encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    try:
        validate_spec(document)
        check("the document is valid OpenAPI 3.1", True)
    except Exception as error:  # noqa: BLE001 — any validation failure is the finding
        check("the document is valid OpenAPI 3.1", False, error)
        print(json.dumps({"checks": checks}))
        return
    base = request["base"].rstrip("/")
    # The document names the default address; the server under test listens where the test started it.
    api = OpenAPI.from_dict(dict(document, servers=[{"url": base}]))
    variables = request.get("vars", {})

    documented = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "head", "put", "patch", "delete"):
                continue
            documented.add((method.upper(), path))
            tries = operation.get("x-kiln-try", [])
            check(f"{method.upper()} {path} has requests to try", tries, "x-kiln-try is empty")
            for entry in tries:
                target = entry["path"]
                for name, value in variables.items():
                    target = target.replace("{" + name + "}", value)
                verb = entry.get("method", method.upper())
                name = f"{verb} {target}"
                kwargs = {"timeout": 60, "allow_redirects": False}
                if "json" in entry:
                    kwargs["json"] = entry["json"]
                elif "raw" in entry:
                    kwargs["data"] = entry["raw"].encode()
                    kwargs["headers"] = {"Content-Type": "application/json"}
                answer = requests.request(verb, base + target, **kwargs)
                if not check(f"{name} answers {entry['expect']}", answer.status_code == entry["expect"],
                             f"{answer.status_code}: {answer.text[:300]}"):
                    continue
                try:
                    api.validate_response(RequestsOpenAPIRequest(answer.request), RequestsOpenAPIResponse(answer))
                    check(f"{name}: the answer is what the document says", True)
                except Exception as error:  # noqa: BLE001
                    detail = getattr(error, "__cause__", None) or error
                    check(f"{name}: the answer is what the document says", False, f"{error}: {detail}")

    if request.get("sources"):
        registered = routes_in(request["sources"])
        undocumented = sorted(registered - documented)
        stale = sorted(documented - registered)
        check("every route the server registers is documented", not undocumented, undocumented)
        check("every documented operation is a route the server registers", not stale, stale)
    print(json.dumps({"checks": checks}))


if __name__ == "__main__":
    main()
