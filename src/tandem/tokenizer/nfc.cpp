// NFC normalization (Unicode Standard Annex #15): full canonical decomposition, canonical
// ordering by combining class, then canonical composition. Only the stretches around code points
// that can change are touched; the rest is copied, so already-normalized text costs one scan.
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "tandem/tokenizer/unicode.h"
#include "tandem/tokenizer/unicode_tables.h"

namespace tandem::unicode {
namespace {
using namespace tables;  // NOLINT: the generated tables and their entry types

// Hangul syllables decompose and compose by arithmetic, not by table.
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint8_t ccc_of(uint32_t cp) {
  auto it = std::lower_bound(std::begin(kCcc), std::end(kCcc), cp,
                             [](const CccEntry& e, uint32_t v) { return e.cp < v; });
  return (it != std::end(kCcc) && it->cp == cp) ? it->ccc : 0;
}

const DecompEntry* decomp_of(uint32_t cp) {
  auto it = std::lower_bound(std::begin(kDecomp), std::end(kDecomp), cp,
                             [](const DecompEntry& e, uint32_t v) { return e.cp < v; });
  return (it != std::end(kDecomp) && it->cp == cp) ? it : nullptr;
}

const std::unordered_map<uint64_t, uint32_t>& compose_map() {
  static const auto* map = [] {
    auto* m = new std::unordered_map<uint64_t, uint32_t>();
    for (const auto& e : kCompose) m->emplace((uint64_t{e.first} << 32) | e.second, e.composite);
    return m;
  }();
  return *map;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (const DecompEntry* d = decomp_of(cp)) {
    decompose(d->first, out);
    if (d->second) decompose(d->second, out);
    return;
  }
  out.push_back(cp);
}

uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto& m = compose_map();
  auto it = m.find((uint64_t{a} << 32) | b);
  return it == m.end() ? 0 : it->second;
}

// Normalizes one stretch of valid code points and appends it as UTF-8.
void normalize_stretch(std::string_view s, std::string& out) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    i += decode_utf8(s, i, cp);
    decompose(cp, cps);
  }
  std::vector<uint8_t> cc(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) cc[i] = ccc_of(cps[i]);
  // Canonical ordering: a stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (cc[i] == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && cc[j] != 0) ++j;
    std::vector<std::pair<uint8_t, uint32_t>> run;
    for (size_t k = i; k < j; ++k) run.emplace_back(cc[k], cps[k]);
    std::stable_sort(run.begin(), run.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t k = i; k < j; ++k) std::tie(cc[k], cps[k]) = run[k - i];
    i = j;
  }
  // Canonical composition: each character joins the last starter unless blocked.
  std::vector<uint32_t> res;
  std::vector<uint8_t> rcc;
  long starter = -1;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t cp = cps[i];
    const uint8_t c = cc[i];
    if (starter >= 0) {
      const uint8_t last = rcc.back();
      const bool blocked = (static_cast<size_t>(starter) != res.size() - 1) && (last == 0 || last >= c);
      if (!blocked) {
        if (uint32_t comp = compose_pair(res[starter], cp)) {
          res[starter] = comp;
          continue;
        }
      }
    }
    if (c == 0) starter = static_cast<long>(res.size());
    res.push_back(cp);
    rcc.push_back(c);
  }
  for (uint32_t cp : res) append_utf8(out, cp);
}
}  // namespace

bool nfc(std::string_view s, std::string& out) {
  size_t copied = 0;       // bytes of s already written to out
  size_t last_safe = 0;    // start of the last code point that NFC leaves alone
  bool have_safe = false;
  bool changed = false;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      last_safe = i++;
      have_safe = true;
      continue;
    }
    uint32_t cp;
    const int len = decode_utf8(s, i, cp);
    if (cp == kInvalid || !(flags(cp) & kNfcUnsafe)) {
      last_safe = i;
      have_safe = true;
      i += len;
      continue;
    }
    // An unsafe code point: normalize from the last safe one (which it may join) to the next.
    size_t start = have_safe ? std::max(last_safe, copied) : copied;
    size_t end = i + len;
    while (end < s.size()) {
      uint32_t c2;
      const int l2 = decode_utf8(s, end, c2);
      if (c2 == kInvalid || !(flags(c2) & kNfcUnsafe)) break;
      end += l2;
    }
    std::string piece;
    normalize_stretch(s.substr(start, end - start), piece);
    if (piece != s.substr(start, end - start)) {
      if (!changed) {
        out.clear();
        out.reserve(s.size() + 16);
        changed = true;
      }
      out.append(s.substr(copied, start - copied));
      out += piece;
      copied = end;
    }
    i = end;
    have_safe = false;
  }
  if (changed) out.append(s.substr(copied));
  return changed;
}

}  // namespace tandem::unicode
