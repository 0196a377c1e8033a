/*
 * Tests for net/parse.c (and the drop reason names of net/drop.c).
 *
 * Frames are assembled by the small builder below, header by header, and
 * sealed (IPv4 total length and checksum, IPv6 payload length) once the
 * payload is in place; a malformation is applied after sealing, and the
 * checksum resealed when the test is about something other than it.
 *
 * Every valid frame is parsed from a heap copy of exactly its length, so
 * AddressSanitizer reports any read past the end, and then parsed again
 * truncated at every byte offset: each cut must earn the reason parse.c's
 * header comment promises (RUNT while a fixed L2/L3 header is cut, BAD_IHL
 * inside IPv4 options, BAD_IP_LEN once the IP header is whole).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "net/csum.h"
#include "net/drop.h"
#include "net/parse.h"

/* ---- frame builder ----------------------------------------------------- */

struct frame {
    uint8_t bytes[512];
    uint16_t len;
    uint16_t ip_off;            /* where put_ipv4/put_ipv6 started */
    uint16_t l4_off;            /* where the last L4 header started */
};

static void put8(struct frame *f, uint8_t v) { f->bytes[f->len++] = v; }

static void put16(struct frame *f, uint16_t v)
{
    put8(f, (uint8_t)(v >> 8));
    put8(f, (uint8_t)v);
}

static void put32(struct frame *f, uint32_t v)
{
    put16(f, (uint16_t)(v >> 16));
    put16(f, (uint16_t)v);
}

static void put_fill(struct frame *f, size_t n, uint8_t v)
{
    while (n--)
        put8(f, v);
}

static void set16(struct frame *f, size_t off, uint16_t v)
{
    f->bytes[off] = (uint8_t)(v >> 8);
    f->bytes[off + 1] = (uint8_t)v;
}

static void put_eth(struct frame *f, uint16_t type)
{
    static const uint8_t dst[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < 6; i++)
        put8(f, dst[i]);
    for (int i = 0; i < 6; i++)
        put8(f, src[i]);
    put16(f, type);
}

static void put_tag(struct frame *f, uint16_t tci, uint16_t next_type)
{
    put16(f, tci);
    put16(f, next_type);
}

static void put_arp_request(struct frame *f)
{
    put16(f, ARP_HTYPE_ETHER);
    put16(f, ETHERTYPE_IPV4);
    put8(f, 6);
    put8(f, 4);
    put16(f, ARP_OP_REQUEST);
    put_fill(f, 6, 0xaa);       /* sha */
    put32(f, 0x0a000001);       /* spa 10.0.0.1 */
    put_fill(f, 6, 0x00);       /* tha */
    put32(f, 0x0a000002);       /* tpa 10.0.0.2 */
}

/* IPv4 header with nb_opt_words 32-bit words of NOP options; total length
 * and checksum are written by seal_ipv4. */
static void put_ipv4(struct frame *f, uint8_t proto, uint16_t frag_off, int nb_opt_words)
{
    f->ip_off = f->len;
    put8(f, (uint8_t)(0x40 | (5 + nb_opt_words)));
    put8(f, 0);
    put16(f, 0);                /* total length, sealed later */
    put16(f, 0x1c46);
    put16(f, frag_off);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);                /* checksum, sealed later */
    put32(f, 0xc0a80001);
    put32(f, 0xc0a800c7);
    put_fill(f, (size_t)nb_opt_words * 4, 0x01);
}

static void reseal_ipv4_csum(struct frame *f)
{
    uint8_t *ip = f->bytes + f->ip_off;
    ip[10] = ip[11] = 0;
    uint16_t csum = csum_ipv4_header(ip, (size_t)(ip[0] & 0x0f) * 4);
    memcpy(ip + 10, &csum, 2);
}

static void seal_ipv4(struct frame *f)
{
    set16(f, f->ip_off + 2, (uint16_t)(f->len - f->ip_off));
    reseal_ipv4_csum(f);
}

static void put_ipv6(struct frame *f, uint8_t next)
{
    f->ip_off = f->len;
    put32(f, 0x60012345);       /* version 6, flow label 0x12345 */
    put16(f, 0);                /* payload length, sealed later */
    put8(f, next);
    put8(f, 64);
    put16(f, 0x2001);
    put16(f, 0x0db8);
    put_fill(f, 11, 0);
    put8(f, 1);                 /* 2001:db8::1 */
    put16(f, 0x2001);
    put16(f, 0x0db8);
    put_fill(f, 11, 0);
    put8(f, 2);                 /* 2001:db8::2 */
}

static void seal_ipv6(struct frame *f)
{
    set16(f, f->ip_off + 4, (uint16_t)(f->len - f->ip_off - 40));
}

/* Hop-by-hop, routing or destination options: (len + 1) * 8 bytes, the
 * rest Pad1 options (zero bytes), which are valid in all three. */
static void put_ext(struct frame *f, uint8_t next, uint8_t len)
{
    put8(f, next);
    put8(f, len);
    put_fill(f, (size_t)(len + 1) * 8 - 2, 0);
}

static void put_frag6(struct frame *f, uint8_t next, uint16_t offset_units, bool more)
{
    put8(f, next);
    put8(f, 0);
    put16(f, (uint16_t)(offset_units << 3 | (more ? 1 : 0)));
    put32(f, 0xdeadbeef);
}

/* AH with payload length field len: (len + 2) * 4 bytes in all. */
static void put_ah(struct frame *f, uint8_t next, uint8_t len)
{
    put8(f, next);
    put8(f, len);
    put16(f, 0);
    put32(f, 0x100);            /* SPI */
    put32(f, 1);                /* sequence number */
    put_fill(f, (size_t)(len + 2) * 4 - 12, 0x5a);   /* ICV */
}

