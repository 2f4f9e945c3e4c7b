#!/usr/bin/env python3
"""gen_calls.py: generates both ends of every remoted call from proto/calls.spec (owner: proto/).

Usage: gen_calls.py CUDA_H SPEC OUTDIR
Writes OUTDIR/bf_client_calls.c (the client library's entry points), OUTDIR/bf_server_calls.c
(the worker's dispatch table), OUTDIR/bf_calls.h (wire ids) and OUTDIR/bf_errors.c (cuGetErrorName /
cuGetErrorString tables from cuda.h's CUresult enum, answered locally by the client).

Each spec line: NAME ID MODE [PARAM=KIND ...]. NAME is the API name cuda.h declares (its
prototype is read from cuda.h; the exported symbol is what cuda.h's #define renames it to, plus
_ptds/_ptsz variants when cuda.h exports them). MODE: sync | async | custom (hand-written in shim/
and server/, only the wire id is generated) | custom-async | internal (a protocol call that is no
driver function, hand-written on both ends). Parameter kinds default from the type:
  u    scalar in (any non-pointer, non-handle type)         -> a: value
  h    handle in (CUcontext, CUstream, ...)                -> a: client token
  hd   handle in, forgotten by the server when the call succeeds (destroy/unload)
  o    pointer to a scalar, out                             -> a: present, prior value; reply a
  oh   pointer to a handle, out                             -> a: present, prior token; reply a
  s    const char * in (NUL-terminated)                     -> a: present; b: bytes
  is   const struct * in (POD)                              -> a: present; b: bytes
  os   struct * out (POD)                                   -> a: present; b: prior; reply b
  sv   struct by value (POD)                                -> b: bytes
  ib:EXPR  in buffer of EXPR bytes (C over the parameters)  -> a: present; b: bytes
  ob:EXPR  out buffer of EXPR bytes                         -> a: present, size; reply b (copied
                                                               back only when the call succeeds)
Two keys that are no parameter name shape the client side of a call:
  sync_if=EXPR   (async calls) C over the parameters, no spaces: when true the call is sent and
                 waited for like a sync one, so an error the driver reports at the call (odd flags,
                 a range outside any allocation the client knows) is returned by the call itself.
                 Independently, an async call whose handle the client has not seen valid on this
                 thread in its current context (bf_token_async_ok), or NULL where it is not a
                 stream, is sent sync.
  hook=FUNC      after the reply: FUNC(result, parameters...), or FUNC(result) when written FUNC()
                 (shim/memtrack.c: what device memory the client knows of).
One key shapes the server side of a custom call:
  sym=NAME       the backend symbol (and its _ptds/_ptsz forms) the worker resolves for the call,
                 when it is not the one cuda.h's #define names (e.g. an older version that every
                 driver with the call exports; the handler may look up the newer one itself).
Calls that cuda.h declares only in its __CUDA_API_VERSION_INTERNAL block (older exports such as
cuCtxCreate_v3) get a prototype in both generated files.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_stubs  # noqa: E402

HANDLES = {'CUcontext', 'CUstream', 'CUevent', 'CUmodule', 'CUfunction', 'CUlibrary', 'CUkernel',
           'CUmemoryPool', 'CUlinkState', 'CUgraph', 'CUgraphExec', 'CUgraphNode', 'CUgreenCtx',
           'CUarray', 'CUmipmappedArray', 'CUtexref', 'CUsurfref', 'CUtexObject', 'CUsurfObject'}
STRUCTS = {'CUuuid', 'CUdevprop', 'CUDA_MEMCPY2D', 'CUDA_MEMCPY3D', 'CUDA_MEMCPY3D_PEER',
           'CUmemPoolProps', 'CUmemAccessDesc', 'CUmemLocation', 'CUexecAffinityParam',
           'CUlaunchConfig', 'CUstreamAttrValue', 'CUlaunchAttributeValue', 'CUctxCreateParams',
           'CUmemPoolPtrExportData', 'CUmemcpyAttributes', 'CUDA_MEMCPY3D_BATCH_OP',
           'CUkernelNodeAttrValue', 'CUfuncParamInfo', 'CUmemAllocationProp'}
FLAVOURS = (('', 0), ('_ptds', 1), ('_ptsz', 2))


def parse_protos(cuda_h):
    text = ''
    for path in [cuda_h] + gen_stubs.header_paths(cuda_h, ('cudaProfiler.h',)):
        with open(path, encoding='utf-8', errors='replace') as f:
            text += gen_stubs.strip_comments(f.read()) + '\n'
    protos = {}
    for m in re.finditer(r'\bCUresult\s+CUDAAPI\s+(cu\w+)\s*\(([^)]*)\)\s*;', text):
        name = m.group(1)
        if name in protos:
            continue   # the first declaration is the current one; later ones are the old versions
        params = []
        body = ' '.join(m.group(2).split())
        if body and body != 'void':
            for p in body.split(','):
                p = p.strip()
                pm = re.match(r'^(.*?)(\w+)\s*(\[\s*\])?$', p)
                typ, pname = pm.group(1).strip(), pm.group(2)
                if pm.group(3):
                    typ += ' *'
                params.append((' '.join(typ.replace('*', ' * ').split()), pname))
        protos[name] = params
    return protos


def renames_of(cuda_h):
    renames, _, _, _ = gen_stubs.scan_header(cuda_h)
    for path in gen_stubs.header_paths(cuda_h, ('cudaProfiler.h',)):
        renames.update(gen_stubs.scan_header(path)[0])
    return renames


def base_type(typ):
    t = typ.replace('const', '').replace('*', '').strip()
    return ' '.join(t.split())


def default_kind(typ):
    stars = typ.count('*')
    bt = base_type(typ)
    if stars == 0:
        if bt in HANDLES:
            return 'h'
        if bt in STRUCTS:
            return 'sv'
        return 'u'
    if stars == 1:
        if bt == 'char' and typ.startswith('const'):
            return 's'
        if bt in ('void', 'char'):
            return None
        if bt in HANDLES:
            return 'oh'
        if bt in STRUCTS:
            return 'is' if typ.startswith('const') else 'os'
        return 'o'
    return None


def parse_spec(path):
    calls = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            name, wid, mode = parts[0], int(parts[1]), parts[2]
            kinds = {}
            for p in parts[3:]:
                k, v = p.split('=', 1)
                kinds[k] = v
            calls.append({'name': name, 'id': wid, 'mode': mode, 'kinds': kinds, 'line': lineno})
    return calls


def pdecl(typ, name):
    return '%s %s' % (typ, name)


SPECIAL_KEYS = ('sync_if', 'hook', 'sym')


def client_stub(call, params, symbol, flavours):
    name, kinds = call['name'], call['kinds']
    is_async = call['mode'] == 'async'
    for k in kinds:
        if k not in SPECIAL_KEYS and k not in [pn for _, pn in params]:
            raise SystemExit('calls.spec:%d: %s has no parameter %s' % (call['line'], name, k))
    sig = ', '.join(pdecl(t, n) for t, n in params) or 'void'
    args = ', '.join(n for _, n in params)
    o = []
    o.append('static CUresult bf_cl_%s(int flavour%s)' % (name, ''.join(', ' + pdecl(t, n) for t, n in params)))
    o.append('{')
    o.append('    bf_call c;')
    o.append('    CUresult r;')
    o.append('    if (!bf_connected()) return bf_not_connected_result();')
    o.append('    bf_call_init(&c, %d | (uint32_t)flavour << 16, %d);' % (call['id'], 1 if is_async else 0))
    post = []
    if 'hook' in kinds and kinds['hook'].endswith('()'):
        o.insert(0, 'void %s(CUresult r);' % kinds['hook'][:-2])
    elif 'hook' in kinds:
        o.insert(0, 'void %s(CUresult r%s);' % (kinds['hook'], ''.join(', ' + pdecl(t, n) for t, n in params)))
    for typ, pn in params:
        k = kinds.get(pn) or default_kind(typ)
        if k is None:
            raise SystemExit('calls.spec:%d: %s: parameter %s (%s) needs a kind' % (call['line'], name, pn, typ))
        if k in ('u',):
            o.append('    bf_put(&c, bf_val(&%s, sizeof %s));' % (pn, pn))
        elif k in ('h', 'hd'):
            o.append('    bf_put(&c, (uint64_t)(uintptr_t)%s);' % pn)
            if is_async and base_type(typ) == 'CUstream':
                o.append('    if (!bf_token_async_ok((uint64_t)(uintptr_t)%s)) c.async = 0;' % pn)
            elif is_async:
                o.append('    if (!%s || !bf_token_async_ok((uint64_t)(uintptr_t)%s)) c.async = 0;' % (pn, pn))
            if is_async and k == 'h':
                post.append('    if (r == CUDA_SUCCESS && !c.async) bf_token_learn((uint64_t)(uintptr_t)%s);' % pn)
            if k == 'hd':
                post.append('    if (r == CUDA_SUCCESS) bf_token_forget((uint64_t)(uintptr_t)%s);' % pn)
        elif k == 'o':
            o.append('    bf_put(&c, %s != NULL); bf_put(&c, %s ? bf_val(%s, sizeof *%s) : 0);' % (pn, pn, pn, pn))
            post.append('    { uint64_t v_ = bf_get(&c); if (%s && c.have_reply) memcpy(%s, &v_, sizeof *%s); }' % (pn, pn, pn))
        elif k == 'oh':
            o.append('    bf_put(&c, %s != NULL); bf_put(&c, %s ? (uint64_t)(uintptr_t)*%s : 0);' % (pn, pn, pn))
            post.append('    { uint64_t v_ = bf_get(&c); if (%s && c.have_reply) { *%s = (%s)(uintptr_t)v_; '
                        'bf_token_learn(v_); } }' % (pn, pn, base_type(typ)))
        elif k == 's':
            o.append('    bf_put_str(&c, %s);' % pn)
        elif k == 'is':
            o.append('    bf_put(&c, %s != NULL); bf_put_bytes(&c, %s, %s ? sizeof *%s : 0);' % (pn, pn, pn, pn))
        elif k == 'os':
            o.append('    bf_put(&c, %s != NULL); bf_put_bytes(&c, %s, %s ? sizeof *%s : 0);' % (pn, pn, pn, pn))
            post.append('    if (%s) bf_get_bytes(&c, %s, sizeof *%s); else bf_get_bytes(&c, NULL, 0);' % (pn, pn, pn))
        elif k == 'sv':
            o.append('    bf_put_bytes(&c, &%s, sizeof %s);' % (pn, pn))
        elif k.startswith('ib:'):
            o.append('    bf_put(&c, %s != NULL); bf_put_bytes(&c, %s, %s ? (size_t)(%s) : 0);' % (pn, pn, pn, k[3:]))
        elif k.startswith('ob:'):
            o.append('    bf_put(&c, %s != NULL); bf_put(&c, %s ? (uint64_t)(%s) : 0);' % (pn, pn, k[3:]))
            post.append('    if (%s && r == CUDA_SUCCESS) bf_get_bytes(&c, %s, (size_t)(%s)); else bf_get_bytes(&c, NULL, 0);'
                        % (pn, pn, k[3:]))
        else:
            raise SystemExit('calls.spec:%d: unknown kind %s' % (call['line'], k))
    if is_async and 'sync_if' in kinds:
        o.append('    if (%s) c.async = 0;' % kinds['sync_if'])
    o.append('    r = bf_invoke(&c);')
    o.extend(post)
    if 'hook' in kinds and kinds['hook'].endswith('()'):
        o.append('    %s(r);' % kinds['hook'][:-2])
    elif 'hook' in kinds:
        o.append('    %s(r%s);' % (kinds['hook'], ''.join(', ' + n for _, n in params)))
    o.append('    bf_call_done(&c);')
    o.append('    return r;')
    o.append('}')
    o.append('BF_API CUresult CUDAAPI %s(%s) { return bf_cl_%s(0%s); }' % (name, sig, name, ''.join(', ' + n for _, n in params)))
    for suffix, fl in FLAVOURS[1:]:
        if suffix in flavours:
            o.append('BF_API CUresult CUDAAPI %s%s(%s);' % (symbol, suffix, sig))
            o.append('BF_API CUresult CUDAAPI %s%s(%s) { return bf_cl_%s(%d%s); }'
                     % (symbol, suffix, sig, name, fl, ''.join(', ' + n for _, n in params)))
    return '\n'.join(o) + '\n'


def server_fn(call, params):
    name, kinds = call['name'], call['kinds']
    o = ['static CUresult bf_sv_%s(bf_sargs *s, void *fnp)' % name, '{']
    o.append('    __typeof__(&%s) fn_ = (__typeof__(&%s))fnp;' % (name, name))
    o.append('    CUresult r_;')
    callargs, post, cleanup = [], [], []
    for i, (typ, pn) in enumerate(params):
        k = kinds.get(pn) or default_kind(typ)
        bt = base_type(typ)
        v = 'p%d' % i
        if k == 'u':
            o.append('    %s %s; bf_sa_val(s, &%s, sizeof %s);' % (bt if '*' not in typ else typ, v, v, v))
            callargs.append(v)
        elif k in ('h', 'hd'):
            o.append('    uint64_t %s_t = bf_sa_u64(s); %s %s = (%s)bf_sh_get(s, %s_t);' % (v, bt, v, bt, v))
            callargs.append(v)
            if k == 'hd':
                post.append('    if (r_ == CUDA_SUCCESS) bf_sh_drop(s, %s_t);' % v)
        elif k == 'o':
            o.append('    int %s_has = (int)bf_sa_u64(s); %s %s; bf_sa_val(s, &%s, sizeof %s);' % (v, bt, v, v, v))
            callargs.append('%s_has ? &%s : NULL' % (v, v))
            post.append('    bf_sr_u64(s, bf_val(&%s, sizeof %s));' % (v, v))
        elif k == 'oh':
            o.append('    int %s_has = (int)bf_sa_u64(s); uint64_t %s_t = bf_sa_u64(s); '
                     'void *%s_prior = bf_sh_get(s, %s_t); %s %s = (%s)%s_prior;' % (v, v, v, v, bt, v, bt, v))
            callargs.append('%s_has ? &%s : NULL' % (v, v))
            post.append('    bf_sr_u64(s, (void *)%s == %s_prior ? %s_t : bf_sh_put(s, (void *)%s));' % (v, v, v, v))
        elif k == 's':
            o.append('    const char *%s = bf_sa_str(s);' % v)
            callargs.append(v)
        elif k in ('is', 'os'):
            o.append('    int %s_has = (int)bf_sa_u64(s); %s %s; bf_sa_struct(s, &%s, sizeof %s);' % (v, bt, v, v, v))
            callargs.append('%s_has ? &%s : NULL' % (v, v))
            if k == 'os':
                post.append('    bf_sr_bytes(s, &%s, sizeof %s);' % (v, v))
        elif k == 'sv':
            o.append('    %s %s; bf_sa_struct(s, &%s, sizeof %s);' % (bt, v, v, v))
            callargs.append(v)
        elif k.startswith('ib:'):
            o.append('    int %s_has = (int)bf_sa_u64(s); size_t %s_n; const void *%s = bf_sa_bytes(s, &%s_n);'
                     % (v, v, v, v))
            callargs.append('(%s)(%s_has ? %s : NULL)' % (typ, v, v))
        elif k.startswith('ob:'):
            o.append('    int %s_has = (int)bf_sa_u64(s); size_t %s_n = (size_t)bf_sa_u64(s); '
                     'void *%s = bf_sa_outbuf(s, %s_n);' % (v, v, v, v))
            callargs.append('(%s)(%s_has ? %s : NULL)' % (typ, v, v))
            post.append('    bf_sr_bytes(s, %s, %s_n);' % (v, v))
        else:
            raise SystemExit('calls.spec:%d: unknown kind %s' % (call['line'], k))
    # a buffer shorter than its parameters say (a hostile or broken client) is refused, never
    # read or written past its end
    names = {pn: 'p%d' % i for i, (_, pn) in enumerate(params)}
    for i, (typ, pn) in enumerate(params):
        k = kinds.get(pn) or default_kind(typ)
        if k.startswith('ib:') or k.startswith('ob:'):
            expr = re.sub(r'\b[A-Za-z_]\w*\b', lambda m: names.get(m.group(0), m.group(0)), k[3:])
            o.append('    if (!s->bad && p%d_has && p%d_n < (size_t)(%s)) s->bad = 1;' % (i, i, expr))
    o.append('    if (s->bad) return CUDA_ERROR_INVALID_VALUE;')
    o.append('    r_ = fn_(%s);' % ', '.join(callargs))
    o.extend(post)
    o.extend(cleanup)
    o.append('    return r_;')
    o.append('}')
    return '\n'.join(o) + '\n'


def driver_texts():
    """The driver's own error strings, as the software GPU (emu/errors.c) spells them."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'emu', 'errors.c')
    texts = {}
    try:
        with open(path, encoding='utf-8') as f:
            for m in re.finditer(r'\bE\((CUDA_\w+),\s*"((?:[^"\\]|\\.)*)"\)', f.read()):
                texts[m.group(1)] = m.group(2)
    except OSError:
        pass
    return texts


