#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""Kiln's Infernet side, checked with Ritual's own libraries (run with .venv/infernet: they need web3 6).

Reads one JSON request {"op": ..., ...} on stdin, prints one JSON answer.

- `container`: requests built with infernet-ml's `InfernetInput` / `JobLocation`, posted to a Kiln node's
  `/service_output` as an Infernet node would; on-chain inputs encoded and `raw_output` decoded with eth-abi;
  `/service-resources` parsed with infernet-ml's `ServiceResources`.
- `onchain`: one on-chain job's five-key answer.
- `client`: Ritual's infernet-client `NodeClient` driving an Infernet node (the test bench's stand-in), so the
  stand-in cannot drift from what real clients expect.
"""
import asyncio
import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from eth_abi import decode, encode
from infernet_client.error import APIError
from infernet_client.node import NodeClient
from infernet_ml.services.types import InfernetInput, JobLocation
from infernet_ml.utils.spec import ServiceResources

ONCHAIN_OUTPUT = ["bytes32", "bytes32", "bytes32", "bytes32", "uint64", "string", "bytes"]


def post(url, body):
    """POST JSON as the Infernet node does; returns (status, content type, parsed JSON or None)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        response = error
    ctype = (response.headers.get("Content-Type") or "").split(";")[0].strip()
    raw = response.read()
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    return response.status, ctype, value


def container(request):
    base = request["node"]
    job = request["job"]
    answers = {}

    def send(name, body):
        status, ctype, value = post(base + "/service_output", body)
        answers[name] = {"status": status, "contentType": ctype, "json": value}
        return value

    # Off-chain source and destination: data is the Kiln job request, as an Infernet REST client sent it.
    offchain = InfernetInput(source=JobLocation.OFFCHAIN, destination=JobLocation.OFFCHAIN, data=job)
    send("offchain", offchain.model_dump(mode="json"))

    # On-chain source and destination: data is hex (no 0x) of abi.encode(string request), as getContainerInputs
    # returns it; raw_output decodes with eth-abi.
    data = encode(["string"], [json.dumps(job)]).hex()
    onchain = InfernetInput(source=JobLocation.ONCHAIN, destination=JobLocation.ONCHAIN, data=data)
    value = send("onchain", onchain.model_dump(mode="json"))
    if isinstance(value, dict) and isinstance(value.get("raw_output"), str):
        raw = bytes.fromhex(value["raw_output"])
        job_id, model_id, input_hash, output_hash, block, cid, signature = decode(ONCHAIN_OUTPUT, raw)
        answers["onchain"]["decoded"] = {
            "jobId": "0x" + job_id.hex(),
            "modelId": "0x" + model_id.hex(),
            "inputHash": "0x" + input_hash.hex(),
            "outputHash": "0x" + output_hash.hex(),
            "referenceBlock": block,
            "outputCID": cid,
            "signature": "0x" + signature.hex(),
        }
        answers["onchain"]["rawInputMatches"] = value.get("raw_input") == data
        answers["onchain"]["processedInput"] = json.loads(bytes.fromhex(value["processed_input"]))

    # Chained after another container: source 1 with the previous container's whole JSON answer as data (here a
    # container that produced the Kiln job request), to an on-chain destination.
    chained = {"source": 1, "destination": 0, "data": job, "requires_proof": False}
    send("chained", chained)

    # A Kiln node chained after a Kiln node gets a job *response*: not a request it can run.
    previous = answers["offchain"]["json"]
    send("afterKiln", {"source": 1, "destination": 1, "data": previous, "requires_proof": False})

    # Bad data, a proof asked for, streaming.
    send("badData", InfernetInput(source=JobLocation.OFFCHAIN, destination=JobLocation.OFFCHAIN,
                                  data={"jobId": "nope"}).model_dump(mode="json"))
    send("proof", InfernetInput(source=JobLocation.OFFCHAIN, destination=JobLocation.OFFCHAIN, data=job,
                                requires_proof=True).model_dump(mode="json"))
    send("stream", {"source": 1, "destination": 2, "data": job})
    send("badHex", InfernetInput(source=JobLocation.ONCHAIN, destination=JobLocation.ONCHAIN,
                                 data="abcd").model_dump(mode="json"))

    with urllib.request.urlopen(base + "/service-resources", timeout=10) as response:
        resources = json.loads(response.read())
    ServiceResources.model_validate(resources)  # raises if the shape is not Infernet's
    with urllib.request.urlopen(base + "/service-resources?model_id=kiln/cppn-v1", timeout=10) as response:
        supported = json.loads(response.read())
    with urllib.request.urlopen(base + "/service-resources?model_id=other/model", timeout=10) as response:
        unsupported = json.loads(response.read())
    answers["resources"] = {"serviceId": resources["service_id"], "supported": supported, "unsupported": unsupported}
    return answers


