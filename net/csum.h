/*
 * Internet checksums (RFC 1071): IPv4 header, UDP/TCP/ICMP with the IPv4 or
 * IPv6 pseudo-header, ICMP without one, and the incremental update of RFC
 * 1624 (eqn. 3) for a router's TTL decrement and NAT-style rewrites.
 * Results are in network byte order, ready to store in the header.
 */
#ifndef PKTMETAL_NET_CSUM_H
#define PKTMETAL_NET_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/proto.h"

/* One's-complement sum of len bytes, folded to 16 bits, not inverted;
 * `initial` lets sums be chained. */
uint32_t csum_partial(const void *data, size_t len, uint32_t initial);
uint16_t csum_fold(uint32_t sum);                   /* ~fold(sum), network order */

uint16_t csum_ipv4_header(const void *ip_hdr, size_t hdr_len);   /* csum field must be 0 */
/* UDP/TCP/ICMPv6 over IPv4 or IPv6: l4 points at the L4 header (its csum
 * field set to 0), l4_len bytes of header + payload. */
uint16_t csum_l4_ipv4(uint32_t src_be, uint32_t dst_be, uint8_t proto,
                      const void *l4, size_t l4_len);
uint16_t csum_l4_ipv6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_hdr,
                      const void *l4, size_t l4_len);
/* True when a received header/segment's checksum verifies. */
int csum_ipv4_header_ok(const void *ip_hdr, size_t hdr_len);

uint16_t csum_update32(uint16_t csum_be, uint32_t old_be, uint32_t new_be);

/* ---- inline, for the forwarding path ------------------------------------ */

struct csum_unaligned32 { uint32_t v; } __attribute__((packed));

/* 0xffff's inverse modulo 2^64 (Newton's iteration from x = 0xffff, right
 * in the low 3 bits, doubling them each step) and the largest quotient of
 * a 64-bit value by 0xffff: x is a multiple of 0xffff exactly when
 * x * inverse <= that (Granlund & Montgomery, PLDI 1994, section 9). */
#define CSUM_NEWTON_STEP(x) ((x) * (2 - 0xffffull * (x)))
#define CSUM_FFFF_INVERSE \
    CSUM_NEWTON_STEP(CSUM_NEWTON_STEP(CSUM_NEWTON_STEP(CSUM_NEWTON_STEP(CSUM_NEWTON_STEP(0xffffull)))))
#define CSUM_FFFF_MAX_QUOTIENT (UINT64_MAX / 0xffff)
_Static_assert(0xffffull * CSUM_FFFF_INVERSE == 1, "an inverse modulo 2^64");

/* A 20-byte IPv4 header as three loads: bytes 0-7 (version/IHL, TOS,
 * total length, id, flags/offset), 8-15 (TTL, protocol, checksum, source)
 * and 16-19 (destination), in the CPU's little-endian order. A fast path
 * checks the header and reads its fields from these, one load each. */
struct ipv4_words {
    uint64_t w0, w1;
    uint32_t w2;
};

static inline struct ipv4_words ipv4_words_load(const void *ip_hdr)
{
    const uint8_t *p = ip_hdr;
    struct ipv4_words w;

    __builtin_memcpy(&w.w0, p, sizeof(w.w0));
    __builtin_memcpy(&w.w1, p + 8, sizeof(w.w1));
    __builtin_memcpy(&w.w2, p + 16, sizeof(w.w2));
    return w;
}

/* Whether the header held in w verifies, for a header that is not all
 * zeros. Its one's-complement sum is taken over 64-bit words with the carry
 * added back in (a sum modulo 2^64 - 1, which 0xffff divides), and the
 * folded 16-bit sum is 0xffff exactly when that sum is a non-zero multiple
 * of 0xffff: 2^16 is 1 modulo 0xffff, so folding (of words of any width,
 * in either byte order, RFC 1071 2(B)) keeps the value modulo 0xffff, and
 * only 0 and multiples of 0xffff fold to 0 or 0xffff. An end-around sum of
 * values not all zero is never 0. */
static inline bool csum_ipv4_words_ok(struct ipv4_words w)
{
    uint64_t sum, carry;

    carry = __builtin_add_overflow(w.w0, w.w1, &sum);
    carry = __builtin_add_overflow(sum, w.w2 + carry, &sum);
    sum += carry;
    return sum * CSUM_FFFF_INVERSE <= CSUM_FFFF_MAX_QUOTIENT;
}

/* csum_ipv4_header_ok for a 20-byte header, in one pass of three loads. A
 * header of zeros sums to 0 and does not verify. */
static inline bool csum_ipv4_header20_ok(const void *ip_hdr)
{
    struct ipv4_words w = ipv4_words_load(ip_hdr);

    return (w.w0 | w.w1 | w.w2) != 0 && csum_ipv4_words_ok(w);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field changing from
 * old_be to new_be (all network order). One's-complement sums commute with
 * swapping the bytes of every word, so this works on the values as stored
 * and the result comes out in the same order. Two folds: the sum of three
 * 16-bit values is below 2^18. */
static inline uint16_t csum_update16(uint16_t csum_be, uint16_t old_be, uint16_t new_be)
{
    uint32_t sum = (0xffffu ^ csum_be) + (0xffffu ^ old_be) + new_be;

    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* csum_update16 for a router's TTL decrement (RFC 1812 5.3.1): TTL is the
 * high byte of the TTL/protocol word, so the word goes down by 0x0100 and
 * eqn. 3 comes to HC' = HC + 0x0100 in one's-complement arithmetic: add,
 * and add the carry back in. A sum of exactly 0xffff stands for the same
 * value as 0 and is written as 0, which is what eqn. 3 gives (it never
 * yields 0xffff here: that would take ~HC + 0xfeff to fold to 0). Either
 * byte order works (RFC 1071 2(B)), so this adds 0x0100 in network order
 * to the value as stored. */
static inline uint16_t csum_ttl_decrement(uint16_t csum_be)
{
    uint32_t sum = (uint32_t)csum_be + pm_htons(0x0100);

    /* sum is at most 0xffff + 0x0100: sum >= 0xffff exactly when sum + 1
     * reaches bit 16 */
    return (uint16_t)(sum + ((sum + 1) >> 16));
}

#endif
