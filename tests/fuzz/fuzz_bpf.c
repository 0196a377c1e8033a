/*
 * libFuzzer target: the BPF validator and interpreter. The input is split
 * into a program (first byte: instruction count, then 8 bytes each) and a
 * packet (the rest). Whatever the validator accepts must run without any
 * out-of-bounds access (ASan) or undefined behaviour (UBSan), on the whole
 * packet and on every shorter captured length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/bpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bpf_insn prog[64];
    if (size < 1)
        return 0;
    unsigned n = data[0] % 64 + 1;
    if (size < 1 + (size_t)n * 8)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *p = data + 1 + i * 8;
        prog[i].code = (uint16_t)(p[0] | p[1] << 8);
        prog[i].jt = p[2];
        prog[i].jf = p[3];
        prog[i].k = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                    (uint32_t)p[7] << 24;
    }
    char why[96];
    if (bpf_validate(prog, n, why, sizeof(why)) != 0)
        return 0;
    size_t pkt_len = size - 1 - (size_t)n * 8;
    /* An exact-size copy, so ASan sees any read past the packet. */
    uint8_t *pkt = malloc(pkt_len ? pkt_len : 1);
    memcpy(pkt, data + 1 + n * 8, pkt_len);
    for (size_t cap = 0; cap <= pkt_len; cap += 1 + cap / 4)
        (void)bpf_run(prog, pkt, (uint32_t)pkt_len, (uint32_t)cap);
    (void)bpf_run(prog, pkt, (uint32_t)pkt_len, (uint32_t)pkt_len);
    free(pkt);
    return 0;
}
