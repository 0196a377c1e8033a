/*
 * Tests for net/csum.c: the RFC 1071 sum and its byte-order, alignment and
 * odd-length handling; IPv4 header checksums against a captured header;
 * UDP/TCP/ICMPv6 checksums against vectors computed outside this code (by a
 * separate script) and against the straightforward reference below; and
 * RFC 1624 incremental updates against full recomputation, including the
 * 0x0000/0xffff boundary case of RFC 1624 section 3.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "net/csum.h"
#include "net/proto.h"

/* RFC 1071 section 3, the numerical example. */
static const uint8_t rfc1071_bytes[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

/* A captured IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199), checksum b861. */
static const uint8_t captured_ipv4[20] = {
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
    0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
};

/* The reference: RFC 1071 read literally, one big-endian word at a time,
 * end-around carry after every addition. Returns the checksum, host order. */
static uint16_t ref_checksum(const uint8_t *bytes, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i += 2) {
        uint32_t word = (uint32_t)bytes[i] << 8;
        if (i + 1 < len)
            word |= bytes[i + 1];
        sum += word;
        if (sum > 0xffff)
            sum -= 0xffff;
    }
    return (uint16_t)(~sum & 0xffff);
}

/* xorshift32: the same sequence on every libc. */
static uint32_t rng_state;
static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void fill_random(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rng_next();
}

/* ---- the sum ------------------------------------------------------------ */

Test(csum, rfc1071_example_sums_to_ddf2_and_checksums_to_220d)
{
    cr_assert_eq(csum_partial(rfc1071_bytes, 8, 0), 0xddf2);
    cr_assert_eq(pm_ntohs(csum_fold(csum_partial(rfc1071_bytes, 8, 0))), 0x220d);
}

Test(csum, odd_start_address_gives_the_same_sum)
{
    uint8_t buf[16];
    for (size_t shift = 0; shift < 8; shift++) {
        memset(buf, 0xee, sizeof(buf));
        memcpy(buf + shift, rfc1071_bytes, 8);
        cr_assert_eq(csum_partial(buf + shift, 8, 0), 0xddf2, "start offset %zu", shift);
    }
}

Test(csum, odd_length_pads_the_last_byte_as_the_high_half_of_a_word)
{
    /* 0x0001 + 0xf203 + 0xf400 */
    cr_assert_eq(csum_partial(rfc1071_bytes, 5, 0), (0x0001 + 0xf203 + 0xf400) % 0xffff);
    cr_assert_eq(csum_partial(rfc1071_bytes, 1, 0), 0x0000);
    cr_assert_eq(csum_partial(rfc1071_bytes + 2, 1, 0), 0xf200);
}

Test(csum, empty_data_returns_the_initial_sum)
{
    cr_assert_eq(csum_partial(rfc1071_bytes, 0, 0), 0);
    cr_assert_eq(csum_partial(rfc1071_bytes, 0, 0x1234), 0x1234);
}

Test(csum, chained_even_pieces_equal_one_sum)
{
    uint8_t buf[64];
    rng_state = 1;
    fill_random(buf, sizeof(buf));
    uint32_t whole = csum_partial(buf, 63, 0);
    for (size_t split = 0; split <= 62; split += 2) {
        uint32_t first = csum_partial(buf, split, 0);
        cr_assert_eq(csum_partial(buf + split, 63 - split, first), whole, "split at %zu", split);
    }
}

Test(csum, every_length_and_alignment_matches_the_reference)
{
    uint8_t buf[300];
    rng_state = 7;
    fill_random(buf, sizeof(buf));
    for (size_t start = 0; start < 8; start++)
        for (size_t len = 0; len <= 290; len++)
            cr_assert_eq(pm_ntohs(csum_fold(csum_partial(buf + start, len, 0))),
                         ref_checksum(buf + start, len), "start %zu len %zu", start, len);
}

