/* ptx_printf.c: device-side printf (the vprintf call nvcc emits). Reads the format string and
 * the packed argument buffer from device memory with bounds checks and writes the formatted
 * line to the process's stdout. */
#include "ptx_ir.h"
#include <stdio.h>
#include <string.h>

#define PTX_PRINTF_MAX 4096

/* Copies a NUL-terminated device string; returns its length or -1 after a fault. */
static int read_dev_string(ptx_warp *w, uint64_t addr, int lane, char *out, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        const char *c = ptx_addr_ptr(w, SP_GENERIC, addr + n, lane, 1, 0);
        if (!c)
            return -1;
        if (!*c)
            break;
        out[n++] = *c;
    }
    out[n] = 0;
    return (int)n;
}

static int read_arg(ptx_warp *w, uint64_t args, uint32_t *off, uint32_t size, int lane, uint64_t *v)
{
    *off = (*off + size - 1) / size * size;
    const void *p = ptx_addr_ptr(w, SP_GENERIC, args + *off, lane, size, 0);
    if (!p)
        return -1;
    *v = 0;
    memcpy(v, p, size);
    *off += size;
    return 0;
}

static void append(char *buf, size_t *len, const char *s, size_t n)
{
    if (*len + n >= PTX_PRINTF_MAX)
        n = PTX_PRINTF_MAX - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = 0;
}

void ptx_vprintf(ptx_warp *w, int lane, uint64_t fmt_addr, uint64_t args)
{
    char fmt[PTX_PRINTF_MAX], out[PTX_PRINTF_MAX], piece[PTX_PRINTF_MAX];
    size_t olen = 0;
    uint32_t off = 0;
    out[0] = 0;
    if (read_dev_string(w, fmt_addr, lane, fmt, sizeof fmt) < 0)
        return;
    for (const char *p = fmt; *p;) {
        if (*p != '%') {
            const char *q = strchr(p, '%');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            append(out, &olen, p, n);
            p += n;
            continue;
        }
        if (p[1] == '%') { append(out, &olen, "%", 1); p += 2; continue; }
        char spec[64];
        size_t sl = 0;
        spec[sl++] = *p++;
        while (*p && strchr("-+ #0123456789.*", *p) && sl < 40) {
            if (*p == '*') {   /* width or precision from the arguments */
                uint64_t v;
                if (read_arg(w, args, &off, 4, lane, &v) < 0) return;
                sl += (size_t)snprintf(spec + sl, sizeof spec - sl, "%d", (int)(int32_t)v);
                p++;
                continue;
            }
            spec[sl++] = *p++;
        }
        int longs = 0;
        while (*p && strchr("hlLqjzt", *p)) {
            if (*p == 'l' || *p == 'L' || *p == 'q' || *p == 'j' || *p == 'z' || *p == 't') longs++;
            p++;
        }
        char conv = *p ? *p++ : 0;
        uint64_t v = 0;
        int n = 0;
        switch (conv) {
        case 'd': case 'i':
            if (read_arg(w, args, &off, longs ? 8 : 4, lane, &v) < 0) return;
            memcpy(spec + sl, "lld", 4);
            n = snprintf(piece, sizeof piece, spec, longs ? (long long)v : (long long)(int32_t)v);
            break;
        case 'u': case 'x': case 'X': case 'o':
            if (read_arg(w, args, &off, longs ? 8 : 4, lane, &v) < 0) return;
            spec[sl] = 'l'; spec[sl + 1] = 'l'; spec[sl + 2] = conv; spec[sl + 3] = 0;
            n = snprintf(piece, sizeof piece, spec, longs ? (unsigned long long)v : (unsigned long long)(uint32_t)v);
            break;
        case 'c':
            if (read_arg(w, args, &off, 4, lane, &v) < 0) return;
            spec[sl] = 'c'; spec[sl + 1] = 0;
            n = snprintf(piece, sizeof piece, spec, (int)v);
            break;
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A': {
            if (read_arg(w, args, &off, 8, lane, &v) < 0) return;
            double d;
            memcpy(&d, &v, 8);
            spec[sl] = conv; spec[sl + 1] = 0;
            n = snprintf(piece, sizeof piece, spec, d);
            break;
        }
        case 's': {
            if (read_arg(w, args, &off, 8, lane, &v) < 0) return;
            char s[PTX_PRINTF_MAX / 2];
            if (!v) snprintf(s, sizeof s, "(null)");
            else if (read_dev_string(w, v, lane, s, sizeof s) < 0) return;
            spec[sl] = 's'; spec[sl + 1] = 0;
            n = snprintf(piece, sizeof piece, spec, s);
            break;
        }
        case 'p':
            if (read_arg(w, args, &off, 8, lane, &v) < 0) return;
            n = snprintf(piece, sizeof piece, "0x%llx", (unsigned long long)v);
            break;
        default:
            n = snprintf(piece, sizeof piece, "%%%c", conv);
            break;
        }
        if (n > 0)
            append(out, &olen, piece, (size_t)n < sizeof piece ? (size_t)n : sizeof piece - 1);
    }
    flockfile(stdout);
    fwrite(out, 1, olen, stdout);
    funlockfile(stdout);
}
