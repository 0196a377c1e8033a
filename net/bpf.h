/*
 * Classic BPF: the filter language of tcpdump and libpcap, checked and run
 * over a packet (issue "Visibility"; net/capture.h carries programs to it).
 *
 * A program is what `tcpdump -dd EXPR` prints (or pcap_compile() returns on
 * a DLT_EN10MB handle): an array of struct bpf_insn, run with an accumulator
 * A, an index register X and 16 words of scratch memory, returning how many
 * bytes of the packet to keep (0 = drop it). The instruction set and its
 * semantics are those of the BSD bpf(4) man page and Linux's filter.txt.
 *
 * Nothing runs unchecked: bpf_validate() refuses anything bpf_run() could not
 * run safely (unknown opcode, a jump backwards or out of the program, scratch
 * memory out of range, a constant zero divisor, no RET at the end), so a
 * validated program always ends, after at most nb_insns steps.
 *
 * What the capture command carries is the HEX form, 16 hex digits per
 * instruction, the fields of struct bpf_insn in order, most significant digit
 * first (upper or lower case):
 *
 *   code  jt jf  k
 *   0028  00 00  0000000c      ldh [12]
 *   0015  00 01  00000800      jeq #0x800, jt +0, jf +1
 *   0006  00 00  0000ffff      ret #65535
 *   0006  00 00  00000000      ret #0
 *
 * (tcpdump -dd prints these same four fields as C initialisers.)
 *
 * Extension loads (Linux's SKF_AD_* offsets such as `ldb [vlanp]`, which a
 * live Linux pcap handle emits) are not part of classic BPF and are not
 * special here: they are plain loads far beyond any packet, so they reject.
 */
#ifndef PKTMETAL_NET_BPF_H
#define PKTMETAL_NET_BPF_H

#include <stddef.h>
#include <stdint.h>

#define BPF_MAX_INSNS 512   /* longest program bpf_validate accepts */
#define BPF_NB_MEMWORDS 16  /* scratch memory words, M[0..15] */

/* One instruction; the layout of BSD's struct bpf_insn and Linux's struct
 * sock_filter, so `tcpdump -dd` output can be pasted into an array of it. */
struct bpf_insn {
    uint16_t code;  /* opcode: class | size/op | mode/source */
    uint8_t jt;     /* conditional jumps: insns to skip when true */
    uint8_t jf;     /* ... and when false */
    uint32_t k;     /* constant operand: offset, immediate, jump, index */
};
_Static_assert(sizeof(struct bpf_insn) == 8, "struct bpf_insn is 8 bytes like sock_filter");

/* Checks a program before it may run: 1..BPF_MAX_INSNS instructions, every
 * opcode one classic BPF defines, jumps forward and inside the program,
 * scratch indexes < BPF_NB_MEMWORDS, no division or modulo by a constant
 * zero, no shift by a constant >= 32, and a RET as the last instruction
 * (with forward-only jumps that makes every path end in a RET).
 *
 * Returns 0, -PM_ERANGE for more than BPF_MAX_INSNS instructions or
 * -PM_EINVAL for anything else wrong (an empty program included); on error
 * writes a short reason into why (when why_size > 0), such as
 * "insn 3: jump out of range". */
int bpf_validate(const struct bpf_insn *prog, unsigned nb_insns, char *why, size_t why_size);

/* Runs a program bpf_validate accepted over a packet of wirelen bytes of
 * which the first buflen are at pkt, like bpf_filter(3). Returns the RET
 * value: the snap length, 0 meaning reject. As in libpcap, a load beyond
 * buflen rejects (returns 0), and so does dividing by X == 0 at run time. A,
 * X and scratch memory start at 0. A shift by X >= 32 gives 0. */
uint32_t bpf_run(const struct bpf_insn *prog, const uint8_t *pkt, uint32_t wirelen,
                 uint32_t buflen);

/* Parses the HEX form above (len characters at hex, no separators) into out.
 * Returns the number of instructions, or -PM_EINVAL when len is 0 or not a
 * multiple of 16 or a character is not a hex digit, or -PM_ERANGE when there
 * are more than max_insns (or BPF_MAX_INSNS) instructions. On error out may
 * hold part of the program. */
int bpf_parse_hex(const char *hex, size_t len, struct bpf_insn *out, unsigned max_insns);

#endif
