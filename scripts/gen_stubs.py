#!/usr/bin/env python3
"""gen_stubs.py: generates the software GPU's stubs and its cuGetProcAddress table.

Usage: gen_stubs.py CUDA_H DEFINED_SYMBOLS LOG_FUNCTION > stubs.c

1. Every driver entry point cuda.h declares (`CUresult CUDAAPI name(`), under the name the
   library exports: the target of cuda.h's `#define cuX cuX_v2` renames, the literal names of the
   older versions declared in the `#if defined(__CUDA_API_VERSION_INTERNAL)` block, and the
   _ptds/_ptsz variants named by __CUDA_API_PTDS()/__CUDA_API_PTSZ(). Each one that
   DEFINED_SYMBOLS (nm output of the emu objects, one name a line) lacks gets a stub that logs
   its name once through LOG_FUNCTION and returns CUDA_ERROR_NOT_SUPPORTED.
2. emu_proc_table: (name, version, per-thread flavour, symbol) rows for cuGetProcAddress, derived
   from the PFN_<name>_v<version>[_ptds|_ptsz] typedefs of cudaTypedefs.h (next to cuda.h): the
   versions of a name map, oldest first, to name, name_v2, name_v3, ...; a per-thread version maps
   to the symbol its plain version maps to plus _ptds/_ptsz. Names cuda.h declares without a
   typedef get version 0. Only exported symbols are listed.

The driver's other public headers next to cuda.h (cudaProfiler.h, cudaGL.h, cudaVDPAU.h,
cudaEGL.h and their *Typedefs.h) are read the same way when present: libcuda exports those entry
points too. Windows-only declarations (#ifdef _WIN32) are left out.

The output does not include cuda.h (its prototypes would clash with the `int name(void)` stubs).
"""
import os
import re
import sys

DECL_RE = re.compile(r'\bCUresult\s+CUDAAPI\s+(cu\w+)\s*\(')
DEFINE_RE = re.compile(r'^\s*#\s*define\s+(cu\w+)\s+(.*?)\s*$')
WRAP_RE = re.compile(r'^__CUDA_API_(PTDS|PTSZ)\s*\(\s*(cu\w+)\s*\)$')
PLAIN_RE = re.compile(r'^(cu\w+)$')
PFN_RE = re.compile(r'PFN_(cu\w+?)_v(\d+)(_ptds|_ptsz)?\b')
INTERNAL_COND = re.compile(r'^#\s*if\s+defined\s*\(\s*__CUDA_API_VERSION_INTERNAL\s*\)\s*$')
WINDOWS_COND = re.compile(r'^#\s*(ifdef\s+(_WIN32|_MSC_VER)\b|if\s+defined\s*\(?\s*(_WIN32|_MSC_VER)\s*\)?\s*$)')
EXTRA_HEADERS = ('cudaProfiler.h', 'cudaGL.h', 'cudaVDPAU.h', 'cudaEGL.h')
TYPEDEF_HEADERS = ('cudaTypedefs.h', 'cudaProfilerTypedefs.h', 'cudaGLTypedefs.h', 'cudaVDPAUTypedefs.h',
                   'cudaEGLTypedefs.h')


def strip_comments(text):
    """Removes /* */ and // comments, keeping line structure."""
    def repl(m):
        return '\n' * m.group(0).count('\n')
    text = re.sub(r'/\*.*?\*/', repl, text, flags=re.S)
    return re.sub(r'//[^\n]*', '', text)


def join_continuations(lines):
    out, cur = [], ''
    for line in lines:
        if line.endswith('\\'):
            cur += line[:-1] + ' '
            continue
        out.append(cur + line)
        cur = ''
    if cur:
        out.append(cur)
    return out


def scan_header(path):
    """Returns (renames, ptds_exports, normal_decls, internal_decls)."""
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = join_continuations(strip_comments(f.read()).split('\n'))
    renames, ptds = {}, set()
    normal, internal = [], []
    stack = []          # per #if: 'internal', 'skip' (its #else/#elif branch), 'win' or 'other'
    chunk = []          # text since the last directive (declarations may span lines)

    def skipping():
        return 'skip' in stack or 'win' in stack

    def flush():
        text = '\n'.join(chunk)
        chunk.clear()
        if skipping():
            return
        for m in DECL_RE.finditer(text):
            (internal if 'internal' in stack else normal).append(m.group(1))

    for line in lines:
        s = line.strip()
        if not s.startswith('#'):
            chunk.append(s)
            continue
        flush()
        directive = re.sub(r'^#\s*', '#', s)
        if re.match(r'#if(n?def)?\b', directive):
            stack.append('internal' if INTERNAL_COND.match(s) else 'win' if WINDOWS_COND.match(s) else 'other')
        elif re.match(r'#(elif|else)\b', directive):
            if stack and stack[-1] in ('internal', 'skip'):
                stack[-1] = 'skip'
            elif stack and stack[-1] == 'win':
                stack[-1] = 'other'
        elif re.match(r'#endif\b', directive):
            if stack:
                stack.pop()
        elif not skipping() and 'internal' not in stack:
            m = DEFINE_RE.match(s)
            if m:
                record_define(m.group(1), m.group(2), renames, ptds)
    flush()
    return renames, ptds, normal, internal


