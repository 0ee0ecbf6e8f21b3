#!/usr/bin/env python3
"""Thousands of malformed or random HTTP requests against a live `tandem serve`.

Bodies are mutations of valid requests (bytes flipped, cut, repeated; deep nesting; huge numbers;
invalid UTF-8), headers and request lines are broken on purpose (bad methods, no colon, lying
Content-Length, bad chunked encoding, huge paths, path traversal), and a valid generation now and
then keeps the engine busy. The server must answer every request it can parse with a 4xx or 2xx
(never 5xx), stay up (/health is asked every 250 requests), answer a valid chat completion at the
end, and exit 0 on SIGTERM. Under a sanitizer build any report fails the process, hence the test.

  /usr/bin/python3 tests/serve/http_fuzz.py TANDEM [--count 10000] [--seed 1]
"""
import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SEEDS = [
    {"messages": [{"role": "user", "content": "What is 2 + 2?"}], "max_tokens": 4},
    {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
     "temperature": 0.5, "top_p": 0.9, "seed": 3, "n": 2, "max_tokens": 3, "stop": ["\n"], "logprobs": True,
     "top_logprobs": 2, "stream": True, "stream_options": {"include_usage": True}},
    {"prompt": "12+7=", "max_tokens": 3, "logprobs": 1},
    {"prompt": [1, 2, 3], "max_tokens": 2},
    {"tokens": [104, 101]},
]
PATHS = ["/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize", "/v1/models", "/health",
         "/metrics", "/", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/v1/../../../etc/shadow",
         "//v1//chat//completions", "/v1/chat/completions?x=" + "a" * 100, "/index.html", "/\x00", "/v1/chat"]
METHODS = ["POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "FOO", "", "POST POST"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(9)
        if op == 0 and data:  # flip a byte
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1 and data:  # cut
            data = data[: rng.randrange(len(data))]
        elif op == 2:  # insert random bytes
            at = rng.randrange(len(data) + 1)
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and data:  # repeat a slice
            a = rng.randrange(len(data))
            b = min(len(data), a + rng.randint(1, 50))
            data[a:a] = data[a:b] * rng.randint(2, 20)
        elif op == 4:  # deep nesting
            n = rng.choice([10, 63, 64, 65, 1000, 20000])
            data = bytearray(b"[" * n + b"]" * rng.choice([0, n]))
        elif op == 5:  # huge or odd numbers
            data += rng.choice([b'{"max_tokens": 1e400}', b'{"n": 18446744073709551616}', b'{"seed": -1}',
                                b'{"temperature": NaN}', b'{"top_k": -2147483649}'])
        elif op == 6:  # invalid UTF-8 in a string
            data = bytearray(json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode())
            data[-5:-5] = b"\xff\xfe\xc3"
        elif op == 7:  # a field of the wrong type
            j = dict(rng.choice(SEEDS))
            j[rng.choice(list(j))] = rng.choice([None, [], {}, "s", 1.5, True, [[[]]]])
            data = bytearray(json.dumps(j).encode())
        else:  # random bytes
            data = bytearray(bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))))
    return bytes(data)


def request_bytes(rng, i):
    """The bytes of one request, and whether an answer can be waited for (False: the request is
    incomplete on purpose; the client sends it and goes away, which the server must survive)."""
    kind = rng.randrange(10)
    body = mutate(rng, json.dumps(rng.choice(SEEDS)).encode()) if kind < 6 else json.dumps(rng.choice(SEEDS)).encode()
    method = rng.choice(METHODS) if kind in (6, 7) else "POST"
    path = rng.choice(PATHS)
    headers = [f"Host: 127.0.0.1", "Content-Type: application/json", "Connection: close"]
    length = len(body)
    if kind == 8:  # broken headers
        choice = rng.randrange(6)
        if choice == 0:
            headers.append("X-No-Colon")
        elif choice == 1:
            headers.append("X-Huge: " + "h" * rng.choice([100, 9000, 70000]))
        elif choice == 2:
            headers += [f"X-{k}: v" for k in range(rng.choice([50, 500]))]
        elif choice == 3:
            length = len(body) + rng.randint(1, 50)  # promises more than it sends, then leaves
        elif choice == 4:
            length = -5
        else:
            headers.append("Authorization: Bearer " + "k" * 100)
    if kind == 9:  # chunked encoding, sometimes broken
        chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        broken = rng.random() < 0.5
        if broken:
            chunks = mutate(rng, chunks)
        head = f"POST {path} HTTP/1.1\r\n" + "\r\n".join(headers + ["Transfer-Encoding: chunked"]) + "\r\n\r\n"
        return head.encode("latin-1", "replace") + chunks, not broken
    if rng.random() < 0.05:  # a request line that is not one
        return mutate(rng, b"POST /v1/chat/completions HTTP/1.1\r\n") + b"\r\n\r\n", False
    head = f"{method} {path} HTTP/1.1\r\n" + "\r\n".join(headers + [f"Content-Length: {length}"]) + "\r\n\r\n"
    return head.encode("latin-1", "replace") + body, 0 <= length <= len(body)


