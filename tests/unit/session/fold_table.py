#!/usr/bin/env python3
# The simple case folding table of src/session/imap/search_match.cpp (IMAP SEARCH), generated
# from Python's Unicode database, and the check that the table in the source still equals it
# (run by search_match_test.cpp). Must never fold outside the ranges listed here.
#
#   python3 tests/unit/session/fold_table.py            prints the table
#   python3 tests/unit/session/fold_table.py --check F  exit 1 if F's table differs
import re
import sys
import unicodedata

# Latin (Basic, Latin-1, Extended-A/B, IPA), Greek and Coptic, Cyrillic and its Supplement,
# Armenian; Cyrillic Extended-C; Latin Extended Additional; Greek Extended; Letterlike symbols
# (Ohm, Kelvin, Angstrom); Latin Extended-C; fullwidth Latin. All assigned before Unicode 9.
RANGES = [(0x0000, 0x058F), (0x1C80, 0x1C88), (0x1E00, 0x1FFF), (0x2100, 0x214F),
          (0x2C60, 0x2C7F), (0xFF21, 0xFF3A)]


def simple_fold(cp):
    """Unicode CaseFolding.txt status C + S: the one-character folding, or cp itself."""
    c = chr(cp)
    f = c.casefold()
    if len(f) == 1:
        return ord(f)
    # Full folding (status F) gives several characters; the simple one (S), where there is one,
    # is the lower-case mapping (U+1E9E -> U+00DF, U+1F88 -> U+1F80); else none (U+0130).
    lo = c.lower()
    return ord(lo) if len(lo) == 1 else cp


def runs():
    """[(first, last, delta, stride)]: cp in first..last step stride folds to cp + delta."""
    pairs = [(cp, simple_fold(cp)) for a, b in RANGES for cp in range(a, b + 1)]
    pairs = [(cp, f) for cp, f in pairs if f != cp and not (0x41 <= cp <= 0x5A)]  # ASCII: fast path
    out = []
    for cp, f in pairs:
        d = f - cp
        if out:
            first, last, delta, stride = out[-1]
            if delta == d and (stride in (0, cp - last)) and cp - last in (1, 2):
                out[-1] = (first, cp, delta, cp - last)
                continue
        out.append((cp, cp, d, 0))
    return [(a, b, d, s or 1) for a, b, d, s in out]


def table_text():
    lines = []
    for a, b, d, s in runs():
        lines.append(f"    {{0x{a:04X}, 0x{b:04X}, {d}, {s}}},")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        src = open(sys.argv[2], encoding="utf-8").read()
        m = re.search(r"// BEGIN FOLD TABLE[^\n]*\n(.*?)    // END FOLD TABLE", src, re.S)
        if not m:
            print("no fold table markers in " + sys.argv[2])
            return 1
        if m.group(1) != table_text():
            print(f"fold table differs from Python {sys.version.split()[0]} "
                  f"(Unicode {unicodedata.unidata_version}); regenerate it with {sys.argv[0]}")
            return 1
        return 0
    sys.stdout.write(table_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