Test(csum, all_ones_data_carries_around_to_ffff)
{
    uint8_t buf[4096];
    memset(buf, 0xff, sizeof(buf));
    cr_assert_eq(csum_partial(buf, sizeof(buf), 0), 0xffff);
    cr_assert_eq(csum_fold(0xffff), 0);
    cr_assert_eq(csum_fold(0x1fffe), 0);        /* 0xfffe + carry 1 */
}

/* ---- IPv4 header -------------------------------------------------------- */

Test(csum, captured_ipv4_header_checksum_is_b861)
{
    uint8_t hdr[20];
    memcpy(hdr, captured_ipv4, 20);
    hdr[10] = hdr[11] = 0;
    uint16_t csum = csum_ipv4_header(hdr, 20);
    memcpy(hdr + 10, &csum, 2);                 /* network order as returned */
    cr_assert_arr_eq(hdr, captured_ipv4, 20);
}

Test(csum, captured_ipv4_header_verifies_and_a_flipped_bit_does_not)
{
    uint8_t hdr[20];
    cr_assert(csum_ipv4_header_ok(captured_ipv4, 20));
    for (int bit = 0; bit < 160; bit++) {
        memcpy(hdr, captured_ipv4, 20);
        hdr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert(!csum_ipv4_header_ok(hdr, 20), "bit %d flipped", bit);
    }
}

Test(csum, all_zero_header_does_not_verify)
{
    uint8_t hdr[20] = { 0 };
    cr_assert(!csum_ipv4_header_ok(hdr, 20));
    cr_assert(!csum_ipv4_header20_ok(hdr));
}

/* The one-pass check (a multiple of 0xffff) against the folding one, on
 * random headers at odd addresses: sealed, with one bit flipped, and with
 * random bytes in the checksum field. */
Test(csum, header20_check_agrees_with_the_folding_one)
{
    uint8_t buf[1 + 20];
    uint8_t *hdr = buf + 1;
    unsigned nb_ok = 0;

    srand(1071);
    for (int i = 0; i < 20000; i++) {
        for (int k = 0; k < 20; k++)
            hdr[k] = (uint8_t)rand();
        if (i % 2 == 0) {
            hdr[10] = hdr[11] = 0;
            uint16_t csum = csum_ipv4_header(hdr, 20);
            memcpy(hdr + 10, &csum, 2);
            if (i % 4 == 0)
                hdr[rand() % 20] ^= (uint8_t)(1u << (rand() % 8));
        }
        cr_assert_eq(csum_ipv4_header20_ok(hdr), csum_ipv4_header_ok(hdr, 20) != 0, "case %d", i);
        nb_ok += csum_ipv4_header20_ok(hdr);
    }
    cr_assert_geq(nb_ok, 5000, "the sealed headers verify");
    cr_assert(csum_ipv4_header20_ok(captured_ipv4));
}

Test(csum, ipv4_header_with_options_at_odd_address)
{
    uint8_t buf[1 + 24];
    uint8_t *hdr = buf + 1;
    memcpy(hdr, captured_ipv4, 20);
    hdr[0] = 0x46;
    hdr[20] = 0x94; hdr[21] = 0x04; hdr[22] = 0; hdr[23] = 0;   /* router alert */
    hdr[10] = hdr[11] = 0;
    uint16_t csum = csum_ipv4_header(hdr, 24);
    cr_assert_eq(pm_ntohs(csum), ref_checksum(hdr, 24));
    memcpy(hdr + 10, &csum, 2);
    cr_assert(csum_ipv4_header_ok(hdr, 24));
}

/* ---- L4 with pseudo-headers -------------------------------------------- */