static void put_payload(struct frame *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(f, (uint8_t)('a' + i % 26));
}

static void put_udp(struct frame *f, uint16_t sport, uint16_t dport, size_t payload)
{
    f->l4_off = f->len;
    put16(f, sport);
    put16(f, dport);
    put16(f, (uint16_t)(8 + payload));
    put16(f, 0);
    put_payload(f, payload);
}

static void put_tcp(struct frame *f, uint16_t sport, uint16_t dport, int nb_opt_words,
                    size_t payload)
{
    f->l4_off = f->len;
    put16(f, sport);
    put16(f, dport);
    put32(f, 1000);             /* seq */
    put32(f, 0);                /* ack */
    put8(f, (uint8_t)((5 + nb_opt_words) << 4));
    put8(f, 0x02);              /* SYN */
    put16(f, 65535);
    put16(f, 0);
    put16(f, 0);
    put_fill(f, (size_t)nb_opt_words * 4, 0x01);     /* NOP options */
    put_payload(f, payload);
}

/* ICMP echo (8-byte header) or, with hdr_len 4, an ICMPv6 header. */
static void put_icmp(struct frame *f, uint8_t type, uint8_t code, size_t hdr_len, size_t payload)
{
    f->l4_off = f->len;
    put8(f, type);
    put8(f, code);
    put16(f, 0);
    put_fill(f, hdr_len - 4, 0x11);
    put_payload(f, payload);
}

/* ---- parsing and checking ---------------------------------------------- */

/* Parses a heap copy of exactly len bytes: ASan flags any read past it. */
static enum drop_reason parse_exact(const uint8_t *bytes, uint16_t len, struct pkt_info *pi)
{
    uint8_t *copy = malloc(len);
    cr_assert(len == 0 || copy != NULL);
    if (len)
        memcpy(copy, bytes, len);
    enum drop_reason r = parse_frame(copy, len, pi);
    free(copy);
    return r;
}

static enum drop_reason parse(const struct frame *f, struct pkt_info *pi)
{
    return parse_exact(f->bytes, f->len, pi);
}

/* pi.l4_bad says bad_l4_len, and nothing else does. */
static void expect_drop(const struct frame *f, enum drop_reason want)
{
    struct pkt_info pi;
    enum drop_reason r = parse(f, &pi);
    cr_assert_eq(r, want, "dropped as %s, want %s", drop_reason_name(r), drop_reason_name(want));
    cr_assert_eq(pi.l4_bad, want == DROP_BAD_L4_LEN, "l4_bad %d for %s", pi.l4_bad,
                 drop_reason_name(r));
}

#define EXPECT_FIELD(got, want, field) \
    cr_expect_eq((got)->field, (want)->field, #field ": got %d, want %d", \
                 (int)(got)->field, (int)(want)->field)

static void expect_info_eq(const struct pkt_info *got, const struct pkt_info *want)
{
    EXPECT_FIELD(got, want, ethertype);
    EXPECT_FIELD(got, want, nb_vlans);
    EXPECT_FIELD(got, want, vlan_id[0]);
    EXPECT_FIELD(got, want, vlan_id[1]);
    EXPECT_FIELD(got, want, l3_off);
    EXPECT_FIELD(got, want, l3_len);
    EXPECT_FIELD(got, want, l4_off);
    EXPECT_FIELD(got, want, l4_len);
    EXPECT_FIELD(got, want, ip_version);
    EXPECT_FIELD(got, want, l4_proto);
    EXPECT_FIELD(got, want, is_fragment);
    EXPECT_FIELD(got, want, is_first_fragment);
    EXPECT_FIELD(got, want, sport);
    EXPECT_FIELD(got, want, dport);
    EXPECT_FIELD(got, want, icmp_type);
    EXPECT_FIELD(got, want, icmp_code);
}

/* The reason a cut at `cut` bytes must earn, from the parse of the whole
 * frame: the consistency rule of parse.c's header comment. */
static enum drop_reason reason_for_cut(const struct frame *f, const struct pkt_info *whole,
                                       uint16_t cut)
{
    uint16_t l3 = whole->l3_off;
    if (cut < l3)
        return DROP_RUNT;
    switch (whole->ethertype) {
    case ETHERTYPE_IPV4:
        if (cut < l3 + 20)
            return DROP_RUNT;
        if (cut < l3 + (f->bytes[l3] & 0x0f) * 4)
            return DROP_BAD_IHL;
        return DROP_BAD_IP_LEN;
    case ETHERTYPE_IPV6:
        return cut < l3 + 40 ? DROP_RUNT : DROP_BAD_IP_LEN;
    default:
        return DROP_RUNT;       /* ARP */
    }
}

static void expect_every_truncation_drops(const struct frame *f, const struct pkt_info *whole)
{
    for (uint16_t cut = 0; cut < f->len; cut++) {
        struct pkt_info pi;
        enum drop_reason r = parse_exact(f->bytes, cut, &pi);
        enum drop_reason want = reason_for_cut(f, whole, cut);
        cr_assert_eq(r, want, "cut at %u of %u: %s, want %s", cut, f->len,
                     drop_reason_name(r), drop_reason_name(want));
    }
}

/* The whole frame parses to *want, and every truncation of it drops. */
static void expect_parses_as(const struct frame *f, const struct pkt_info *want)
{
    struct pkt_info pi;
    enum drop_reason r = parse(f, &pi);
    cr_assert_eq(r, DROP_NONE, "dropped as %s", drop_reason_name(r));
    expect_info_eq(&pi, want);
    expect_every_truncation_drops(f, &pi);
}

