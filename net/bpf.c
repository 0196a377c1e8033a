/*
 * Classic BPF: validator, interpreter and HEX parser (API in net/bpf.h).
 *
 * The semantics follow the BSD bpf(4) man page and Linux's
 * Documentation/networking/filter.txt; where they leave a choice open this
 * file does what libpcap's bpf_filter() does, because libpcap is what
 * compiles the programs and what the tests compare against:
 *
 *   - a load that reaches past buflen ends the program with 0 (reject),
 *     whatever the offset, including offsets that wrap around 2^32 (X + k
 *     is computed in 64 bits);
 *   - A / X and A % X with X == 0 end the program with 0;
 *   - a shift by X >= 32 gives 0, the 32 low bits of the exact result
 *     (libpcap does this; C leaves such a shift undefined, and Linux's
 *     interpreter uses X & 31 instead). Constant shifts >= 32 are refused
 *     by the validator, as pcap_compile refuses to emit them;
 *   - RET A and RET K return the value as is: the caller clamps it to the
 *     bytes it has.
 *
 * An opcode is 16 bits, of which classic BPF uses the low 8:
 *
 *     7   5 4  3 2   0
 *    +-----+----+-----+
 *    | mode|size|class|   LD, LDX:  mode = IMM ABS IND MEM LEN MSH, size = W H B
 *    +-----+----+-----+
 *    |   op   |s|class|   ALU, JMP: op = ADD SUB ... / JA JEQ ...,
 *    +--------+-+-----+             s = operand K (constant) or X
 *
 * The validator accepts exactly the opcodes bpf_run implements (the list in
 * Linux's classic checker), so bpf_run trusts the program it is given and
 * decodes each opcode by its fields, checking nothing twice. A program that
 * was not validated may index scratch memory or jump out of bounds.
 *
 * Freestanding: no libc, no allocation; bpf_run keeps its state on the
 * stack (A, X and 64 bytes of scratch memory).
 */
#include <stdbool.h>

#include "net/bpf.h"
#include "net/text.h"
#include "net/errno.h"

/* Instruction classes (bits 0..2). */
#define BPF_CLASS(code) ((code) & 0x07)
#define BPF_LD   0x00
#define BPF_LDX  0x01
#define BPF_ST   0x02
#define BPF_STX  0x03
#define BPF_ALU  0x04
#define BPF_JMP  0x05
#define BPF_RET  0x06
#define BPF_MISC 0x07

/* LD/LDX: operand size (bits 3..4) and addressing mode (bits 5..7). */
#define BPF_SIZE(code) ((code) & 0x18)
#define BPF_W 0x00
#define BPF_H 0x08
#define BPF_B 0x10
#define BPF_MODE(code) ((code) & 0xe0)
#define BPF_IMM 0x00
#define BPF_ABS 0x20
#define BPF_IND 0x40
#define BPF_MEM 0x60
#define BPF_LEN 0x80
#define BPF_MSH 0xa0

/* ALU and JMP: operation (bits 4..7) and operand source (bit 3). */
#define BPF_OP(code) ((code) & 0xf0)
#define BPF_ADD 0x00
#define BPF_SUB 0x10
#define BPF_MUL 0x20
#define BPF_DIV 0x30
#define BPF_OR  0x40
#define BPF_AND 0x50
#define BPF_LSH 0x60
#define BPF_RSH 0x70
#define BPF_NEG 0x80
#define BPF_MOD 0x90
#define BPF_XOR 0xa0
#define BPF_JA   0x00
#define BPF_JEQ  0x10
#define BPF_JGT  0x20
#define BPF_JGE  0x30
#define BPF_JSET 0x40
#define BPF_SRC(code) ((code) & 0x08)
#define BPF_K 0x00
#define BPF_X 0x08

/* RET: what is returned (bits 3..4); MISC: register moves (bits 3..7). */
#define BPF_RVAL(code) ((code) & 0x18)
#define BPF_A 0x10
#define BPF_MISCOP(code) ((code) & 0xf8)
#define BPF_TAX 0x00
#define BPF_TXA 0x80

#define SHIFT_LIMIT 32          /* a 32-bit A shifted this far is undefined in C */
#define HEX_DIGITS_PER_INSN 16  /* code(4) jt(2) jf(2) k(8) */

/* --- reasons ------------------------------------------------------------ */

/* A bounded string builder for the validator's "why": no fmt dependency,
 * since it only ever needs text and unsigned numbers. */
