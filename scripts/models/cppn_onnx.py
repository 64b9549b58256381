#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""kiln/cppn-float-v1: a float CPPN exported to ONNX and run by onnxruntime — a model that is NOT bit-exact.

The network is fixed (coordinates x, y, r and a 4-value latent -> 16 sin -> 16 tanh -> 16 sin -> 3 tanh); its
weights are graph inputs, drawn from the job: seed = keccak-256 of the request body (Kiln sends the canonical
JSON of the input, so every operator gets the same seed), then keccak-256(seed || counter) in counter mode, two
bytes at a time as int16 / 32768. `level` (default 1) raises the first layer's gain; `width`, `height`
(1..1024, default 256) set the size. The answer is an RGB PNG.

Operators differ the way real fleets do: --precision fp32|fp16, --threads N, --opt none|basic|extended|all,
--provider cpu|cuda. Their pixels differ slightly; Kiln's agreement policy decides what still counts as one
answer. --seed-salt makes a node that runs another seed (a different model, for tests).

  cppn_onnx.py serve [--host H] [--port P] [...]   HTTP: POST / (JSON input) -> image/png; GET /health
  cppn_onnx.py run INPUT_JSON OUT.png [...]        one image (a preview)
  cppn_onnx.py export OUT.onnx [--precision ...]   the graph, for inspection (netron, onnx.checker)