/* ---- frame recipes ----------------------------------------------------- */

static void build_ipv4_udp(struct frame *f)
{
    put_eth(f, ETHERTYPE_IPV4);
    put_ipv4(f, IPPROTO_UDP_, 0, 0);
    put_udp(f, 1234, 53, 5);
    seal_ipv4(f);
}

static void build_ipv4_tcp(struct frame *f, int nb_ip_opt_words, int nb_tcp_opt_words)
{
    put_eth(f, ETHERTYPE_IPV4);
    put_ipv4(f, IPPROTO_TCP_, IPV4_FLAG_DF, nb_ip_opt_words);
    put_tcp(f, 40000, 80, nb_tcp_opt_words, 10);
    seal_ipv4(f);
}

static void build_ipv6_udp(struct frame *f)
{
    put_eth(f, ETHERTYPE_IPV6);
    put_ipv6(f, IPPROTO_UDP_);
    put_udp(f, 5353, 5353, 7);
    seal_ipv6(f);
}

/* ---- valid frames, field by field -------------------------------------- */

Test(parse, arp_request)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_ARP);
    put_arp_request(&f);
    struct pkt_info want = { .ethertype = ETHERTYPE_ARP, .l3_off = 14, .l3_len = 28 };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_udp)
{
    struct frame f;
    build_ipv4_udp(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 33, .l4_off = 34, .l4_len = 13,
        .ip_version = 4, .l4_proto = IPPROTO_UDP_, .is_first_fragment = true,
        .sport = 1234, .dport = 53,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_tcp)
{
    struct frame f;
    build_ipv4_tcp(&f, 0, 0);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 50, .l4_off = 34, .l4_len = 30,
        .ip_version = 4, .l4_proto = IPPROTO_TCP_, .is_first_fragment = true,
        .sport = 40000, .dport = 80,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_icmp_echo_request)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_ICMP_, 0, 0);
    put_icmp(&f, ICMP_ECHO_REQUEST, 0, 8, 32);
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 60, .l4_off = 34, .l4_len = 40,
        .ip_version = 4, .l4_proto = IPPROTO_ICMP_, .is_first_fragment = true,
        .icmp_type = ICMP_ECHO_REQUEST,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_icmp_error_keeps_type_and_code)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_ICMP_, 0, 0);
    put_icmp(&f, ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, 8, 28);
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 56, .l4_off = 34, .l4_len = 36,
        .ip_version = 4, .l4_proto = IPPROTO_ICMP_, .is_first_fragment = true,
        .icmp_type = ICMP_DEST_UNREACH, .icmp_code = ICMP_UNREACH_PORT,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_options_are_skipped_to_the_udp_header)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, 0, 1);
    put_udp(&f, 67, 68, 3);
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 35, .l4_off = 38, .l4_len = 11,
        .ip_version = 4, .l4_proto = IPPROTO_UDP_, .is_first_fragment = true,
        .sport = 67, .dport = 68,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_maximum_options_and_tcp_options)
{
    struct frame f;
    build_ipv4_tcp(&f, 10, 10);         /* IHL 15, TCP data offset 15 */
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 60 + 60 + 10,
        .l4_off = 14 + 60, .l4_len = 70, .ip_version = 4, .l4_proto = IPPROTO_TCP_,
        .is_first_fragment = true, .sport = 40000, .dport = 80,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_first_fragment_parses_ports_of_a_longer_datagram)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, IPV4_FLAG_MF, 0);
    put_udp(&f, 4000, 4001, 16);
    set16(&f, f.l4_off + 4, 1480);      /* the datagram goes on in later fragments */
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 44, .l4_off = 34, .l4_len = 24,
        .ip_version = 4, .l4_proto = IPPROTO_UDP_, .is_fragment = true,
        .is_first_fragment = true, .sport = 4000, .dport = 4001,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_later_fragment_has_protocol_but_no_l4_header)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, 185, 0); /* offset 1480 bytes, last fragment */
    put_payload(&f, 3);                 /* too short for a UDP header: not one */
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 23, .ip_version = 4,
        .l4_proto = IPPROTO_UDP_, .is_fragment = true,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv4_middle_fragment_with_more_fragments)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_TCP_, IPV4_FLAG_MF | 1, 0);
    put_payload(&f, 8);
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 28, .ip_version = 4,
        .l4_proto = IPPROTO_TCP_, .is_fragment = true,
    };
    expect_parses_as(&f, &want);
}

Test(parse, one_vlan_tag)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_VLAN);
    put_tag(&f, 0xa064, ETHERTYPE_IPV4);   /* PCP 5, VID 100 */
    put_ipv4(&f, IPPROTO_UDP_, 0, 0);
    put_udp(&f, 1111, 2222, 0);
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .nb_vlans = 1, .vlan_id = { 100, 0 },
        .l3_off = 18, .l3_len = 28, .l4_off = 38, .l4_len = 8, .ip_version = 4,
        .l4_proto = IPPROTO_UDP_, .is_first_fragment = true, .sport = 1111, .dport = 2222,
    };
    expect_parses_as(&f, &want);
}

Test(parse, two_tags_qinq_outer_first)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_QINQ);
    put_tag(&f, 0x100a, ETHERTYPE_VLAN);   /* DEI set, S-VID 10 */
    put_tag(&f, 0x0fff, ETHERTYPE_IPV4);   /* C-VID 4095 */
    put_ipv4(&f, IPPROTO_TCP_, 0, 0);
    put_tcp(&f, 22, 50000, 0, 0);
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .nb_vlans = 2, .vlan_id = { 10, 4095 },
        .l3_off = 22, .l3_len = 40, .l4_off = 42, .l4_len = 20, .ip_version = 4,
        .l4_proto = IPPROTO_TCP_, .is_first_fragment = true, .sport = 22, .dport = 50000,
    };
    expect_parses_as(&f, &want);
}