struct why_buf {
    char *buf;
    size_t size;
    size_t len;   /* characters written, excluding the NUL */
};

static void why_puts(struct why_buf *w, const char *s)
{
    while (*s != '\0' && w->len + 1 < w->size)
        w->buf[w->len++] = *s++;
    if (w->size > 0)
        w->buf[w->len] = '\0';
}

static void why_putu(struct why_buf *w, unsigned long long v)
{
    char digits[24];
    size_t n = sizeof(digits) - 1;

    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    why_puts(w, &digits[n]);
}

/* --- validation ---------------------------------------------------------- */

/* Loads, stores and register moves: NULL if insn is one bpf_run runs. */
static const char *check_data_insn(const struct bpf_insn *insn)
{
    switch (insn->code) {
    case BPF_LD | BPF_W | BPF_ABS:
    case BPF_LD | BPF_H | BPF_ABS:
    case BPF_LD | BPF_B | BPF_ABS:
    case BPF_LD | BPF_W | BPF_IND:
    case BPF_LD | BPF_H | BPF_IND:
    case BPF_LD | BPF_B | BPF_IND:
    case BPF_LD | BPF_W | BPF_IMM:
    case BPF_LD | BPF_W | BPF_LEN:
    case BPF_LDX | BPF_W | BPF_IMM:
    case BPF_LDX | BPF_W | BPF_LEN:
    case BPF_LDX | BPF_B | BPF_MSH:
    case BPF_MISC | BPF_TAX:
    case BPF_MISC | BPF_TXA:
    case BPF_RET | BPF_K:
    case BPF_RET | BPF_A:
        return NULL;
    case BPF_LD | BPF_W | BPF_MEM:
    case BPF_LDX | BPF_W | BPF_MEM:
    case BPF_ST:
    case BPF_STX:
        return insn->k < BPF_NB_MEMWORDS ? NULL : "scratch memory index out of range";
    default:
        return "unknown opcode";
    }
}

static const char *check_alu_insn(const struct bpf_insn *insn)
{
    if (insn->code == (BPF_ALU | BPF_NEG))
        return NULL;
    if (BPF_OP(insn->code) > BPF_XOR || BPF_OP(insn->code) == BPF_NEG)
        return "unknown opcode";
    if (BPF_SRC(insn->code) == BPF_X)
        return NULL;
    /* Constant operands that could never work are refused here rather than
     * found on the first packet. */
    switch (BPF_OP(insn->code)) {
    case BPF_DIV:
    case BPF_MOD:
        return insn->k != 0 ? NULL : "division by constant zero";
    case BPF_LSH:
    case BPF_RSH:
        return insn->k < SHIFT_LIMIT ? NULL : "shift by 32 or more";
    default:
        return NULL;
    }
}

/* A jump from pc lands on pc + 1 + offset, which must be an instruction:
 * offsets are unsigned, so every jump goes forward and no program loops. */
static bool jump_lands(unsigned pc, uint32_t offset, unsigned nb_insns)
{
    return (uint64_t)pc + 1 + offset < nb_insns;
}

static const char *check_jmp_insn(const struct bpf_insn *insn, unsigned pc, unsigned nb_insns)
{
    if (insn->code == (BPF_JMP | BPF_JA))
        return jump_lands(pc, insn->k, nb_insns) ? NULL : "jump out of range";
    if (BPF_OP(insn->code) == BPF_JA || BPF_OP(insn->code) > BPF_JSET)
        return "unknown opcode";
    if (!jump_lands(pc, insn->jt, nb_insns) || !jump_lands(pc, insn->jf, nb_insns))
        return "jump out of range";
    return NULL;
}

static const char *check_insn(const struct bpf_insn *prog, unsigned pc, unsigned nb_insns)
{
    const struct bpf_insn *insn = &prog[pc];

    /* Classic BPF opcodes are 8 bits; anything above is someone else's. */
    if (insn->code > 0xff)
        return "unknown opcode";
    switch (BPF_CLASS(insn->code)) {
    case BPF_ALU:
        return check_alu_insn(insn);
    case BPF_JMP:
        return check_jmp_insn(insn, pc, nb_insns);
    default:
        return check_data_insn(insn);
    }
}

/* Writes "insn PC: REASON" into w and returns -PM_EINVAL. */
static int refuse_insn(struct why_buf *w, unsigned pc, const char *reason)
{
    why_puts(w, "insn ");
    why_putu(w, pc);
    why_puts(w, ": ");
    why_puts(w, reason);
    return -PM_EINVAL;
}