async def client(request):
    """Drives an Infernet node with Ritual's infernet-client, as its users do."""
    node = NodeClient(request["node"])
    job = request["job"]
    good, refused = request["container"], request["refusedContainer"]
    out = {"healthy": await node.health(timeout=5)}
    info = await node.get_info(timeout=5)
    out["info"] = {"version": info["version"], "containers": sorted(c["id"] for c in info["containers"])}

    job_id = await node.request_job({"containers": [good], "data": job}, timeout=10)
    result = await node.get_job_result_sync(job_id, retries=60, timeout=10)
    out["single"] = {"status": result["status"], "container": result["result"]["container"],
                     "jobId": result["result"]["output"].get("jobId")}

    batch = await node.request_jobs(
        [{"containers": [good], "data": job}, {"containers": [refused], "data": job}], timeout=10
    )
    out["batch"] = batch
    ids = [item["id"] for item in batch if "id" in item]
    for _ in range(120):
        results = await node.get_job_results(ids + ["00000000-0000-4000-8000-000000000000"], timeout=10)
        if all(r["status"] != "running" for r in results):
            break
        await asyncio.sleep(0.25)
    out["results"] = [{"id": r["id"], "status": r["status"]} for r in results]
    chained = await node.request_job({"containers": [good, good], "data": job}, timeout=10)
    for _ in range(120):
        results = await node.get_job_results([chained], intermediate=True, timeout=10)
        if results and results[0]["status"] != "running":
            break
        await asyncio.sleep(0.25)
    out["chained"] = {
        "status": results[0]["status"],
        "intermediate": [r.get("container") for r in results[0].get("intermediate_results", [])],
        "error": results[0]["result"].get("error"),
        "output": results[0]["result"].get("output"),
    }
    out["completed"] = sorted(await node.get_jobs(pending=False, timeout=5))
    # Results are kept per client IP: the same ids asked from another loopback address are not there.
    host, port = urllib.parse.urlsplit(request["node"]).netloc.split(":")
    other = http.client.HTTPConnection(host, int(port), timeout=10, source_address=("127.0.0.2", 0))
    other.request("GET", f"/api/jobs?id={job_id}&id={chained}")
    out["fromAnotherIP"] = json.loads(other.getresponse().read())
    other.close()
    out["expectedCompleted"] = sorted([job_id, chained] + ids)
    try:
        await node.request_job({"containers": [refused], "data": job}, timeout=10)
        out["refusal"] = None
    except APIError as error:
        out["refusal"] = {"status": error.status_code, "message": error.message, "params": error.params}
    return out


def main():
    request = json.load(sys.stdin)
    if request["op"] == "container":
        answer = container(request)
    elif request["op"] == "onchain":
        # One on-chain job, as a subscription's getContainerInputs would give it: the five-key answer.
        data = encode(["string"], [json.dumps(request["job"])]).hex()
        body = InfernetInput(source=JobLocation.ONCHAIN, destination=JobLocation.ONCHAIN, data=data)
        answer = post(request["node"] + "/service_output", body.model_dump(mode="json"))[2]
    elif request["op"] == "client":
        answer = asyncio.run(client(request))
    else:
        raise SystemExit(f"unknown op {request['op']}")
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