Test(parse, two_8100_tags_are_accepted)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_VLAN);
    put_tag(&f, 7, ETHERTYPE_VLAN);
    put_tag(&f, 8, ETHERTYPE_ARP);
    put_arp_request(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_ARP, .nb_vlans = 2, .vlan_id = { 7, 8 },
        .l3_off = 22, .l3_len = 28,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_udp)
{
    struct frame f;
    build_ipv6_udp(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 55, .l4_off = 54, .l4_len = 15,
        .ip_version = 6, .l4_proto = IPPROTO_UDP_, .is_first_fragment = true,
        .sport = 5353, .dport = 5353,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_tcp)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPPROTO_TCP_);
    put_tcp(&f, 443, 51000, 3, 1);
    seal_ipv6(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 73, .l4_off = 54, .l4_len = 33,
        .ip_version = 6, .l4_proto = IPPROTO_TCP_, .is_first_fragment = true,
        .sport = 443, .dport = 51000,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_icmpv6_neighbor_solicitation)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPPROTO_ICMPV6_);
    put_icmp(&f, 135, 0, 4, 20);
    seal_ipv6(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 64, .l4_off = 54, .l4_len = 24,
        .ip_version = 6, .l4_proto = IPPROTO_ICMPV6_, .is_first_fragment = true,
        .icmp_type = 135,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_hop_by_hop_then_first_fragment_then_udp)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_HOPOPTS);
    put_ext(&f, IPV6_EXT_FRAGMENT, 0);
    put_frag6(&f, IPPROTO_UDP_, 0, true);
    put_udp(&f, 9000, 9001, 8);
    set16(&f, f.l4_off + 4, 3000);      /* datagram longer than this fragment */
    seal_ipv6(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 72, .l4_off = 70, .l4_len = 16,
        .ip_version = 6, .l4_proto = IPPROTO_UDP_, .is_fragment = true,
        .is_first_fragment = true, .sport = 9000, .dport = 9001,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_later_fragment_stops_at_the_fragment_header)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_FRAGMENT);
    put_frag6(&f, IPPROTO_TCP_, 100, false);
    put_payload(&f, 5);
    seal_ipv6(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 53, .ip_version = 6,
        .l4_proto = IPPROTO_TCP_, .is_fragment = true,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_later_fragment_payload_is_not_walked_as_headers)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_FRAGMENT);
    put_frag6(&f, IPV6_EXT_DSTOPTS, 1, true);  /* the chain began in fragment 0 */
    put_fill(&f, 8, 0xff);              /* as headers: a length past the payload */
    seal_ipv6(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 56, .ip_version = 6,
        .l4_proto = IPV6_EXT_DSTOPTS, .is_fragment = true,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_routing_dstopts_and_ah_chain_to_tcp)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_DSTOPTS);
    put_ext(&f, IPV6_EXT_ROUTING, 1);   /* 16 bytes */
    put_ext(&f, IPV6_EXT_AH, 0);        /* 8 */
    put_ah(&f, IPV6_EXT_DSTOPTS, 4);    /* 24 */
    put_ext(&f, IPPROTO_TCP_, 2);       /* 24 */
    put_tcp(&f, 1, 2, 0, 0);
    seal_ipv6(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 40 + 72 + 20,
        .l4_off = 14 + 40 + 72, .l4_len = 20, .ip_version = 6, .l4_proto = IPPROTO_TCP_,
        .is_first_fragment = true, .sport = 1, .dport = 2,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ipv6_no_next_header_has_no_l4)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_NONE);
    seal_ipv6(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV6, .l3_off = 14, .l3_len = 40, .ip_version = 6,
        .l4_proto = IPV6_EXT_NONE, .is_first_fragment = true,
    };
    expect_parses_as(&f, &want);
}

Test(parse, unknown_l4_protocol_passes_without_l4_offset)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, 47, 0, 0);             /* GRE */
    put_payload(&f, 4);
    seal_ipv4(&f);
    struct pkt_info want = {
        .ethertype = ETHERTYPE_IPV4, .l3_off = 14, .l3_len = 24, .ip_version = 4,
        .l4_proto = 47, .is_first_fragment = true,
    };
    expect_parses_as(&f, &want);
}

Test(parse, ethernet_padding_after_the_ip_packet_is_ignored)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, 0, 0);
    put_udp(&f, 7, 7, 2);
    seal_ipv4(&f);
    put_fill(&f, ETH_MIN_FRAME - f.len, 0);
    struct pkt_info pi;
    cr_assert_eq(parse(&f, &pi), DROP_NONE);
    cr_assert_eq(f.len, 60);
    cr_assert_eq(pi.l3_len, 30);
    cr_assert_eq(pi.l4_len, 10);
}

Test(parse, udp_shorter_than_its_ip_payload_is_accepted)
{
    struct frame f;
    build_ipv4_udp(&f);
    set16(&f, f.l4_off + 4, 9);         /* 1 payload byte of 5 belongs to UDP */
    struct pkt_info pi;
    cr_assert_eq(parse(&f, &pi), DROP_NONE);
    cr_assert_eq(pi.l4_len, 13, "l4_len is what the IP header says");
}

/* ---- Ethernet and VLAN ------------------------------------------------- */

