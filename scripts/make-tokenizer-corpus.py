#!/usr/bin/env python3
"""Generates tests/tokenizer/corpus/: a deterministic, varied text corpus (~1.2 MB) for the
tokenizer parity test. Everything comes from word lists and templates written here, Unicode
ranges and a seeded RNG: no text is copied from elsewhere.

Run: python3 scripts/make-tokenizer-corpus.py [out_dir]
"""
import os
import random
import sys
import unicodedata

R = random.Random(20240611)

EN_NOUNS = "river engine garden window teacher market signal forest harbor kernel battery library " \
    "mountain number pattern question rocket shadow theory village weather bridge candle doctor " \
    "planet system token matrix gradient server student winter morning evening ocean desert".split()
EN_VERBS = "builds carries measures follows opens writes trains watches moves breaks finds keeps " \
    "answers compiles repairs counts explains divides returns predicts".split()
EN_ADJ = "quiet bright heavy ancient rapid careful narrow golden hidden simple strange gentle " \
    "noisy broken silver distant patient curious".split()
EN_ADV = "slowly quickly rarely always carefully almost never often suddenly quietly".split()
EN_NAMES = "Alice Bruno Chen Dara Elena Farid Grace Hiro Ines Jonas Keiko Luis Maya Noor Omar Priya".split()
CONTRACTIONS = ["it's", "don't", "we're", "they've", "I'm", "you'll", "she'd", "IT'S", "We'Re",
                "can't", "o'clock", "rock'n'roll", "'til", "the dog's bone"]

PT_NOUNS = "coração cidade pão mãe irmão lição canção ação informação estação avó café maçã " \
    "janela caminho árvore pássaro música ciência história língua nação órgão".split()
PT_VERBS = "constrói carrega mede segue abre escreve treina observa move encontra guarda " \
    "responde explica divide devolve prevê".split()
PT_ADJ = "tranquilo brilhante pesado antigo rápido cuidadoso estreito dourado escondido " \
    "simples estranho gentil distante paciente curioso".split()
PT_NAMES = "João Conceição Inês Sebastião Lúcia Antônio Márcia Fábio Glória Tomás".split()

# Chinese words (common vocabulary, written out here) combined by templates.
ZH_WORDS = "我们 你们 他们 今天 明天 昨天 学校 老师 学生 工作 时间 问题 世界 国家 城市 朋友 " \
    "电脑 手机 数据 模型 训练 语言 文字 天气 音乐 电影 早上 晚上 中国 北京 上海 经济 科学 技术 " \
    "发展 研究 系统 方法 结果 重要 简单 快速 安全 开心 漂亮 喜欢 学习 思考 回答 计算 认为 觉得".split()
ZH_PUNCT = "，。！？；：、"
JA_WORDS = "こんにちは ありがとう 東京 学校 先生 コンピュータ データ モデル ひらがな カタカナ".split()

EMOJI = ["😀", "🚀", "🎉", "❤️", "👍🏽", "🇧🇷", "🇨🇳", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏿‍🚀",
         "😂", "🤖", "✅", "⚠️", "🔥", "👋🏻", "🫶", "🐍", "☕"]


def en_sentence():
    s = f"The {R.choice(EN_ADJ)} {R.choice(EN_NOUNS)} {R.choice(EN_VERBS)} the {R.choice(EN_NOUNS)}"
    r = R.random()
    if r < 0.3:
        s += f" {R.choice(EN_ADV)}"
    elif r < 0.5:
        s += f", and {R.choice(EN_NAMES)} says {R.choice(CONTRACTIONS)} {R.choice(EN_ADJ)}"
    elif r < 0.6:
        s += f" (about {R.randint(2, 999)} {R.choice(EN_NOUNS)}s)"
    return s + R.choice([".", ".", ".", "!", "?", ";", "..."])


def paragraph(sentence, n):
    return " ".join(sentence() for _ in range(n))


