#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Compares hypercore-bench results of two trees run side by side in one
# session (bench/README.md, "Before and after"):
#   scripts/bench-compare.py before.json [...] -- after.json [...]
# For each (workload, durable, metric): the mean of the medians on each side,
# after/before, and WORSE where it is more than 5 % the wrong way (lower is
# better for *_ms and bytes figures, higher for rates).
import json, sys
args = sys.argv[1:]
k = args.index('--')
def load(files):
    acc = {}
    for f in files:
        for r in json.load(open(f))['results']:
            if r.get('system') != 'hypercore': continue
            acc.setdefault((r['workload'], r['durable'], r['metric']), []).append(r['median'])
    return {key: sum(v)/len(v) for key, v in acc.items()}
b, a = load(args[:k]), load(args[k+1:])
print(f"{'workload':34} {'dur':5} {'metric':24} {'before':>12} {'after':>12} {'ratio':>7}")
for key in sorted(set(b) & set(a)):
    w, d, m = key
    r = a[key]/b[key] if b[key] else float('nan')
    lower_better = m.endswith('_ms') or m.startswith('bytes')
    bad = (r > 1.05) if lower_better else (r < 0.95)
    print(f"{w:34} {str(d):5} {m:24} {b[key]:12.1f} {a[key]:12.1f} {r:7.3f}{' WORSE' if bad else ''}")