Test(parse, unknown_ethertype_is_reported_with_its_value)
{
    struct frame f;
    put_eth(&f, 0x88cc);                /* LLDP */
    put_payload(&f, 46);
    struct pkt_info pi;
    cr_assert_eq(parse(&f, &pi), DROP_UNKNOWN_ETHERTYPE);
    cr_assert_eq(pi.ethertype, 0x88cc);
}

Test(parse, ieee_802_3_length_field_is_an_unknown_ethertype)
{
    struct frame f;
    put_eth(&f, 46);
    put_payload(&f, 46);
    expect_drop(&f, DROP_UNKNOWN_ETHERTYPE);
}

Test(parse, unknown_ethertype_inside_a_tag)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_VLAN);
    put_tag(&f, 5, 0x8847);             /* MPLS */
    put_payload(&f, 42);
    struct pkt_info pi;
    cr_assert_eq(parse(&f, &pi), DROP_UNKNOWN_ETHERTYPE);
    cr_assert_eq(pi.nb_vlans, 1);
    cr_assert_eq(pi.ethertype, 0x8847);
}

Test(parse, third_vlan_tag_is_bad_vlan)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_QINQ);
    put_tag(&f, 1, ETHERTYPE_VLAN);
    put_tag(&f, 2, ETHERTYPE_VLAN);
    put_tag(&f, 3, ETHERTYPE_IPV4);
    put_payload(&f, 40);
    expect_drop(&f, DROP_BAD_VLAN);
}

Test(parse, third_tag_type_is_bad_vlan_even_when_cut_off)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_VLAN);
    put_tag(&f, 1, ETHERTYPE_VLAN);
    put_tag(&f, 2, ETHERTYPE_VLAN);     /* frame ends where the third tag would be */
    expect_drop(&f, DROP_BAD_VLAN);
}

Test(parse, service_tag_inside_a_customer_tag_is_bad_vlan)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_VLAN);
    put_tag(&f, 1, ETHERTYPE_QINQ);
    put_tag(&f, 2, ETHERTYPE_IPV4);
    put_payload(&f, 40);
    expect_drop(&f, DROP_BAD_VLAN);
}

Test(parse, service_tag_inside_a_service_tag_is_bad_vlan)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_QINQ);
    put_tag(&f, 1, ETHERTYPE_QINQ);
    put_tag(&f, 2, ETHERTYPE_IPV4);
    put_payload(&f, 40);
    expect_drop(&f, DROP_BAD_VLAN);
}

/* ---- ARP --------------------------------------------------------------- */

static void expect_arp_field_rejected(size_t field_off, uint8_t value)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_ARP);
    put_arp_request(&f);
    f.bytes[14 + field_off] = value;
    expect_drop(&f, DROP_BAD_ARP);
    cr_assert_eq(parse_arp(f.bytes + 14, 28), DROP_BAD_ARP);
}

Test(parse, arp_other_than_ethernet_ipv4_is_bad_arp)
{
    expect_arp_field_rejected(1, 6);    /* htype 6 (IEEE 802) */
    expect_arp_field_rejected(2, 0x86); /* ptype 0x8600 */
    expect_arp_field_rejected(3, 0xdd); /* ptype 0x08dd */
    expect_arp_field_rejected(4, 8);    /* hlen 8 */
    expect_arp_field_rejected(5, 16);   /* plen 16 */
}

Test(parse, arp_parser_alone_checks_length_first)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_ARP);
    put_arp_request(&f);
    cr_assert_eq(parse_arp(f.bytes + 14, 28), DROP_NONE);
    cr_assert_eq(parse_arp(f.bytes + 14, 27), DROP_RUNT);
}

/* ---- IPv4 -------------------------------------------------------------- */

Test(parse, ipv4_ihl_below_five_is_bad_ihl)
{
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        struct frame f;
        build_ipv4_udp(&f);
        f.bytes[14] = (uint8_t)(0x40 | ihl);
        expect_drop(&f, DROP_BAD_IHL);
    }
}

Test(parse, ipv4_ihl_past_the_frame_is_bad_ihl)
{
    struct frame f;
    build_ipv4_udp(&f);                 /* 33 bytes of IP in the frame */
    f.bytes[14] = 0x4f;                 /* claims 60 bytes of header */
    expect_drop(&f, DROP_BAD_IHL);
}

Test(parse, ipv4_ihl_past_the_total_length_is_bad_ip_len)
{
    struct frame f;
    build_ipv4_udp(&f);
    put_fill(&f, ETH_MIN_FRAME - f.len, 0);     /* padding: 46 bytes after Ethernet */
    f.bytes[14] = 0x49;                 /* 36-byte header fits the frame, not total_len 33 */
    reseal_ipv4_csum(&f);
    expect_drop(&f, DROP_BAD_IP_LEN);
}

Test(parse, ipv4_total_length_past_the_frame_is_bad_ip_len)
{
    struct frame f;
    build_ipv4_udp(&f);
    set16(&f, 16, 34);                  /* one byte more than arrived */
    reseal_ipv4_csum(&f);
    expect_drop(&f, DROP_BAD_IP_LEN);
}

Test(parse, ipv4_total_length_below_the_header_is_bad_ip_len)
{
    uint16_t lengths[] = { 0, 1, 19 };
    for (size_t i = 0; i < 3; i++) {
        struct frame f;
        build_ipv4_udp(&f);
        set16(&f, 16, lengths[i]);
        reseal_ipv4_csum(&f);
        expect_drop(&f, DROP_BAD_IP_LEN);
    }
}