def error_tables(cuda_h):
    texts = driver_texts()
    with open(cuda_h, encoding='utf-8', errors='replace') as f:
        text = f.read()
    m = re.search(r'typedef enum cudaError_enum \{(.*?)\} CUresult;', text, re.S)
    rows = []
    for em in re.finditer(r'/\*\*(.*?)\*/\s*(CUDA_\w+)\s*=\s*(\d+)', m.group(1), re.S):
        doc = ' '.join(em.group(1).replace('*', ' ').split())
        doc = re.sub(r'::', '', doc)
        first = re.split(r'(?<=\.)\s', doc)[0]
        if em.group(2) in texts:
            rows.append((em.group(2), int(em.group(3)), texts[em.group(2)]))
            continue
        rows.append((em.group(2), int(em.group(3)), first.replace('\\', '\\\\').replace('"', '\\"')))
    return rows


def main(argv):
    cuda_h, spec, outdir = argv[1:4]
    protos = parse_protos(cuda_h)
    renames = renames_of(cuda_h)
    exports = gen_stubs.exported_names(cuda_h)
    calls = parse_spec(spec)
    normal_decls, internal_decls = set(), set()
    for path in [cuda_h] + gen_stubs.header_paths(cuda_h, ('cudaProfiler.h',)):
        _, _, nd, idl = gen_stubs.scan_header(path)
        normal_decls.update(nd)
        internal_decls.update(idl)
    ids = set()
    cl = ['/* Generated by scripts/gen_calls.py from proto/calls.spec: do not edit. */',
          '#include "rpc.h"', '#include <string.h>', '#include <cudaProfiler.h>',
          '#pragma GCC diagnostic ignored "-Wdeprecated-declarations"', '']
    sv = ['/* Generated by scripts/gen_calls.py from proto/calls.spec: do not edit. */',
          '#include "session_int.h"', '#include <string.h>', '#include <cudaProfiler.h>',
          '#pragma GCC diagnostic ignored "-Wdeprecated-declarations"', '']
    hdr = ['/* Generated by scripts/gen_calls.py from proto/calls.spec: do not edit. */',
           '#ifndef BF_CALLS_H', '#define BF_CALLS_H']
    table = []
    client_defined = []
    for call in calls:
        name = call['name']
        if call['id'] in ids:
            raise SystemExit('calls.spec:%d: duplicate id %d' % (call['line'], call['id']))
        ids.add(call['id'])
        if call['mode'] == 'internal':
            hdr.append('#define BF_FN_%s %d' % (name, call['id']))
            sv.append('CUresult bf_sv_%s(bf_sargs *s, void *fnp);' % name)
            table.append('    { %d, "%s", { NULL, NULL, NULL }, bf_sv_%s },' % (call['id'], name, name))
            continue
        if name not in protos:
            raise SystemExit('calls.spec:%d: %s is not declared in cuda.h' % (call['line'], name))
        symbol = gen_stubs.resolve(name, renames)
        if 'sym' in call['kinds']:
            if not call['mode'].startswith('custom'):
                raise SystemExit('calls.spec:%d: sym= is for custom calls' % call['line'])
            symbol = call['kinds']['sym']
            if symbol not in exports:
                raise SystemExit('calls.spec:%d: %s is not exported by the driver' % (call['line'], symbol))
        flavours = [sfx for sfx, _ in FLAVOURS if (symbol + sfx) in exports or sfx == '']
        hdr.append('#define BF_FN_%s %d' % (name, call['id']))
        custom = call['mode'].startswith('custom')
        syms = ['"%s%s"' % (symbol, sfx) if sfx in flavours else 'NULL' for sfx, _ in FLAVOURS]
        if name in internal_decls and name not in normal_decls:
            proto = 'CUresult CUDAAPI %s(%s);' % (name, ', '.join(pdecl(t, n) for t, n in protos[name]) or 'void')
            cl.append(proto)
            sv.append(proto)
        if not custom:
            cl.append(client_stub(call, protos[name], symbol, flavours))
            sv.append(server_fn(call, protos[name]))
            table.append('    { %d, "%s", { %s }, bf_sv_%s },' % (call['id'], name, ', '.join(syms), name))
            client_defined.extend(symbol + sfx for sfx in flavours)
        else:
            sv.append('CUresult bf_sv_%s(bf_sargs *s, void *fnp);' % name)
            table.append('    { %d, "%s", { %s }, bf_sv_%s },' % (call['id'], name, ', '.join(syms), name))
    sv.append('const bf_sv_entry bf_sv_table[] = {')
    sv.extend(table)
    sv.append('    { 0, NULL, { NULL, NULL, NULL }, NULL }')
    sv.append('};')
    hdr.append('#endif')
    with open(os.path.join(outdir, 'bf_client_calls.c'), 'w') as f:
        f.write('\n'.join(cl) + '\n')
    with open(os.path.join(outdir, 'bf_server_calls.c'), 'w') as f:
        f.write('\n'.join(sv) + '\n')
    with open(os.path.join(outdir, 'bf_calls.h'), 'w') as f:
        f.write('\n'.join(hdr) + '\n')
    er = ['/* Generated by scripts/gen_calls.py from cuda.h: do not edit. */', '#include <stddef.h>',
          'struct bf_err_row { int code; const char *name; const char *text; };',
          '__attribute__((visibility("hidden"))) const struct bf_err_row bf_err_table[] = {']
    for n, code, text in error_tables(cuda_h):
        er.append('    { %d, "%s", "%s" },' % (code, n, text))
    er.append('    { -1, NULL, NULL }', )
    er.append('};')
    with open(os.path.join(outdir, 'bf_errors.c'), 'w') as f:
        f.write('\n'.join(er) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