int bpf_validate(const struct bpf_insn *prog, unsigned nb_insns, char *why, size_t why_size)
{
    struct why_buf w = {why, why != NULL ? why_size : 0, 0};

    if (nb_insns == 0) {
        why_puts(&w, "empty program");
        return -PM_EINVAL;
    }
    if (nb_insns > BPF_MAX_INSNS) {
        why_puts(&w, "more than ");
        why_putu(&w, BPF_MAX_INSNS);
        why_puts(&w, " instructions");
        return -PM_ERANGE;
    }
    for (unsigned pc = 0; pc < nb_insns; pc++) {
        const char *reason = check_insn(prog, pc, nb_insns);
        if (reason != NULL)
            return refuse_insn(&w, pc, reason);
    }
    /* Jumps only go forward and stay inside, so every path reaches the last
     * instruction unless it returns first: a RET there ends them all. */
    if (BPF_CLASS(prog[nb_insns - 1].code) != BPF_RET)
        return refuse_insn(&w, nb_insns - 1, "last instruction is not a return");
    return 0;
}

/* --- running ------------------------------------------------------------- */

/* Big-endian loads at p; the caller has checked the bounds. */
static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t get_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

/*
 * One flat switch on the whole opcode: gcc makes it a single jump table, so
 * an instruction costs its dispatch and its own work, with A, X and the
 * bounds in registers (a capture runs the filter on every packet of a
 * watched port). The opcodes are exactly the validator's; `default` is
 * never reached by a validated program and rejects the packet.
 *
 * A packet load past buflen, and a division by X = 0, reject the packet
 * (return 0), as in Linux's classic BPF. A shift by X >= 32 gives 0.
 */