def pt_sentence():
    s = f"{R.choice(PT_NAMES)} {R.choice(PT_VERBS)} a {R.choice(PT_NOUNS)} {R.choice(PT_ADJ)}"
    if R.random() < 0.4:
        s += f" às {R.randint(0, 23)}h{R.randint(0, 59):02d}"
    if R.random() < 0.3:
        s += ", não é?"
    return s + R.choice([".", "!", "?"])


def zh_sentence():
    n = R.randint(3, 12)
    s = "".join(R.choice(ZH_WORDS) for _ in range(n))
    if R.random() < 0.3:
        s += str(R.randint(1, 2030)) + "年"
    return s + R.choice(ZH_PUNCT)


def number_line():
    k = R.randrange(8)
    if k == 0:
        return f"{R.randint(1900, 2099)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}T{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:00Z"
    if k == 1:
        return f"{R.randint(1, 28)}/{R.randint(1, 12)}/{R.randint(1950, 2050)}"
    if k == 2:
        return R.choice(["$", "€", "£", "¥", "R$ ", "US$", "₹", "₩"]) + f"{R.randint(0, 10**7):,}.{R.randint(0, 99):02d}"
    if k == 3:
        return f"{R.uniform(-1e6, 1e6):.{R.randint(0, 8)}f}"
    if k == 4:
        return f"{R.random():.3e} ± {R.random():.2g}%"
    if k == 5:
        return f"+55 {R.randint(10, 99)} 9{R.randint(1000, 9999)}-{R.randint(1000, 9999)}"
    if k == 6:
        return f"{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(0, 255)}:{R.randint(1, 65535)}"
    return f"{R.randint(1, 99)}º {R.randint(1, 9)}½ 0x{R.getrandbits(32):08X} {R.randint(1, 10**12)}"


def cpp_snippet():
    name = R.choice(EN_NOUNS)
    n = R.randint(2, 64)
    return (f"// Computes the {R.choice(EN_ADJ)} {name}.\n"
            f"template <typename T>\nstd::vector<T> make_{name}(const std::vector<T>& xs, int n = {n}) {{\n"
            f"  std::vector<T> out;\n  out.reserve(xs.size());\n"
            f"  for (size_t i = 0; i < xs.size(); ++i) {{\n"
            f"    if (xs[i] >= T{{{R.randint(0, 9)}}} && i % {n} != 0) out.push_back(xs[i] * {R.randint(2, 9)});\n"
            f"  }}\n  return out;  // {R.choice(CONTRACTIONS)}\n}}\n")


def py_snippet():
    name = R.choice(EN_NOUNS)
    return (f"def {name}_{R.randint(0, 99)}(values, scale={R.random():.2f}):\n"
            f"    \"\"\"Return the {R.choice(EN_ADJ)} {name}s.\"\"\"\n"
            f"    result = [v * scale for v in values if v > {R.randint(0, 9)}]\n"
            f"    if not result:\n        raise ValueError(f\"no {name}: {{values!r}}\")\n"
            f"    return {{'total': sum(result), 'count': len(result)}}\n\n")


def json_snippet():
    return ("{\n  \"id\": %d,\n  \"name\": \"%s %s\",\n  \"price\": %.2f,\n  \"tags\": [\"%s\", \"%s\"],\n"
            "  \"active\": %s,\n  \"note\": null\n}\n" % (
                R.randint(1, 10**6), R.choice(EN_ADJ), R.choice(EN_NOUNS), R.uniform(0, 1000),
                R.choice(PT_NOUNS), R.choice(ZH_WORDS), R.choice(["true", "false"])))


def whitespace_line():
    parts = []
    for _ in range(R.randint(2, 8)):
        parts.append(R.choice(EN_NOUNS + ZH_WORDS + EMOJI + ["!!", "--", "..", "'s", "123"]))
        parts.append(R.choice([" ", "  ", "   ", "\t", "\t\t", " \t ", "\r\n", "\n\n", "\u3000",
                               "\u00a0", "        ", " \n ", "\r\n\r\n", "\n   \n"]))
    return "".join(parts)


