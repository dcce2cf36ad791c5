#!/usr/bin/env python3
"""Function lengths of the project's C sources.

    tests/tools/func-lengths.py [--top N] [--all] [ROOT]

Walks supervisor/, worker/, ctl/ and include/ under ROOT (default: the source
tree holding this script) recursively, finds every function definition in the
.c and .h files and prints the count, median, p90 and max of their lengths,
then the N (10) longest as file:line name (the line of the name). --all
lists every function.

A function's length is the number of lines from the line of its opening brace
to the line of its closing brace, both counted: the body of

    static int f(void)
    {
            return 0;
    }

is 3 lines; a definition on one line (`static inline int f(void) { ... }`)
is 1. Median: the middle value (the mean of the two middle ones for an even
count); p90: the nearest-rank 90th percentile (the smallest length that at
least 90 % of the functions do not exceed).

How a definition is found: the file is read with comments, string and
character literals blanked out and preprocessor lines skipped; a `{` met
outside any brace whose preceding text (since the last `;`, `}` or
preprocessor line) ends with `)` and holds no `=` opens a function body; its
closing brace is found by counting braces. The name is the identifier before
the first top-level `(` of that text (`__attribute__((...))` skipped). This
fits the project's style (K&R: signature, `{` at column 0, `}` at column 0)
and also handles one-line definitions; it does not try to understand code
that a macro turns into a definition.
"""
import os
import re
import statistics
import sys

DIRS = ("supervisor", "worker", "ctl", "include")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SKIP_NAMES = {"__attribute__", "__attribute", "__declspec", "alignas", "_Alignas"}


def blank_source(text):
    """The text with comments, literals and preprocessor lines replaced by
    spaces, newlines kept, so that offsets and line numbers stay right."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start:
            # A preprocessor line (with its backslash continuations).
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == "#":
                while j < n and text[j] != "\n":
                    if text[j] == "\\" and j + 1 < n and text[j + 1] == "\n":
                        j += 2
                        continue
                    # A comment that starts on a directive line may run on.
                    if text.startswith("/*", j):
                        end = text.find("*/", j + 2)
                        j = n if end < 0 else end + 2
                        continue
                    j += 1
                out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
                out.append(";")  # a directive ends whatever came before it
                i = j
                at_line_start = False
                continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:end]))
            i = end
            at_line_start = False
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else " " * (j - i))
            i = j
            at_line_start = False
            continue
        out.append(c)
        at_line_start = c == "\n"
        i += 1
    return "".join(out)


def function_name(head):
    """The identifier before the first top-level '(' of a declarator text."""
    depth = 0
    last_ident, last_pos = None, 0
    pos = 0
    while pos < len(head):
        c = head[pos]
        m = IDENT.match(head, pos) if depth == 0 else None
        if m:
            last_ident, last_pos = m.group(0), pos
            pos = m.end()
            continue
        if c == "(":
            if depth == 0 and last_ident and last_ident not in SKIP_NAMES:
                return last_ident, last_pos
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        pos += 1
    return "?", 0


def functions_in(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    code = blank_source(text)
    found = []
    depth = 0
    head_start = 0  # where the text before a top-level '{' starts
    body = None  # (name, opening line) of the function being read
    line = 1
    for pos, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c == "{":
            if depth == 0:
                head = code[head_start:pos]
                if head.strip().endswith(")") and "=" not in head and "(" in head:
                    name, at = function_name(head)
                    name_line = line - head.count("\n", at)
                    body = (name, name_line, line)
                else:
                    body = None
            depth += 1
        elif c == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                if body:
                    found.append((body[0], body[1], line - body[2] + 1))
                body = None
                head_start = pos + 1
        elif c == ";" and depth == 0:
            head_start = pos + 1
    return found


def main(argv):
    top, list_all, root = 10, False, None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--top":
            top = int(args.pop(0))
        elif a == "--all":
            list_all = True
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        elif a.startswith("-"):
            print(f"func-lengths: unknown option {a}", file=sys.stderr)
            return 2
        else:
            root = a
    if root is None:
        root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

    funcs = []
    nfiles = 0
    for d in DIRS:
        base = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for fn in sorted(filenames):
                if not fn.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, root)
                nfiles += 1
                for name, start, length in functions_in(path):
                    funcs.append((length, rel, start, name))
    if not funcs:
        print(f"func-lengths: no function found under {root}", file=sys.stderr)
        return 1

    lengths = sorted(f[0] for f in funcs)
    count = len(lengths)
    p90 = lengths[max(0, -(-9 * count // 10) - 1)]  # nearest rank: ceil(0.9 n)
    one_line = sum(1 for v in lengths if v == 1)
    print(f"function lengths (lines from '{{' to '}}'), {', '.join(d + '/' for d in DIRS)} "
          f"in {root}: {nfiles} files")
    print(f"count   {count}  ({one_line} on one line)")
    print(f"median  {statistics.median(lengths):g}")
    print(f"p90     {p90}")
    print(f"max     {lengths[-1]}")
    print(f"mean    {statistics.mean(lengths):.1f}")
    ranked = sorted(funcs, key=lambda f: (-f[0], f[1], f[2]))
    shown = ranked if list_all else ranked[:top]
    print(f"{'all' if list_all else str(len(shown)) + ' longest'}:")
    for length, rel, start, name in shown:
        print(f"  {length:5d}  {rel}:{start} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
