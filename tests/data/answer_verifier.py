#!/usr/bin/python3
# An outside verifier for `tandem grpo --verifier-cmd` (docs/data.md): reads one JSON object
# ({"prompt", "answer", "completion", "level"}) from stdin and prints a reward: 1.1 for a right
# final answer in the envelope, 0.1 for a well-formed wrong one, 0 otherwise (the built-in
# arithmetic task's rewards). With MISBEHAVE=1 it fails on purpose on some prompts, as a buggy
# judge would: sleeps past any limit, exits non-zero, or prints garbage (3 prompts in
# MISBEHAVE_EVERY, default 40).
import json
import os
import re
import sys
import time

request = json.loads(sys.stdin.readline())
if os.environ.get("MISBEHAVE") == "1":
    kind = sum(request["prompt"].encode()) % int(os.environ.get("MISBEHAVE_EVERY", "40"))
    if kind == 0:
        time.sleep(60)
    elif kind == 1:
        sys.exit(3)
    elif kind == 2:
        print("no idea")
        sys.exit(0)
match = re.fullmatch(r"<think>\n.*\n</think>\nAnswer: (\S+)\n?", request["completion"], re.S)
if not match:
    print(0)
elif match.group(1) == str(request["answer"]):
    print(1.1)
else:
    print(0.1)