def complete_response(reply):
    """A whole response is in: headers and Content-Length bytes, or a chunked body's last chunk.
    (A server may keep a connection open after answering a request it could not parse.)"""
    end = reply.find(b"\r\n\r\n")
    if end < 0:
        return False
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", reply[:end])
    if m:
        return len(reply) - end - 4 >= int(m.group(1))
    return reply.endswith(b"0\r\n\r\n")


def send(port, data, timeout=10.0, wait=True):
    """Sends raw bytes; returns the status code, None when the server closed without one, or
    "left" when the client went away without waiting. (No half-close: cpp-httplib, like many
    servers, answers nothing to a client that has shut down its sending side.)"""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close early on a request it has already refused
        if not wait:
            return "left"
        reply = b""
        try:
            while len(reply) < 64 * 1024 and not complete_response(reply):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(m.group(1)) if m else None


def valid(port, path, body):
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n" \
           f"Content-Length: {len(data)}\r\n\r\n"
    return send(port, head.encode() + data, timeout=60)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tandem")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="tandem-http-fuzz-")
    try:
        subprocess.run([args.tandem, "train", "--steps", "1", "--batch", "1", "--eval-every", "0",
                        "--checkpoint-every", "0", "--out", f"{work}/run"], check=True, capture_output=True)
        server = subprocess.Popen([args.tandem, "serve", f"{work}/run/model", "--port", "0", "--slots", "4",
                                   "--max-body", "65536", "--drain", "5"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = server.stderr.readline()
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if not m:
            print("no port from tandem serve:", line, server.stderr.read())
            return 1
        port = int(m.group(1))
        for _ in range(300):
            try:
                if send(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        statuses, errors = {}, []
        start = time.time()
        for i in range(args.count):
            data, complete = request_bytes(rng, i)
            try:
                status = send(port, data, wait=complete)
            except OSError as e:
                status = f"error {type(e).__name__}"
            statuses[status] = statuses.get(status, 0) + 1
            if isinstance(status, int) and status >= 500:
                errors.append((status, data[:300]))
            if i % 50 == 0:  # real work for the engine between the garbage
                statuses["generation"] = statuses.get("generation", 0) + (valid(port, "/v1/chat/completions", SEEDS[0]) == 200)
            if i % 250 == 0 and send(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") != 200:
                errors.append(("health", data[:300]))
                break
        elapsed = time.time() - start
        final = valid(port, "/v1/chat/completions", SEEDS[0])
        server.terminate()
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            code = "hung"
        stderr = server.stderr.read()
        print(f"{args.count} fuzzed requests in {elapsed:.1f} s; answers by status:")
        for k in sorted(statuses, key=str):
            print(f"  {k}: {statuses[k]}")
        print(f"valid chat completion afterwards: {final}; exit on SIGTERM: {code}")
        for status, data in errors[:5]:
            print(f"FAIL {status}: {data!r}")
        ok = not errors and final == 200 and code == 0 and "ERROR: AddressSanitizer" not in stderr \
            and "runtime error" not in stderr
        if not ok:
            print(stderr[-3000:])
        print("http fuzz:", "ok" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
