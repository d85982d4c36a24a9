"""Summarises an async-profiler collapsed profile of brambled: CPU by thread, then by the Bramble frames under
which the request threads (virtual threads' carriers) spend it. Usage: profile-summary.py FILE [TOP]"""
import collections
import re
import sys

path = sys.argv[1]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
threads = collections.Counter()
frames = collections.Counter()
total = carriers = 0
for line in open(path):
    stack, n = line.rstrip().rsplit(' ', 1)
    n = int(n)
    total += n
    fr = stack.split(';')
    name = re.sub(r'\d{4}/\d\d/\d\d/\[\d+\][0-9a-f]+', '<env>', fr[0].strip('[] '))
    name = re.sub(r'tid=\d+', '', re.sub(r'-\d+\b', '-N', name)).strip()
    threads[name] += n
    if name.startswith('ForkJoinPool'):
        carriers += n
        for f in set(f.replace('/', '.') for f in fr if f.startswith('dev/bramble/') and '$$Lambda' not in f):
            frames[f.removeprefix('dev.bramble.daemon.').removeprefix('dev.bramble.')] += n
print(f"{total} samples of 1 ms CPU in {path}\n")
print("| share | thread |\n|---|---|")
for name, n in threads.most_common(top):
    print(f"| {100 * n / total:.1f} % | `{name}` |")
print(f"\n| share of the carriers' {carriers} samples | Bramble frame (inclusive) |\n|---|---|")
for f, n in frames.most_common(top):
    print(f"| {100 * n / max(carriers, 1):.1f} % | `{f}` |")
