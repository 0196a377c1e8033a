/*
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * A sum is kept the way RFC 1071 writes it: the one's-complement sum of the
 * data read as big-endian 16-bit words, so the RFC's example bytes
 * 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2. csum_partial() returns that value
 * folded to 16 bits; csum_fold() inverts it and returns the checksum in
 * network order, ready to store through a packed header struct.
 *
 * The loop loads 32 bits at a time in the CPU's own byte order and swaps
 * once at the end: one's-complement addition commutes with swapping the two
 * bytes of every word (RFC 1071, 2(B)), so a little-endian CPU gets the
 * byte-swapped sum and one swap of the folded result fixes it. Loads go
 * through a packed struct, so any start address, odd included, is fine;
 * words are always paired from the start of the data, never from an
 * alignment boundary. An odd last byte is the high half of a word whose low
 * half is zero. Chained sums (`initial`) must therefore split the data at
 * even lengths.
 *
 * Pseudo-headers, summed but never sent:
 *
 *   IPv4 (RFC 768; RFC 9293, 3.1)          IPv6 (RFC 8200, 8.1)
 *   +--------+--------+-----------------+  +----------------------------+
 *   |          source address           |  | source address (16 bytes)  |
 *   |        destination address        |  | destination address (16)   |
 *   |  zero  | proto  | L4 length       |  | upper-layer length (32)    |
 *   +--------+--------+-----------------+  | zero (24)     | next header|
 *                                          +----------------------------+
 *
 * Zero has two forms in one's complement, 0x0000 and 0xffff (RFC 1624,
 * section 3). The sum of data that is not all zeros never folds to 0x0000,
 * so a computed checksum is never 0xffff. RFC 1141's update HC + m + ~m'
 * can yield 0xffff where recomputing yields 0x0000; eqn. 3,
 * ~(~HC + ~m + m'), cannot, because ~HC is never zero for a checksum
 * computed from real data. csum_update16/32 use eqn. 3, with the
 * complements limited to 16 bits (xor 0xffff) as they must be in wider
 * integers.
 */
#include "net/csum.h"
#include "net/proto.h"

struct unaligned16 { uint16_t v; } __attribute__((packed));
struct unaligned32 { uint32_t v; } __attribute__((packed));

/* End-around carry until the sum fits in 16 bits. A non-zero sum never
 * folds to zero: 0x10000 folds to 1, 0xffff stays 0xffff. */
static uint32_t fold16(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint32_t)sum;
}

/* Sum in the CPU's byte order. 32-bit loads into a 64-bit accumulator
 * cannot overflow for any length below 16 GiB. */
static uint64_t sum_native(const uint8_t *p, size_t len)
{
    uint64_t sum = 0;

    for (; len >= 4; p += 4, len -= 4)
        sum += ((const struct unaligned32 *)p)->v;
    if (len >= 2) {
        sum += ((const struct unaligned16 *)p)->v;
        p += 2;
        len -= 2;
    }
    if (len) {
        /* The odd byte is a word's first (most significant) byte. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        sum += p[0];
#else
        sum += (uint32_t)p[0] << 8;
#endif
    }
    return sum;
}

uint32_t csum_partial(const void *data, size_t len, uint32_t initial)
{
    uint32_t sum = fold16(sum_native(data, len));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    sum = pm_ntohs((uint16_t)sum);
#endif
    return fold16((uint64_t)sum + initial);
}

uint16_t csum_fold(uint32_t sum)
{
    return pm_htons((uint16_t)(0xffff ^ fold16(sum)));
}

uint16_t csum_ipv4_header(const void *ip_hdr, size_t hdr_len)
{
    return csum_fold(csum_partial(ip_hdr, hdr_len, 0));
}

int csum_ipv4_header_ok(const void *ip_hdr, size_t hdr_len)
{
    /* The stored checksum makes the whole header sum to -0 (RFC 1071, 1(3)). */
    return csum_partial(ip_hdr, hdr_len, 0) == 0xffff;
}

/* A 32-bit quantity as two big-endian words. */
static uint32_t sum_u32(uint32_t v)
{
    return (v >> 16) + (v & 0xffff);
}

/* RFC 768: a computed UDP checksum of zero is sent as all ones, because a
 * zero field means "no checksum". Both are -0, so receivers verify either;
 * only UDP gives the zero field a meaning. */
static uint16_t l4_finish(uint32_t sum, uint8_t proto)
{
    uint16_t csum = csum_fold(sum);
    if (proto == IPPROTO_UDP_ && csum == 0)
        csum = 0xffff;
    return csum;
}

uint16_t csum_l4_ipv4(uint32_t src_be, uint32_t dst_be, uint8_t proto,
                      const void *l4, size_t l4_len)
{
    uint32_t pseudo = sum_u32(pm_ntohl(src_be)) + sum_u32(pm_ntohl(dst_be)) +
                      proto + sum_u32((uint32_t)l4_len);
    return l4_finish(csum_partial(l4, l4_len, pseudo), proto);
}

uint16_t csum_l4_ipv6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_hdr,
                      const void *l4, size_t l4_len)
{
    uint32_t pseudo = csum_partial(src, 16, 0);
    pseudo = csum_partial(dst, 16, pseudo);
    pseudo += next_hdr + sum_u32((uint32_t)l4_len);
    return l4_finish(csum_partial(l4, l4_len, pseudo), next_hdr);
}

/* Eqn. 3: start from ~HC, then add ~m and m' for every 16-bit word that
 * changed (two here; one in csum_update16, inline in csum.h). A UDP
 * checksum needs two things from its caller: a zero field (IPv4: no
 * checksum) is left alone, and a result of 0x0000 is stored as 0xffff
 * (RFC 768). */
uint16_t csum_update32(uint16_t csum_be, uint32_t old_be, uint32_t new_be)
{
    uint32_t old = pm_ntohl(old_be), new = pm_ntohl(new_be);
    uint32_t sum = (0xffffu ^ pm_ntohs(csum_be)) + sum_u32(~old) + sum_u32(new);
    return csum_fold(sum);
}
