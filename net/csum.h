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

/* csum_ipv4_header_ok for a 20-byte header, in one pass of five 32-bit
 * loads. The folded one's-complement sum is 0xffff exactly when the plain
 * sum is a non-zero multiple of 0xffff: 2^16 and 2^32 are 1 modulo 0xffff,
 * so folding (of 16-bit or 32-bit words, in either byte order, RFC 1071
 * 2(B)) keeps the value modulo 0xffff, and only 0 and multiples of 0xffff
 * fold to 0 or 0xffff. A header of zeros sums to 0 and does not verify. */
static inline bool csum_ipv4_header20_ok(const void *ip_hdr)
{
    const struct csum_unaligned32 *w = ip_hdr;
    uint64_t sum = (uint64_t)w[0].v + w[1].v + w[2].v + w[3].v + w[4].v;

    return sum != 0 && sum * CSUM_FFFF_INVERSE <= CSUM_FFFF_MAX_QUOTIENT;
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
 * ~m + m' is 0xfeff whatever m was. Two 16-bit terms: one fold. */
static inline uint16_t csum_ttl_decrement(uint16_t csum_be)
{
    uint32_t sum = (0xffffu ^ csum_be) + pm_htons(0xfeff);

    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

#endif