uint32_t bpf_run(const struct bpf_insn *prog, const uint8_t *pkt, uint32_t wirelen,
                 uint32_t buflen)
{
    uint32_t a = 0, x = 0, mem[BPF_NB_MEMWORDS] = { 0 };
    uint64_t off;

    for (const struct bpf_insn *insn = prog;; insn++) {
        uint32_t k = insn->k;

        switch (insn->code) {
        /* loads into A */
        case BPF_LD | BPF_W | BPF_ABS:
            off = k;
            goto load_w;
        case BPF_LD | BPF_W | BPF_IND:
            off = (uint64_t)x + k;
        load_w:
            if (off + 4 > buflen)
                return 0;
            a = get_be32(pkt + off);
            break;
        case BPF_LD | BPF_H | BPF_ABS:
            off = k;
            goto load_h;
        case BPF_LD | BPF_H | BPF_IND:
            off = (uint64_t)x + k;
        load_h:
            if (off + 2 > buflen)
                return 0;
            a = get_be16(pkt + off);
            break;
        case BPF_LD | BPF_B | BPF_ABS:
            off = k;
            goto load_b;
        case BPF_LD | BPF_B | BPF_IND:
            off = (uint64_t)x + k;
        load_b:
            if (off + 1 > buflen)
                return 0;
            a = pkt[off];
            break;
        case BPF_LD | BPF_W | BPF_IMM: a = k; break;
        case BPF_LD | BPF_W | BPF_MEM: a = mem[k]; break;
        case BPF_LD | BPF_W | BPF_LEN: a = wirelen; break;

        /* loads into X; MSH is 4 * (pkt[k] & 0xf), the IPv4 header length */
        case BPF_LDX | BPF_B | BPF_MSH:
            if ((uint64_t)k + 1 > buflen)
                return 0;
            x = (uint32_t)(pkt[k] & 0xf) << 2;
            break;
        case BPF_LDX | BPF_W | BPF_IMM: x = k; break;
        case BPF_LDX | BPF_W | BPF_MEM: x = mem[k]; break;
        case BPF_LDX | BPF_W | BPF_LEN: x = wirelen; break;

        /* stores and register moves */
        case BPF_ST: mem[k] = a; break;
        case BPF_STX: mem[k] = x; break;
        case BPF_MISC | BPF_TAX: x = a; break;
        case BPF_MISC | BPF_TXA: a = x; break;

        /* ALU with a constant (the validator refused k = 0 divisors and
         * shifts >= 32) and with X */
        case BPF_ALU | BPF_ADD | BPF_K: a += k; break;
        case BPF_ALU | BPF_SUB | BPF_K: a -= k; break;
        case BPF_ALU | BPF_MUL | BPF_K: a *= k; break;
        case BPF_ALU | BPF_DIV | BPF_K: a /= k; break;
        case BPF_ALU | BPF_MOD | BPF_K: a %= k; break;
        case BPF_ALU | BPF_OR | BPF_K: a |= k; break;
        case BPF_ALU | BPF_AND | BPF_K: a &= k; break;
        case BPF_ALU | BPF_XOR | BPF_K: a ^= k; break;
        case BPF_ALU | BPF_LSH | BPF_K: a <<= k; break;
        case BPF_ALU | BPF_RSH | BPF_K: a >>= k; break;
        case BPF_ALU | BPF_ADD | BPF_X: a += x; break;
        case BPF_ALU | BPF_SUB | BPF_X: a -= x; break;
        case BPF_ALU | BPF_MUL | BPF_X: a *= x; break;
        case BPF_ALU | BPF_DIV | BPF_X:
            if (x == 0)
                return 0;
            a /= x;
            break;
        case BPF_ALU | BPF_MOD | BPF_X:
            if (x == 0)
                return 0;
            a %= x;
            break;
        case BPF_ALU | BPF_OR | BPF_X: a |= x; break;
        case BPF_ALU | BPF_AND | BPF_X: a &= x; break;
        case BPF_ALU | BPF_XOR | BPF_X: a ^= x; break;
        case BPF_ALU | BPF_LSH | BPF_X: a = x < SHIFT_LIMIT ? a << x : 0; break;
        case BPF_ALU | BPF_RSH | BPF_X: a = x < SHIFT_LIMIT ? a >> x : 0; break;
        case BPF_ALU | BPF_NEG: a = 0u - a; break;

        /* jumps: forward only, inside the program (validated) */
        case BPF_JMP | BPF_JA: insn += k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: insn += a == k ? insn->jt : insn->jf; break;
        case BPF_JMP | BPF_JGT | BPF_K: insn += a > k ? insn->jt : insn->jf; break;
        case BPF_JMP | BPF_JGE | BPF_K: insn += a >= k ? insn->jt : insn->jf; break;
        case BPF_JMP | BPF_JSET | BPF_K: insn += (a & k) != 0 ? insn->jt : insn->jf; break;
        case BPF_JMP | BPF_JEQ | BPF_X: insn += a == x ? insn->jt : insn->jf; break;
        case BPF_JMP | BPF_JGT | BPF_X: insn += a > x ? insn->jt : insn->jf; break;
        case BPF_JMP | BPF_JGE | BPF_X: insn += a >= x ? insn->jt : insn->jf; break;
        case BPF_JMP | BPF_JSET | BPF_X: insn += (a & x) != 0 ? insn->jt : insn->jf; break;

        case BPF_RET | BPF_K: return k;
        case BPF_RET | BPF_A: return a;
        default:
            return 0;
        }
    }
}

/* --- HEX form ------------------------------------------------------------ */

/* Reads nb_digits hex digits at hex into *val; false on a non-digit. */
static bool parse_hex_field(const char *hex, unsigned nb_digits, uint32_t *val)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < nb_digits; i++) {
        int d = text_hex_digit(hex[i]);
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *val = v;
    return true;
}

static bool parse_hex_insn(const char *hex, struct bpf_insn *insn)
{
    uint32_t code, jt, jf, k;

    if (!parse_hex_field(hex, 4, &code) || !parse_hex_field(hex + 4, 2, &jt) ||
        !parse_hex_field(hex + 6, 2, &jf) || !parse_hex_field(hex + 8, 8, &k))
        return false;
    insn->code = (uint16_t)code;
    insn->jt = (uint8_t)jt;
    insn->jf = (uint8_t)jf;
    insn->k = k;
    return true;
}

int bpf_parse_hex(const char *hex, size_t len, struct bpf_insn *out, unsigned max_insns)
{
    size_t nb_insns = len / HEX_DIGITS_PER_INSN;

    if (len == 0 || len % HEX_DIGITS_PER_INSN != 0)
        return -PM_EINVAL;
    if (nb_insns > max_insns || nb_insns > BPF_MAX_INSNS)
        return -PM_ERANGE;
    for (size_t i = 0; i < nb_insns; i++) {
        if (!parse_hex_insn(hex + i * HEX_DIGITS_PER_INSN, &out[i]))
            return -PM_EINVAL;
    }
    return (int)nb_insns;
}
