/*
 * libFuzzer target: the BPF validator and interpreter, and the hex form
 * capture filters arrive in.
 *
 * The input is a program, then a packet:
 *
 *   bytes 0-1   instruction count, little-endian, modulo BPF_MAX_INSNS + 2
 *               (so the empty program and one too long are offered too)
 *   then        8 bytes per instruction: code (2, little-endian), jt, jf,
 *               k (4, little-endian)
 *   the rest    the packet
 *
 * Whatever the validator accepts must run without any out-of-bounds access
 * (ASan) or undefined behaviour (UBSan), on the whole packet and on every
 * shorter captured length. Every program must also survive the trip through
 * its hex form (bpf_parse_hex) unchanged, and the packet's bytes are given
 * to bpf_parse_hex as text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bpf.h"

#define HEX_PER_INSN 16                 /* code(4) jt(2) jf(2) k(8) */

static struct bpf_insn prog[BPF_MAX_INSNS + 1];
static struct bpf_insn parsed[BPF_MAX_INSNS + 1];
static char hex[(BPF_MAX_INSNS + 1) * HEX_PER_INSN + 1];

static void read_program(const uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++, p += 8) {
        prog[i].code = (uint16_t)(p[0] | p[1] << 8);
        prog[i].jt = p[2];
        prog[i].jf = p[3];
        prog[i].k = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                    (uint32_t)p[7] << 24;
    }
}

/* The program as a capture command carries it, parsed back: the same
 * instructions, or the error its length calls for. */
static void check_hex_round_trip(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + i * HEX_PER_INSN, HEX_PER_INSN + 1, "%04x%02x%02x%08x", prog[i].code,
                 prog[i].jt, prog[i].jf, prog[i].k);
    int got = bpf_parse_hex(hex, (size_t)n * HEX_PER_INSN, parsed, BPF_MAX_INSNS);
    if (n == 0 || n > BPF_MAX_INSNS) {
        if (got >= 0)
            abort();
        return;
    }
    if (got != (int)n || memcmp(parsed, prog, n * sizeof(prog[0])) != 0)
        abort();
}

static void run_everywhere(unsigned n, const uint8_t *data, size_t pkt_len)
{
    char why[96];
    int rc = bpf_validate(prog, n, why, sizeof(why));
    if ((n == 0 || n > BPF_MAX_INSNS) && rc == 0)
        abort();
    if (rc != 0)
        return;
    /* An exact-size copy, so ASan sees any read past the packet. */
    uint8_t *pkt = malloc(pkt_len ? pkt_len : 1);
    memcpy(pkt, data, pkt_len);
    for (size_t cap = 0; cap <= pkt_len; cap += 1 + cap / 4)
        (void)bpf_run(prog, pkt, (uint32_t)pkt_len, (uint32_t)cap);
    (void)bpf_run(prog, pkt, (uint32_t)pkt_len, (uint32_t)pkt_len);
    free(pkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned n = (unsigned)(data[0] | data[1] << 8) % (BPF_MAX_INSNS + 2);
    if (size < 2 + (size_t)n * 8)
        return 0;
    read_program(data + 2, n);
    check_hex_round_trip(n);
    const uint8_t *pkt = data + 2 + (size_t)n * 8;
    size_t pkt_len = size - 2 - (size_t)n * 8;
    run_everywhere(n, pkt, pkt_len);
    (void)bpf_parse_hex((const char *)pkt, pkt_len, parsed, BPF_MAX_INSNS);
    return 0;
}