Test(parse, ipv4_total_length_below_header_with_options_is_bad_ip_len)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, 0, 2);
    put_udp(&f, 1, 2, 0);
    seal_ipv4(&f);
    set16(&f, 16, 24);                  /* header is 28 */
    reseal_ipv4_csum(&f);
    expect_drop(&f, DROP_BAD_IP_LEN);
}

Test(parse, ipv4_total_length_cutting_the_udp_header_is_bad_l4_len)
{
    struct frame f;
    build_ipv4_udp(&f);
    set16(&f, 16, 20 + 7);              /* IP payload ends inside the UDP header */
    reseal_ipv4_csum(&f);
    expect_drop(&f, DROP_BAD_L4_LEN);
}

Test(parse, ipv4_bad_checksum_is_bad_ip_csum)
{
    struct frame f;
    build_ipv4_udp(&f);
    f.bytes[14 + 8]--;                  /* TTL changed, checksum not updated */
    expect_drop(&f, DROP_BAD_IP_CSUM);
}

Test(parse, ipv4_checksum_covers_the_options)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, 0, 1);
    put_udp(&f, 1, 2, 0);
    seal_ipv4(&f);
    f.bytes[14 + 20] = 0x00;            /* option byte NOP -> EOL */
    expect_drop(&f, DROP_BAD_IP_CSUM);
}

Test(parse, ipv4_ethertype_with_version_6_is_bad_version)
{
    struct frame f;
    build_ipv4_udp(&f);
    f.bytes[14] = 0x65;
    reseal_ipv4_csum(&f);
    expect_drop(&f, DROP_BAD_IP_VERSION);
}

Test(parse, ipv4_parser_alone_gives_offsets_from_the_ip_header)
{
    struct frame f;
    build_ipv4_udp(&f);
    struct pkt_info pi;
    memset(&pi, 0xa5, sizeof(pi));      /* parse_ipv4 resets what it fills */
    cr_assert_eq(parse_ipv4(f.bytes + 14, (uint16_t)(f.len - 14), &pi), DROP_NONE);
    cr_assert_eq(pi.l4_off, 20);
    cr_assert_eq(pi.l3_len, 33);
    cr_assert_eq(pi.sport, 1234);
    cr_assert_eq(parse_ipv4(f.bytes + 14, 19, &pi), DROP_RUNT);
}

/* ---- IPv6 -------------------------------------------------------------- */

Test(parse, ipv6_ethertype_with_version_4_is_bad_version)
{
    struct frame f;
    build_ipv6_udp(&f);
    f.bytes[14] = 0x40;
    expect_drop(&f, DROP_BAD_IP_VERSION);
}

Test(parse, ipv6_payload_length_past_the_frame_is_bad_ip_len)
{
    struct frame f;
    build_ipv6_udp(&f);
    set16(&f, 18, 16);                  /* 15 arrived */
    expect_drop(&f, DROP_BAD_IP_LEN);
}

Test(parse, ipv6_extension_header_past_the_payload_is_bad_ext)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_HOPOPTS);
    put_ext(&f, IPPROTO_UDP_, 0);
    put_udp(&f, 1, 2, 0);
    seal_ipv6(&f);
    f.bytes[54 + 1] = 3;                /* 32 bytes claimed, 16 in the payload */
    expect_drop(&f, DROP_BAD_IPV6_EXT);
}

Test(parse, ipv6_extension_header_cut_by_payload_length_is_bad_ext)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_DSTOPTS);
    put_ext(&f, IPPROTO_UDP_, 0);
    put_udp(&f, 1, 2, 0);
    seal_ipv6(&f);
    set16(&f, 18, 6);                   /* payload ends inside the 8-byte header */
    expect_drop(&f, DROP_BAD_IPV6_EXT);
    set16(&f, 18, 0);
    expect_drop(&f, DROP_BAD_IPV6_EXT);
}

Test(parse, ipv6_extension_header_announced_at_the_end_of_the_frame_is_bad_ext)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_HOPOPTS);     /* payload length 0: nothing follows */
    seal_ipv6(&f);
    expect_drop(&f, DROP_BAD_IPV6_EXT);
}

Test(parse, ipv6_hop_by_hop_after_another_header_is_bad_ext)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_DSTOPTS);
    put_ext(&f, IPV6_EXT_HOPOPTS, 0);
    put_ext(&f, IPPROTO_UDP_, 0);
    put_udp(&f, 1, 2, 0);
    seal_ipv6(&f);
    expect_drop(&f, DROP_BAD_IPV6_EXT);
}

Test(parse, ipv6_two_fragment_headers_are_bad_ext)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_FRAGMENT);
    put_frag6(&f, IPV6_EXT_FRAGMENT, 0, true);
    put_frag6(&f, IPPROTO_UDP_, 0, true);
    put_udp(&f, 1, 2, 0);
    seal_ipv6(&f);
    expect_drop(&f, DROP_BAD_IPV6_EXT);
}

Test(parse, ipv6_ah_length_not_a_multiple_of_8_is_bad_ext)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPV6_EXT_AH);
    put_ah(&f, IPPROTO_UDP_, 3);        /* 20 bytes */
    put_udp(&f, 1, 2, 0);
    seal_ipv6(&f);
    expect_drop(&f, DROP_BAD_IPV6_EXT);
}

static void build_ipv6_dstopts_chain(struct frame *f, int nb_headers)
{
    put_eth(f, ETHERTYPE_IPV6);
    put_ipv6(f, IPV6_EXT_DSTOPTS);
    for (int i = 1; i < nb_headers; i++)
        put_ext(f, IPV6_EXT_DSTOPTS, 0);
    put_ext(f, IPPROTO_UDP_, 0);
    put_udp(f, 1, 2, 0);
    seal_ipv6(f);
}