def record_define(name, body, renames, ptds):
    m = WRAP_RE.match(body)
    if m:
        renames[name] = m.group(2)
        ptds.add(m.group(2) + ('_ptds' if m.group(1) == 'PTDS' else '_ptsz'))
        return
    m = PLAIN_RE.match(body)
    if m:
        renames[name] = m.group(1)


def resolve(name, renames):
    seen = set()
    while name in renames and name not in seen and renames[name] != name:
        seen.add(name)
        name = renames[name]
    return name


def header_paths(cuda_h, extras):
    here = os.path.dirname(os.path.abspath(cuda_h))
    return [p for p in (os.path.join(here, h) for h in extras) if os.path.exists(p)]


def exported_names(cuda_h):
    names = set()
    for path in [cuda_h] + header_paths(cuda_h, EXTRA_HEADERS):
        renames, ptds, normal, internal = scan_header(path)
        names.update(resolve(n, renames) for n in normal)
        names.update(internal)
        names.update(ptds)
    return names


def scan_typedefs(cuda_h):
    """{base: {'': [versions], '_ptds': [...], '_ptsz': [...]}} from the *Typedefs.h headers."""
    table = {}
    text = ''
    for path in header_paths(cuda_h, TYPEDEF_HEADERS):
        with open(path, encoding='utf-8', errors='replace') as f:
            text += strip_comments(f.read()) + '\n'
    for m in PFN_RE.finditer(text):
        if not re.match(r'\s*\)', text[m.end():m.end() + 4]):
            continue
        flavour = m.group(3) or ''
        versions = table.setdefault(m.group(1), {}).setdefault(flavour, [])
        v = int(m.group(2))
        if v not in versions:
            versions.append(v)
    return table


def proc_rows(cuda_h, exports):
    """(name, version, flavour, symbol) rows, flavour '' / '_ptds' / '_ptsz'."""
    table = scan_typedefs(cuda_h)
    rows = []
    for base, flavours in sorted(table.items()):
        plain = sorted(flavours.get('', []))
        symbol_at = {}
        for i, v in enumerate(plain):
            symbol_at[v] = base if i == 0 else '%s_v%d' % (base, i + 1)
            rows.append((base, v, '', symbol_at[v]))
        for flavour in ('_ptds', '_ptsz'):
            for v in sorted(flavours.get(flavour, [])):
                older = [p for p in plain if p <= v]
                sym = symbol_at[older[-1]] if older else base
                rows.append((base, v, flavour, sym + flavour))
    # Names without a typedef (a newer cuda.h): version 0, the highest _vN suffix wins.
    newest = {}
    for name in sorted(exports):
        if re.search(r'_(ptds|ptsz)$', name):
            continue
        m = re.match(r'^(.*?)(?:_v(\d+))?$', name)
        base, n = m.group(1), int(m.group(2) or 1)
        if base not in table and (base not in newest or n > newest[base][0]):
            newest[base] = (n, name)
    for base, (_, name) in sorted(newest.items()):
        rows.append((base, 0, '', name))
        for flavour in ('_ptds', '_ptsz'):
            if name + flavour in exports:
                rows.append((base, 0, flavour, name + flavour))
    return [r for r in rows if r[3] in exports]


def main(argv):
    if len(argv) != 4:
        sys.stderr.write('usage: gen_stubs.py CUDA_H DEFINED_SYMBOLS LOG_FUNCTION\n')
        return 2
    cuda_h, defined_path, log_fn = argv[1:]
    with open(defined_path) as f:
        defined = set(line.strip() for line in f if line.strip())
    exports = exported_names(cuda_h)
    all_symbols = exports | set(n for n in defined if n.startswith('cu'))
    stubs = sorted(exports - defined)
    rows = proc_rows(cuda_h, all_symbols)
    out = sys.stdout
    out.write('/* Generated by scripts/gen_stubs.py from %s: do not edit. */\n' % os.path.basename(cuda_h))
    out.write('#include <stddef.h>\n\n')
    out.write('#define STUB_API __attribute__((visibility("default")))\n')
    out.write('#define CUDA_ERROR_NOT_SUPPORTED 801\n')
    out.write('void %s(const char *name);\n\n' % log_fn)
    out.write('/* %d entry points cuda.h declares that the software GPU does not implement. */\n' % len(stubs))
    for name in stubs:
        out.write('STUB_API int %s(void) { %s("%s"); return CUDA_ERROR_NOT_SUPPORTED; }\n'
                  % (name, log_fn, name))
    referenced = sorted(set(r[3] for r in rows) - set(stubs))
    out.write('\n/* Entry points defined by the emu objects. */\n')
    for name in referenced:
        out.write('extern int %s(void);\n' % name)
    out.write('\n/* cuGetProcAddress: name, first driver version, flavour (0 plain, 1 _ptds/_ptsz), symbol. */\n')
    out.write('struct emu_proc_entry { const char *name; int version; int per_thread; '
              'const char *symbol; void *fn; };\n')
    out.write('__attribute__((visibility("hidden"))) const struct emu_proc_entry emu_proc_table[] = {\n')
    for name, version, flavour, symbol in rows:
        out.write('    { "%s", %d, %d, "%s", (void *)%s },\n'
                  % (name, version, 1 if flavour else 0, symbol, symbol))
    out.write('    { NULL, 0, 0, NULL, NULL }\n};\n')
    out.write('__attribute__((visibility("hidden"))) const int emu_proc_table_len = %d;\n' % len(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
