#!/usr/bin/env python3
"""tests/spf-yaml2zone.py FILE.yml: the openspf test suite (rfc7208-tests.yml,
rfc4408-tests.yml) as lines that tests/unit/spf-check.c reads, one record
or test a line, fields separated by tabs, each field with every byte
outside 0x21-0x7e (and '\\') written as \\xHH:
  S  scenario-description
  Z  name  TYPE  value        A AAAA MX ("pref host") PTR TXT CNAME
  Z  name  NONE               the name exists (no record of that kind)
  Z  name  TIMEOUT  TYPE|*    a query for TYPE (any type) times out
  T  id  host  helo  mailfrom  result[,result...]  explanation|-  [queries]
(queries: our own key, tests/data/spf-local-tests.yml only: how many DNS
queries the check makes)
As the suite's own driver does (pyspf's testspf.py), SPF-type records
stand for TXT records at a name that has no TXT entry of its own."""
import sys, yaml

def esc(v):
    if isinstance(v, str):
        b = v.encode('utf-8', 'surrogateescape')
    elif isinstance(v, bytes):
        b = v
    else:
        b = str(v).encode()
    return ''.join(chr(c) if 0x21 <= c <= 0x7e and c != 0x5c else '\\x%02x' % c for c in b)

def txt(v):
    if isinstance(v, list):
        return ''.join(str(x) for x in v)
    return str(v)

out = []
for doc in yaml.safe_load_all(open(sys.argv[1], 'rb')):
    out.append('S\t' + esc(doc.get('description', '')))
    for name, rrs in (doc.get('zonedata') or {}).items():
        name = esc(str(name).lower().rstrip('.'))
        has_txt = any(isinstance(r, dict) and 'TXT' in r for r in rrs)
        spf = []
        for r in rrs:
            if r == 'TIMEOUT':
                out.append('Z\t%s\tTIMEOUT\t*' % name)
                continue
            for t, v in r.items():
                if t == 'SPF':
                    if not has_txt and v != 'NONE':
                        spf.append(v)
                    continue
                if v == 'NONE':
                    out.append('Z\t%s\tNONE' % name)
                elif v == 'TIMEOUT':
                    out.append('Z\t%s\tTIMEOUT\t%s' % (name, t))
                elif t == 'TXT':
                    out.append('Z\t%s\tTXT\t%s' % (name, esc(txt(v))))
                elif t == 'MX':
                    out.append('Z\t%s\tMX\t%s' % (name, esc('%d %s' % (v[0], v[1]))))
                else:
                    out.append('Z\t%s\t%s\t%s' % (name, t, esc(str(v))))
        for v in spf:
            out.append('Z\t%s\tTXT\t%s' % (name, esc(txt(v))))
        if not rrs:
            out.append('Z\t%s\tNONE' % name)
    for tid, t in sorted((doc.get('tests') or {}).items()):
        res = t['result']
        res = ','.join(res) if isinstance(res, list) else res
        exp = t.get('explanation')
        f = ['T', esc(tid), esc(t['host']), esc(t.get('helo', '')),
             esc(t.get('mailfrom', '')), res, '-' if exp is None else esc(exp)]
        if 'queries' in t:
            f.append(str(int(t['queries'])))
        out.append('\t'.join(f))
sys.stdout.write('\n'.join(out) + '\n')