static uint32_t ipv4_be(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return pm_htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

/* Reference over IPv4: pseudo-header and segment laid out in one buffer. */
static uint16_t ref_l4_ipv4(uint32_t src_be, uint32_t dst_be, uint8_t proto,
                            const uint8_t *l4, size_t len)
{
    uint8_t *buf = malloc(12 + len);
    memcpy(buf, &src_be, 4);
    memcpy(buf + 4, &dst_be, 4);
    buf[8] = 0;
    buf[9] = proto;
    buf[10] = (uint8_t)(len >> 8);
    buf[11] = (uint8_t)len;
    memcpy(buf + 12, l4, len);
    uint16_t csum = ref_checksum(buf, 12 + len);
    free(buf);
    return csum;
}

static uint16_t ref_l4_ipv6(const uint8_t src[16], const uint8_t dst[16], uint8_t next,
                            const uint8_t *l4, size_t len)
{
    uint8_t *buf = malloc(40 + len);
    memcpy(buf, src, 16);
    memcpy(buf + 16, dst, 16);
    buf[32] = (uint8_t)(len >> 24);
    buf[33] = (uint8_t)(len >> 16);
    buf[34] = (uint8_t)(len >> 8);
    buf[35] = (uint8_t)len;
    buf[36] = buf[37] = buf[38] = 0;
    buf[39] = next;
    memcpy(buf + 40, l4, len);
    uint16_t csum = ref_checksum(buf, 40 + len);
    free(buf);
    return csum;
}

Test(csum, udp_over_ipv4_matches_an_externally_computed_vector)
{
    /* 192.168.0.1:1234 -> 192.168.0.199:53, "hello": checksum 0x34e2. */
    const uint8_t udp[13] = { 0x04, 0xd2, 0x00, 0x35, 0x00, 0x0d, 0x00, 0x00,
                              'h', 'e', 'l', 'l', 'o' };
    uint16_t csum = csum_l4_ipv4(ipv4_be(192, 168, 0, 1), ipv4_be(192, 168, 0, 199),
                                 IPPROTO_UDP_, udp, sizeof(udp));
    cr_assert_eq(pm_ntohs(csum), 0x34e2);
}

Test(csum, udp_and_tcp_over_ipv4_match_the_reference_for_random_segments)
{
    uint8_t seg[1501];
    rng_state = 99;
    for (int i = 0; i < 500; i++) {
        size_t len = 8 + rng_next() % (sizeof(seg) - 8);
        size_t start = rng_next() % 2;          /* odd addresses too */
        uint8_t proto = (i & 1) ? IPPROTO_UDP_ : IPPROTO_TCP_;
        uint32_t src = rng_next(), dst = rng_next();
        fill_random(seg + start, len - start);
        uint16_t got = pm_ntohs(csum_l4_ipv4(src, dst, proto, seg + start, len - start));
        uint16_t want = ref_l4_ipv4(src, dst, proto, seg + start, len - start);
        if (proto == IPPROTO_UDP_ && want == 0)
            want = 0xffff;
        cr_assert_eq(got, want, "case %d len %zu", i, len - start);
    }
}

Test(csum, icmpv6_matches_an_externally_computed_vector)
{
    /* echo request fe80::1 -> ff02::1, id 0x1234 seq 1, "ping": 0x912d. */
    uint8_t src[16] = { 0xfe, 0x80 }, dst[16] = { 0xff, 0x02 };
    src[15] = 1;
    dst[15] = 1;
    const uint8_t icmp[12] = { 128, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, 'p', 'i', 'n', 'g' };
    cr_assert_eq(pm_ntohs(csum_l4_ipv6(src, dst, IPPROTO_ICMPV6_, icmp, sizeof(icmp))), 0x912d);
}

Test(csum, udp_over_ipv6_matches_the_reference_for_random_segments)
{
    uint8_t seg[1200], src[16], dst[16];
    rng_state = 1234;
    for (int i = 0; i < 200; i++) {
        size_t len = 8 + rng_next() % (sizeof(seg) - 8);
        fill_random(src, 16);
        fill_random(dst, 16);
        fill_random(seg, len);
        uint16_t want = ref_l4_ipv6(src, dst, IPPROTO_UDP_, seg, len);
        if (want == 0)
            want = 0xffff;
        cr_assert_eq(pm_ntohs(csum_l4_ipv6(src, dst, IPPROTO_UDP_, seg, len)), want);
    }
}

/* Sets the last two payload bytes so the segment sums to -0, which makes
 * the computed checksum zero. */
static void make_zero_checksum(uint32_t src, uint32_t dst, uint8_t proto, uint8_t *seg, size_t len)
{
    seg[len - 2] = seg[len - 1] = 0;
    uint16_t c = ref_l4_ipv4(src, dst, proto, seg, len);
    seg[len - 2] = (uint8_t)(c >> 8);
    seg[len - 1] = (uint8_t)c;
}

Test(csum, udp_sends_a_computed_zero_as_ffff_tcp_keeps_it)
{
    uint8_t seg[24];
    uint32_t src = ipv4_be(10, 0, 0, 1), dst = ipv4_be(10, 0, 0, 2);
    rng_state = 5;
    fill_random(seg, sizeof(seg));
    seg[6] = seg[7] = 0;                        /* the csum field, UDP layout */
    make_zero_checksum(src, dst, IPPROTO_UDP_, seg, sizeof(seg));
    cr_assert_eq(csum_l4_ipv4(src, dst, IPPROTO_UDP_, seg, sizeof(seg)), 0xffff);
    make_zero_checksum(src, dst, IPPROTO_TCP_, seg, sizeof(seg));
    cr_assert_eq(csum_l4_ipv4(src, dst, IPPROTO_TCP_, seg, sizeof(seg)), 0x0000);
}

Test(csum, icmp_without_pseudo_header_verifies_to_zero)
{
    uint8_t icmp[12] = { ICMP_ECHO_REQUEST, 0, 0, 0, 0xab, 0xcd, 0, 7, 'a', 'b', 'c' };
    uint16_t csum = csum_fold(csum_partial(icmp, 11, 0));
    cr_assert_eq(pm_ntohs(csum), ref_checksum(icmp, 11));
    memcpy(icmp + 2, &csum, 2);
    cr_assert_eq(csum_fold(csum_partial(icmp, 11, 0)), 0);
}

/* ---- RFC 1624 incremental update --------------------------------------- */

Test(csum, rfc1624_example_gives_0000_where_rfc1141_gave_ffff)
{
    /* Section 4: other octets sum to 0xcd7a, m 0x5555 -> 0x3285. */
    uint16_t hc = csum_update16(pm_htons(0xdd2f), pm_htons(0x5555), pm_htons(0x3285));
    cr_assert_eq(pm_ntohs(hc), 0x0000);
}

Test(csum, unchanged_field_leaves_a_0000_checksum_alone)
{
    /* The case RFC 1624 erratum 4782 worried about: with 16-bit
     * complements and end-around carry, ~0 + ~m + m folds to 0xffff. */
    cr_assert_eq(csum_update16(0x0000, pm_htons(0x5555), pm_htons(0x5555)), 0x0000);
    cr_assert_eq(csum_update32(0x0000, 0x12345678, 0x12345678), 0x0000);
}

/* Stores a valid checksum into hdr. */
static void seal_ipv4_header(uint8_t hdr[20])
{
    hdr[10] = hdr[11] = 0;
    uint16_t csum = csum_ipv4_header(hdr, 20);
    memcpy(hdr + 10, &csum, 2);
}

static void random_ipv4_header(uint8_t hdr[20])
{
    fill_random(hdr, 20);
    hdr[0] = 0x45;
    seal_ipv4_header(hdr);
}

static void expect_checksum_recomputes(uint8_t hdr[20], uint16_t updated, int i)
{
    hdr[10] = hdr[11] = 0;
    uint16_t full = csum_ipv4_header(hdr, 20);
    cr_assert_eq(updated, full, "case %d: incremental %04x, recomputed %04x", i,
                 pm_ntohs(updated), pm_ntohs(full));
}

Test(csum, ttl_decrement_update_equals_recompute_10000_random_headers)
{
    uint8_t hdr[20];
    rng_state = 0x1624;
    for (int i = 0; i < 10000; i++) {
        fill_random(hdr, 20);
        hdr[0] = 0x45;
        hdr[8] = (uint8_t)(1 + rng_next() % 255);   /* a TTL a router decrements */
        seal_ipv4_header(hdr);
        uint16_t old_word, new_word, csum;
        memcpy(&old_word, hdr + 8, 2);          /* TTL and protocol share a word */
        hdr[8]--;
        memcpy(&new_word, hdr + 8, 2);
        memcpy(&csum, hdr + 10, 2);
        expect_checksum_recomputes(hdr, csum_update16(csum, old_word, new_word), i);
    }
}

/* csum_ttl_decrement, the router's shortcut, on every checksum value
 * (so on the one where RFC 1141's update gives 0xffff: eqn. 3's 0x0000). */
Test(csum, ttl_decrement_shortcut_equals_the_general_update_for_every_checksum)
{
    for (uint32_t c = 0; c <= 0xffff; c++) {
        uint16_t csum = (uint16_t)c;
        uint16_t want = csum_update16(csum, pm_htons(0x4011), pm_htons(0x3f11));
        cr_assert_eq(csum_ttl_decrement(csum), want, "checksum %04x", pm_ntohs(csum));
    }
    uint8_t hdr[20];
    rng_state = 0x1812;
    for (int i = 0; i < 10000; i++) {
        fill_random(hdr, 20);
        hdr[0] = 0x45;
        hdr[8] = (uint8_t)(1 + rng_next() % 255);
        seal_ipv4_header(hdr);
        uint16_t csum;
        memcpy(&csum, hdr + 10, 2);
        hdr[8]--;
        expect_checksum_recomputes(hdr, csum_ttl_decrement(csum), i);
    }
}

Test(csum, random_16bit_field_update_equals_recompute_10000_cases)
{
    uint8_t hdr[20];
    rng_state = 0xbeef;
    for (int i = 0; i < 10000; i++) {
        random_ipv4_header(hdr);
        size_t word = rng_next() % 9;
        size_t off = (word >= 5 ? word + 1 : word) * 2;     /* any word but the checksum */
        uint16_t old_word, new_word = (uint16_t)rng_next(), csum;
        memcpy(&old_word, hdr + off, 2);
        memcpy(hdr + off, &new_word, 2);
        memcpy(&csum, hdr + 10, 2);
        expect_checksum_recomputes(hdr, csum_update16(csum, old_word, new_word), i);
    }
}

Test(csum, random_32bit_field_update_equals_recompute_10000_cases)
{
    static const size_t offs[] = { 0, 2, 4, 6, 12, 14, 16 };   /* clear of bytes 10-11 */
    uint8_t hdr[20];
    rng_state = 0xfeed;
    for (int i = 0; i < 10000; i++) {
        random_ipv4_header(hdr);
        size_t off = offs[rng_next() % 7];
        uint32_t old_val, new_val = rng_next();
        uint16_t csum;
        memcpy(&old_val, hdr + off, 4);
        memcpy(hdr + off, &new_val, 4);
        memcpy(&csum, hdr + 10, 2);
        expect_checksum_recomputes(hdr, csum_update32(csum, old_val, new_val), i);
    }
}

Test(csum, address_rewrite_updates_a_tcp_checksum_through_the_pseudo_header)
{
    uint8_t seg[40];
    rng_state = 0xcafe;
    for (int i = 0; i < 10000; i++) {
        size_t len = 20 + rng_next() % 21;
        uint32_t src = rng_next(), dst = rng_next(), new_src = rng_next();
        fill_random(seg, len);
        seg[16] = seg[17] = 0;
        uint16_t csum = csum_l4_ipv4(src, dst, IPPROTO_TCP_, seg, len);
        uint16_t updated = csum_update32(csum, src, new_src);
        cr_assert_eq(updated, csum_l4_ipv4(new_src, dst, IPPROTO_TCP_, seg, len), "case %d", i);
    }
}
