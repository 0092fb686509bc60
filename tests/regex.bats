#!/usr/bin/env bats
# The regular expressions of control files (regex.c), checked against
# Python's re on random patterns and subjects, and on the inputs that make
# backtracking matchers spin.

load helper

setup() {
  RC_BIN=$TB/regex-check
}

@test "random patterns match exactly where Python's re matches" {
  run timeout 120 python3 - "$RC_BIN" <<'PY'
import random, re, subprocess, sys, warnings
warnings.simplefilter("ignore")
rnd = random.Random(1870)
ALPHA = "abAB.-@x"
def atom(d):
    k = rnd.random()
    if d < 3 and k < 0.15:
        return "(" + alt(d + 1) + ")"
    if d < 3 and k < 0.2:
        return "(?:" + alt(d + 1) + ")"
    if k < 0.3:
        neg = "^" if rnd.random() < 0.3 else ""
        items = "".join(rnd.choice(["a", "b-d", "x", "\\d", "\\.", "@", "A-C"]) for _ in range(rnd.randint(1, 3)))
        return "[" + neg + items + "]"
    if k < 0.38:
        return rnd.choice([".", "\\d", "\\w", "\\s", "\\W", "\\b", "\\.", "\\@", "^", "$"])
    return re.escape(rnd.choice(ALPHA)) if rnd.random() < 0.5 else rnd.choice("abx")
def piece(d):
    a = atom(d)
    if a in ("^", "$", "\\b"):
        return a
    q = rnd.random()
    if q < 0.12: return a + "*"
    if q < 0.22: return a + "+"
    if q < 0.3: return a + "?"
    if q < 0.36:
        m = rnd.randint(0, 3); n = m + rnd.randint(0, 2)
        return a + rnd.choice(["{%d}" % m, "{%d,}" % m, "{%d,%d}" % (m, n)])
    return a
def concat(d):
    return "".join(piece(d) for _ in range(rnd.randint(1, 4)))
def alt(d):
    return "|".join(concat(d) for _ in range(rnd.randint(1, 2 if d else 3)))
cases = []
for _ in range(4000):
    p = alt(0)
    s = "".join(rnd.choice("abAB.-@x1 _") for _ in range(rnd.randint(0, 12)))
    cases.append(("i" if rnd.random() < 0.3 else "-", p, s))
inp = "".join("%s\t%s\t%s\n" % c for c in cases)
out = subprocess.run([sys.argv[1]], input=inp.encode(), capture_output=True, check=True).stdout.decode().split("\n")
bad = 0
for (f, p, s), got in zip(cases, out):
    flags = re.ASCII | (re.IGNORECASE if f == "i" else 0)
    want = "1" if re.search(p, s, flags) else "0"
    if got != want:
        bad += 1
        if bad < 5: print("differs:", f, repr(p), repr(s), "ours", got, "python", want)
print("cases", len(cases), "differences", bad)
PY
  assert_success
  assert_output "cases 4000 differences 0"
}

@test "patterns that make backtracking matchers spin finish at once" {
  s=$(printf 'a%.0s' $(seq 1 3000))
  run timeout 10 "$RC_BIN" <<< "$(printf -- '-\t(a*)*b\t%s\n-\t(a|aa)+$\t%sb\n-\t(a|a?)+c\t%s\n-\t^(\\w+\\s?)*$\t%s!\n' "$s" "$s" "$s" "$s")"
  assert_success
  assert_output "$(printf '0\n0\n0\n0')"
}

@test "unsupported or broken patterns are errors, never a silent match" {
  run "$RC_BIN" <<< "$(printf -- '-\t(ab\tab\n-\tab)\tab\n-\t*a\ta\n-\t[a-\ta\n-\ta\\1\ta\n-\t(?=x)\tx\n-\ta{2,1}\taa\n-\ta{300}\ta\n-\t[[:nope:]]\ta\n')"
  assert_success
  [ "$(grep -c '^error: ' <<< "$output")" -eq 9 ]
}

@test "case-insensitive matching folds letters in literals and sets" {
  run "$RC_BIN" <<< "$(printf 'i\tspam@EXAMPLE\\.com$\tSPAM@example.COM\ni\t^[a-c]+$\tABCcba\n-\t^[a-c]+$\tABC\ni\t[^a]\tA\n')"
  assert_output "$(printf '1\n1\n0\n0')"
}

@test "POSIX classes inside sets" {
  run "$RC_BIN" <<< "$(printf -- '-\t^[[:digit:]]+$\t2025\n-\t^[[:alpha:][:digit:]]+$\tab12\n-\t^[[:alpha:]]+$\tab12\n-\t[[:space:]]\tab\n-\t[[:punct:]]\ta.b\n')"
  assert_output "$(printf '1\n1\n0\n0\n1')"
}