Test(parse, ipv6_eight_extension_headers_pass_nine_are_bad_ext)
{
    struct frame f;
    struct pkt_info pi;
    build_ipv6_dstopts_chain(&f, 8);
    cr_assert_eq(parse(&f, &pi), DROP_NONE);
    cr_assert_eq(pi.l4_off, 14 + 40 + 64);
    build_ipv6_dstopts_chain(&f, 9);
    expect_drop(&f, DROP_BAD_IPV6_EXT);
}

Test(parse, ipv6_udp_header_cut_by_payload_length_is_bad_l4_len)
{
    struct frame f;
    build_ipv6_udp(&f);
    set16(&f, 18, 4);
    expect_drop(&f, DROP_BAD_L4_LEN);
}

Test(parse, ipv6_parser_alone_rejects_a_short_header)
{
    struct frame f;
    build_ipv6_udp(&f);
    struct pkt_info pi = { 0 };
    cr_assert_eq(parse_ipv6(f.bytes + 14, 39, &pi), DROP_RUNT);
    cr_assert_eq(parse_ipv6(f.bytes + 14, (uint16_t)(f.len - 14), &pi), DROP_NONE);
    cr_assert_eq(pi.l4_off, 40);
}

/* ---- L4 ---------------------------------------------------------------- */

Test(parse, udp_length_past_the_ip_payload_is_bad_l4_len)
{
    struct frame f;
    build_ipv4_udp(&f);
    set16(&f, f.l4_off + 4, 14);        /* IP payload is 13 */
    expect_drop(&f, DROP_BAD_L4_LEN);

    /* what the router needs to forward it anyway is all there */
    struct pkt_info pi;
    cr_assert_eq(parse(&f, &pi), DROP_BAD_L4_LEN);
    cr_assert(pi.l4_bad);
    cr_assert_eq(pi.ip_version, 4);
    cr_assert_eq(pi.l3_off, 14);
    cr_assert_eq(pi.l4_proto, IPPROTO_UDP_);
}

Test(parse, udp_length_below_its_header_is_bad_l4_len)
{
    for (uint16_t udp_len = 0; udp_len < 8; udp_len++) {
        struct frame f;
        build_ipv4_udp(&f);
        set16(&f, f.l4_off + 4, udp_len);
        expect_drop(&f, DROP_BAD_L4_LEN);
    }
}

Test(parse, udp_length_mismatch_over_ipv6_is_bad_l4_len)
{
    struct frame f;
    build_ipv6_udp(&f);
    set16(&f, f.l4_off + 4, 16);
    expect_drop(&f, DROP_BAD_L4_LEN);
}

Test(parse, tcp_data_offset_below_five_is_bad_l4_len)
{
    for (uint8_t doff = 0; doff < 5; doff++) {
        struct frame f;
        build_ipv4_tcp(&f, 0, 0);
        f.bytes[f.l4_off + 12] = (uint8_t)(doff << 4);
        expect_drop(&f, DROP_BAD_L4_LEN);
    }
}

Test(parse, tcp_data_offset_past_the_ip_payload_is_bad_l4_len)
{
    struct frame f;
    build_ipv4_tcp(&f, 0, 0);           /* 20-byte header + 10 payload */
    f.bytes[f.l4_off + 12] = 8 << 4;    /* 32 bytes */
    expect_drop(&f, DROP_BAD_L4_LEN);
    f.bytes[f.l4_off + 12] = 7 << 4;    /* 28 bytes: fits the payload */
    expect_drop(&f, DROP_NONE);
}

Test(parse, tcp_options_split_by_a_first_fragment_are_bad_l4_len)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_TCP_, IPV4_FLAG_MF, 0);
    put_tcp(&f, 1, 2, 0, 0);
    f.len -= 4;                          /* tiny fragment: 16 bytes of TCP */
    seal_ipv4(&f);
    expect_drop(&f, DROP_BAD_L4_LEN);
}

Test(parse, icmp_shorter_than_eight_bytes_is_bad_l4_len)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_ICMP_, 0, 0);
    put_icmp(&f, ICMP_ECHO_REQUEST, 0, 8, 0);
    f.len -= 1;
    seal_ipv4(&f);
    expect_drop(&f, DROP_BAD_L4_LEN);
}

Test(parse, icmpv6_shorter_than_four_bytes_is_bad_l4_len)
{
    struct frame f;
    put_eth(&f, ETHERTYPE_IPV6);
    put_ipv6(&f, IPPROTO_ICMPV6_);
    put_icmp(&f, 128, 0, 4, 0);
    f.len -= 1;
    seal_ipv6(&f);
    expect_drop(&f, DROP_BAD_L4_LEN);
}

/* ---- parse_ipv4_plain_ok: the fast path's one-pass check ---------------- */

/* It must say yes exactly for the frames whose IPv4 header parse_frame
 * accepts (DROP_NONE, or a bad L4 header: the fast path does not read it),
 * untagged, without options and not a fragment (a heap copy of exactly len
 * bytes: ASan catches a read past the end). */