def emoji_line():
    return " ".join(R.choice(EMOJI) * R.randint(1, 3) + R.choice(["", " ", "!", R.choice(EN_NOUNS)])
                    for _ in range(R.randint(3, 10)))


# Scripts from stable Unicode blocks (assigned long ago, same classes in every recent version).
RANGES = [(0x0391, 0x03A9), (0x03B1, 0x03C9), (0x0410, 0x044F), (0x05D0, 0x05EA), (0x0627, 0x064A),
          (0x0905, 0x0939), (0x0E01, 0x0E30), (0x3041, 0x3093), (0x30A1, 0x30F6), (0xAC00, 0xD7A3),
          (0x0300, 0x036F), (0x2200, 0x22FF), (0x2190, 0x21FF), (0x2460, 0x2473), (0x00C0, 0x00FF),
          (0xFF01, 0xFF5E), (0x1D400, 0x1D433), (0x2070, 0x2079)]


def unicode_line():
    words = []
    for _ in range(R.randint(3, 9)):
        lo, hi = R.choice(RANGES)
        words.append("".join(chr(R.randint(lo, hi)) for _ in range(R.randint(1, 8))))
    s = " ".join(words)
    # Decomposed (NFD) Portuguese and Hangul jamo exercise the NFC normalizer.
    if R.random() < 0.5:
        s += " " + unicodedata.normalize("NFD", R.choice(PT_NOUNS) + " " + R.choice(PT_NAMES))
    if R.random() < 0.2:
        s += " " + unicodedata.normalize("NFD", "한국어 " + chr(R.randint(0xAC00, 0xD7A3)))
    return s


def special_line():
    user = en_sentence()
    think = paragraph(en_sentence, 2)
    return R.choice([
        f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n<think>\n{think}\n</think>\n\n{pt_sentence()}<|im_end|>\n",
        f"text before<|endoftext|>text after <|im_start|>{zh_sentence()}",
        f"<think>{think}</think>{user}",
        f"<tool_call>\n{{\"name\": \"{R.choice(EN_NOUNS)}\", \"arguments\": {{}}}}\n</tool_call>",
        f"half tokens <|im_sta rt|> <think <|im_end| > </ think> ok",
        f"<|fim_prefix|>{cpp_snippet()}<|fim_suffix|>\n<|fim_middle|>",
    ])


def build(gen, target, sep="\n"):
    out, size = [], 0
    while size < target:
        s = gen()
        out.append(s)
        size += len(s.encode()) + len(sep)
    return sep.join(out) + "\n"


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "tokenizer", "corpus")
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "english.txt": build(lambda: paragraph(en_sentence, R.randint(2, 7)), 260_000),
        "portuguese.txt": build(lambda: paragraph(pt_sentence, R.randint(2, 6)), 150_000),
        "chinese.txt": build(lambda: "".join(zh_sentence() for _ in range(R.randint(2, 6)))
                             + (" " + R.choice(JA_WORDS) if R.random() < 0.2 else ""), 180_000),
        "code.txt": build(lambda: R.choice([cpp_snippet, py_snippet, json_snippet])(), 220_000),
        "numbers.txt": build(lambda: " ".join(number_line() for _ in range(R.randint(1, 5))), 110_000),
        "whitespace_emoji.txt": build(lambda: R.choice([whitespace_line, emoji_line])(), 110_000, sep=""),
        "unicode.txt": build(unicode_line, 60_000),
        "special_tokens.txt": build(special_line, 70_000),
    }
    for name, text in files.items():
        with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    print(f"wrote {sum(len(t.encode()) for t in files.values())} bytes in {len(files)} files to {out_dir}")


if __name__ == "__main__":
    main()