"""
import argparse
import io
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnx
import onnxruntime as ort
from eth_hash.auto import keccak
from onnx import TensorProto, helper
from PIL import Image

MODEL_ID = "kiln/cppn-float-v1"
HIDDEN = 16
LATENT = 4
INPUTS = 3 + LATENT
LAYERS = [(INPUTS, HIDDEN, "Sin"), (HIDDEN, HIDDEN, "Tanh"), (HIDDEN, HIDDEN, "Sin"), (HIDDEN, 3, "Tanh")]
MAX_BODY = 64 * 1024


def graph(precision):
    """The CPPN as an ONNX graph: coords [N, 7] and every layer's weights and biases as inputs."""
    elem = TensorProto.FLOAT16 if precision == "fp16" else TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("coords", elem, ["N", INPUTS])]
    nodes = []
    previous = "coords"
    for index, (fan_in, fan_out, activation) in enumerate(LAYERS):
        w, b = f"w{index}", f"b{index}"
        inputs += [
            helper.make_tensor_value_info(w, elem, [fan_in, fan_out]),
            helper.make_tensor_value_info(b, elem, [fan_out]),
        ]
        nodes += [
            helper.make_node("MatMul", [previous, w], [f"m{index}"]),
            helper.make_node("Add", [f"m{index}", b], [f"a{index}"]),
            helper.make_node(activation, [f"a{index}"], [f"h{index}"]),
        ]
        previous = f"h{index}"
    nodes.append(helper.make_node("Identity", [previous], ["rgb"]))
    output = helper.make_tensor_value_info("rgb", elem, ["N", 3])
    model = helper.make_model(
        helper.make_graph(nodes, "kiln_cppn_float_v1", inputs, [output]),
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="kiln",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


class Parameters:
    """keccak-256(seed || uint256 counter) in counter mode, two bytes at a time, as int16 / 32768."""

    def __init__(self, seed):
        self.seed, self.counter, self.buffer = seed, 0, b""

    def take(self, count):
        values = []
        while len(values) < count:
            if len(self.buffer) < 2:
                self.buffer += keccak(self.seed + self.counter.to_bytes(32, "big"))
                self.counter += 1
            values.append(int.from_bytes(self.buffer[:2], "big", signed=True) / 32768.0)
            self.buffer = self.buffer[2:]
        return np.array(values, dtype=np.float64)


class Model:
    def __init__(self, precision="fp32", threads=1, opt="all", provider="cpu", seed_salt=""):
        self.dtype = np.float16 if precision == "fp16" else np.float32
        self.seed_salt = seed_salt.encode()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = {
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[opt]
        providers = ["CUDAExecutionProvider"] if provider == "cuda" else ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(graph(precision).SerializeToString(), options, providers=providers)
        self.lock = threading.Lock()
        self.description = f"{MODEL_ID} {precision} threads={threads} opt={opt} provider={self.session.get_providers()[0]}"

    def render(self, body):
        """The PNG for one request body (canonical JSON of the input)."""
        request = json.loads(body)
        if not isinstance(request, dict):
            raise ValueError("the input must be a JSON object")

        def dimension(key):
            value = request.get(key, 256)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1024:
                raise ValueError(f"'{key}' must be a whole number 1..1024")
            return value

        width, height = dimension("width"), dimension("height")
        level = request.get("level", 1)
        level = level if isinstance(level, int) and not isinstance(level, bool) else 1
        stream = Parameters(keccak(self.seed_salt + body) if self.seed_salt else keccak(body))
        latent = stream.take(LATENT)
        feeds = {}
        gain = 1.5 + min(max(level - 1, 0), 24) / 4.0
        for index, (fan_in, fan_out, _) in enumerate(LAYERS):
            scale = gain if index == 0 else 2.0
            feeds[f"w{index}"] = (stream.take(fan_in * fan_out).reshape(fan_in, fan_out) * scale).astype(self.dtype)
            feeds[f"b{index}"] = (stream.take(fan_out) / 2).astype(self.dtype)
        side = max(width, height)
        ys, xs = np.mgrid[0:height, 0:width]
        x = (2 * xs + 1 - width) / side
        y = (2 * ys + 1 - height) / side
        r = np.sqrt(x * x + y * y)
        coords = np.concatenate(
            [np.stack([x, y, r], axis=-1).reshape(-1, 3), np.tile(latent, (width * height, 1))], axis=1
        )
        feeds["coords"] = coords.astype(self.dtype)
        with self.lock:
            (rgb,) = self.session.run(["rgb"], feeds)
        pixels = np.clip(np.rint((rgb.astype(np.float32) + 1) * 127.5), 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels.reshape(height, width, 3), "RGB")
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def serve(model, host, port):
    class Handler(BaseHTTPRequestHandler):
        server_version = "kiln-cppn-onnx/1"

        def log_message(self, *args):
            pass

        def answer(self, status, content_type, body):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/health":
                self.answer(200, "application/json", json.dumps({"status": "ok", "model": model.description}).encode())
            else:
                self.answer(404, "application/json", b'{"error":"not found"}')

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.answer(413, "application/json", b'{"error":"request too large"}')
                return
            body = self.rfile.read(length)
            try:
                png = model.render(body)
            except (ValueError, json.JSONDecodeError) as error:
                self.answer(400, "application/json", json.dumps({"error": str(error)}).encode())
                return
            self.answer(200, "image/png", png)

    server = ThreadingHTTPServer((host, port), Handler)
    print(f"listening on http://{host}:{server.server_address[1]} ({model.description})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "run", "export"):
        command = commands.add_parser(name)
        command.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
        if name == "export":
            command.add_argument("out")
            continue
        command.add_argument("--threads", type=int, default=1)
        command.add_argument("--opt", choices=["none", "basic", "extended", "all"], default="all")
        command.add_argument("--provider", choices=["cpu", "cuda"], default="cpu")
        command.add_argument("--seed-salt", default="", help="FOR TESTS: run another seed (another model)")
        if name == "serve":
            command.add_argument("--host", default="127.0.0.1")
            command.add_argument("--port", type=int, default=0)
        else:
            command.add_argument("input", help="the input as JSON (Kiln hashes its canonical form)")
            command.add_argument("out")
    args = parser.parse_args()
    if args.command == "export":
        onnx.save(graph(args.precision), args.out)
        return
    model = Model(args.precision, args.threads, args.opt, args.provider, args.seed_salt)
    if args.command == "serve":
        serve(model, args.host, args.port)
    else:
        body = json.dumps(json.loads(args.input), sort_keys=True, separators=(",", ":")).encode()
        with open(args.out, "wb") as out:
            out.write(model.render(body))
        print(f"{args.out} ({model.description})")


if __name__ == "__main__":
    sys.exit(main())