static void expect_plain_check_agrees(const uint8_t *bytes, uint16_t len, const char *what)
{
    uint8_t *copy = malloc(len ? len : 1);
    struct pkt_info pi;

    cr_assert_not_null(copy);
    memcpy(copy, bytes, len);
    struct ipv4_words w;
    bool fast = parse_ipv4_plain_ok(copy, len, &w);
    enum drop_reason r = parse_frame(copy, len, &pi);
    bool l3_ok = r == DROP_NONE || (r == DROP_BAD_L4_LEN && pi.l4_bad);
    bool plain = l3_ok && pi.ethertype == ETHERTYPE_IPV4 && pi.nb_vlans == 0 &&
                 copy[14] == 0x45 && !pi.is_fragment;
    /* what the fast path takes its fields from is the header as it stands */
    bool words_right = !fast || (memcmp(&w.w0, copy + 14, 8) == 0 &&
                                 memcmp(&w.w1, copy + 22, 8) == 0 &&
                                 memcmp(&w.w2, copy + 30, 4) == 0);
    free(copy);
    cr_assert_eq(fast, plain, "%s (len %u): fast check %d, parse_frame %s", what, len, fast,
                 drop_reason_name(r));
    cr_assert(words_right, "%s (len %u): the header words differ from the frame", what, len);
}

/* The frame, every truncation of it, and every byte of its first 64 set to
 * a few values, each with the checksum as it falls and resealed. */
static void expect_plain_check_agrees_on_variants(const struct frame *base, const char *what,
                                                  bool base_is_plain)
{
    static const uint8_t values[] = { 0x00, 0x01, 0x05, 0x08, 0x14, 0x45, 0x46, 0x7f, 0xff };
    struct frame f;

    struct ipv4_words w;
    cr_assert_eq(parse_ipv4_plain_ok(base->bytes, base->len, &w), base_is_plain,
                 "%s: the frame as built", what);
    for (uint16_t len = 0; len <= base->len; len++)
        expect_plain_check_agrees(base->bytes, len, what);
    for (uint16_t off = 0; off < base->len && off < 64; off++) {
        for (size_t v = 0; v < sizeof(values); v++) {
            for (int reseal = 0; reseal < 2; reseal++) {
                f = *base;
                f.bytes[off] = values[v];
                if (reseal && base->ip_off != 0 && (f.bytes[f.ip_off] >> 4) == 4 &&
                    (size_t)f.ip_off + (f.bytes[f.ip_off] & 0x0f) * 4u <= f.len)
                    reseal_ipv4_csum(&f);
                expect_plain_check_agrees(f.bytes, f.len, what);
            }
        }
    }
}

Test(parse, plain_ipv4_check_agrees_with_parse_frame)
{
    struct frame f;

    build_ipv4_udp(&f);
    expect_plain_check_agrees_on_variants(&f, "udp", true);
    build_ipv4_tcp(&f, 0, 1);
    expect_plain_check_agrees_on_variants(&f, "tcp", true);
    build_ipv4_tcp(&f, 1, 0);
    expect_plain_check_agrees_on_variants(&f, "ip options, tcp", false);

    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_ICMP_, 0, 0);
    put_icmp(&f, ICMP_ECHO_REQUEST, 0, 8, 4);
    seal_ipv4(&f);
    expect_plain_check_agrees_on_variants(&f, "icmp", true);

    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_ICMPV6_, 0, 0);
    put_icmp(&f, 128, 0, 4, 0);
    seal_ipv4(&f);
    expect_plain_check_agrees_on_variants(&f, "icmpv6 over ipv4", true);

    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, 47, 0, 0);
    put_payload(&f, 3);
    seal_ipv4(&f);
    expect_plain_check_agrees_on_variants(&f, "unknown protocol", true);

    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, IPV4_FLAG_MF, 0);
    put_udp(&f, 1, 2, 40);
    f.len -= 20;
    seal_ipv4(&f);
    expect_plain_check_agrees_on_variants(&f, "first fragment", false);

    put_eth(&f, ETHERTYPE_VLAN);
    put_tag(&f, 7, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_UDP_, 0, 0);
    put_udp(&f, 1, 2, 6);
    seal_ipv4(&f);
    expect_plain_check_agrees_on_variants(&f, "tagged", false);

    build_ipv6_udp(&f);
    expect_plain_check_agrees_on_variants(&f, "ipv6", false);
}

/* Ethernet pads a short IP packet to 60 bytes: the padding is no error. */
Test(parse, plain_ipv4_check_accepts_padding_after_the_packet)
{
    struct frame f;

    put_eth(&f, ETHERTYPE_IPV4);
    put_ipv4(&f, IPPROTO_TCP_, 0, 0);
    put_tcp(&f, 80, 1234, 0, 0);
    seal_ipv4(&f);
    put_fill(&f, 6, 0);
    cr_assert_eq(f.len, 60);
    struct ipv4_words w;
    cr_assert(parse_ipv4_plain_ok(f.bytes, f.len, &w));
    expect_plain_check_agrees_on_variants(&f, "padded", true);
}

/* ---- drop reason names ------------------------------------------------- */

Test(drop, every_reason_has_its_name)
{
    cr_assert_str_eq(drop_reason_name(DROP_NONE), "none");
    cr_assert_str_eq(drop_reason_name(DROP_RUNT), "runt");
    cr_assert_str_eq(drop_reason_name(DROP_BAD_IPV6_EXT), "bad_ipv6_ext");
    cr_assert_str_eq(drop_reason_name(DROP_PROGRAM), "program");
    for (int r = 0; r < DROP__COUNT; r++) {
        const char *name = drop_reason_name((enum drop_reason)r);
        cr_assert(name != NULL && name[0] != '\0' && strcmp(name, "unknown") != 0,
                  "reason %d", r);
    }
}

Test(drop, out_of_range_reason_is_unknown)
{
    cr_assert_str_eq(drop_reason_name(DROP__COUNT), "unknown");
    cr_assert_str_eq(drop_reason_name((enum drop_reason)-1), "unknown");
    cr_assert_str_eq(drop_reason_name((enum drop_reason)1000), "unknown");
}
