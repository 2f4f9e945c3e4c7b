/* lz4.c: the LZ4 block decoder for fatbin entries nvcc compressed with --compress-mode=speed
 * (entry flag 0x2000; nvcc 11/12 default). Owns nothing else; see fatbin.h. Every read and write
 * is checked against its buffer. */
#include <stdio.h>
#include <string.h>
#include "fatbin.h"

/* Reads an LZ4 length: nibble, plus extension bytes while the nibble is 15 and each byte is 255. */
static int lz4_length(const uint8_t *src, size_t srclen, size_t *ip, size_t nibble, size_t *len)
{
    size_t n = nibble;
    if (nibble == 15) {
        uint8_t b;
        do {
            if (*ip >= srclen)
                return -1;
            b = src[(*ip)++];
            n += b;
        } while (b == 255);
    }
    *len = n;
    return 0;
}

/* Once the output is full, only zero padding may follow. */
static int lz4_tail_is_padding(const uint8_t *src, size_t srclen, size_t ip)
{
    for (; ip < srclen; ip++)
        if (src[ip] != 0)
            return 0;
    return 1;
}

int emu_lz4_decompress_block(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen,
                             char *err, size_t errlen)
{
    size_t ip = 0, op = 0;
    for (;;) {
        if (op == dstlen) {
            if (lz4_tail_is_padding(src, srclen, ip))
                return 0;
            snprintf(err, errlen, "LZ4 data continues after the %zu-byte output is complete", dstlen);
            return -1;
        }
        if (ip >= srclen) {
            snprintf(err, errlen, "LZ4 data ends after %zu of %zu output bytes", op, dstlen);
            return -1;
        }
        uint8_t token = src[ip++];
        size_t lit, mlen;
        if (lz4_length(src, srclen, &ip, token >> 4, &lit) < 0 || lit > srclen - ip) {
            snprintf(err, errlen, "LZ4 literal run at input offset %zu overruns the input", ip);
            return -1;
        }
        if (lit > dstlen - op) {
            snprintf(err, errlen, "LZ4 literal run at input offset %zu overruns the %zu-byte output",
                     ip, dstlen);
            return -1;
        }
        memcpy(dst + op, src + ip, lit);
        ip += lit;
        op += lit;
        if (op == dstlen || ip == srclen)
            continue;                       /* the last sequence has literals only */
        if (srclen - ip < 2) {
            snprintf(err, errlen, "LZ4 match offset at input offset %zu is truncated", ip);
            return -1;
        }
        size_t off = (size_t)src[ip] | (size_t)src[ip + 1] << 8;
        ip += 2;
        if (off == 0 || off > op) {
            snprintf(err, errlen, "LZ4 match at output offset %zu refers %zu bytes back", op, off);
            return -1;
        }
        if (lz4_length(src, srclen, &ip, token & 15, &mlen) < 0) {
            snprintf(err, errlen, "LZ4 match length at input offset %zu is truncated", ip);
            return -1;
        }
        mlen += 4;
        if (mlen > dstlen - op) {
            snprintf(err, errlen, "LZ4 match at output offset %zu overruns the %zu-byte output",
                     op, dstlen);
            return -1;
        }
        for (size_t i = 0; i < mlen; i++, op++)    /* may overlap itself: byte by byte */
            dst[op] = dst[op - off];
    }
}
