/*
 * Tests for net/bpf.c: the validator, the interpreter and the HEX parser.
 *
 * The interpreter is held against libpcap, the reference users compare
 * with (tcpdump): every filter expression below is compiled by pcap_compile
 * on a dead DLT_EN10MB handle (a live Linux handle would emit SKF_AD
 * extension loads, TRAPS.md) and run over every frame of a corpus built
 * here, whole and cut at every capture length, by both bpf_run and
 * pcap_offline_filter; the snap lengths must be equal. Random valid programs
 * then cover the instructions pcap_compile seldom emits (MOD, NEG, JSET X,
 * RET A, loads whose offset wraps) against libpcap's bpf_filter.
 *
 * libpcap's <pcap/bpf.h> has its own struct bpf_insn and bpf_validate(),
 * the names net/bpf.h uses, so this file renames libpcap's while including
 * it; the layouts are the same and programs are copied field by field.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <string.h>

#define bpf_insn pcap_bpf_insn
#define bpf_validate pcap_bpf_validate_unused
#include <pcap/pcap.h>
#undef bpf_insn
#undef bpf_validate

#include "net/bpf.h"
#include "net/errno.h"

#define SNAPLEN 65535            /* what pcap_open_dead is given: the accept value */
#define SKF_AD_OFF 0xfffff000u   /* Linux's extension-load offsets start here */

TestSuite(bpf);

/* --- libpcap side --------------------------------------------------------- */

/* Compiles expr as tcpdump would for an Ethernet capture file. */
static void compile(const char *expr, struct bpf_program *fp)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);

    cr_assert_not_null(dead);
    int rc = pcap_compile(dead, fp, expr, 1, PCAP_NETMASK_UNKNOWN);
    cr_assert_eq(rc, 0, "pcap_compile(\"%s\"): %s", expr, pcap_geterr(dead));
    pcap_close(dead);
}

static unsigned to_ours(const struct bpf_program *fp, struct bpf_insn *out, unsigned max)
{
    cr_assert_leq(fp->bf_len, max);
    for (unsigned i = 0; i < fp->bf_len; i++) {
        const struct pcap_bpf_insn *in = &fp->bf_insns[i];
        out[i] = (struct bpf_insn){in->code, in->jt, in->jf, in->k};
    }
    return fp->bf_len;
}

static void to_pcap(const struct bpf_insn *prog, unsigned nb, struct pcap_bpf_insn *out)
{
    for (unsigned i = 0; i < nb; i++)
        out[i] = (struct pcap_bpf_insn){prog[i].code, prog[i].jt, prog[i].jf, prog[i].k};
}

static uint32_t pcap_verdict(const struct bpf_program *fp, const uint8_t *pkt, uint32_t wirelen,
                             uint32_t buflen)
{
    struct pcap_pkthdr hdr = {.caplen = buflen, .len = wirelen};

    return (uint32_t)pcap_offline_filter(fp, &hdr, pkt);
}

/* Counts Linux extension loads (ld [SKF_AD_OFF + n]) that a dead handle
 * must never produce. */
static unsigned nb_extension_loads(const struct bpf_insn *prog, unsigned nb)
{
    unsigned n = 0;

    for (unsigned i = 0; i < nb; i++) {
        if ((prog[i].code & 0x07) == BPF_LD && (prog[i].code & 0xe0) == BPF_ABS &&
            prog[i].k >= SKF_AD_OFF)
            n++;
    }
    return n;
}

/* --- the frame corpus ---------------------------------------------------- */

#define FRAME_MAX  1600
#define MAX_FRAMES 80

struct frame {
    const char *name;
    uint8_t data[FRAME_MAX];
    uint32_t len;
    uint32_t ip4_at, ip6_at, udp_at;   /* header offsets to patch lengths into; 0 = none */
};

static struct frame corpus[MAX_FRAMES];
static unsigned nb_frames;

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MAC_MDNS[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
static const uint8_t MAC_SNODE[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x02};
static const uint8_t MAC_ZERO[6] = {0};

static const uint8_t V6_A[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};          /* 2001:db8::1 */
static const uint8_t V6_B[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x02};          /* 2001:db8::2 */
static const uint8_t V6_C[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x05};    /* 2001:db8:1::5 */
static const uint8_t V6_DNS[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x53};  /* 2001:db8:1::53 */
static const uint8_t V6_SNODE[16] = {0xff, 0x02, [11] = 0x01, 0xff, 0, 0, 0x02}; /* ff02::1:ff00:2 */

static struct frame *frame_new(const char *name)
{
    cr_assert_lt(nb_frames, MAX_FRAMES);
    struct frame *f = &corpus[nb_frames++];
    memset(f, 0, sizeof(*f));
    f->name = name;
    return f;
}

static void put8(struct frame *f, uint8_t v)
{
    cr_assert_lt(f->len, FRAME_MAX, "frame %s too long", f->name);
    f->data[f->len++] = v;
}

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

static void put_bytes(struct frame *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(f, p[i]);
}

/* Payload bytes that vary, so byte-offset filters see something. */
static void put_pattern(struct frame *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(f, (uint8_t)(i * 7 + 1));
}

static void patch16(struct frame *f, uint32_t at, uint16_t v)
{
    f->data[at] = (uint8_t)(v >> 8);
    f->data[at + 1] = (uint8_t)v;
}

/* Fills in the length fields of the headers, now that the frame is whole. */
static void frame_end(struct frame *f)
{
    if (f->ip4_at != 0)
        patch16(f, f->ip4_at + 2, (uint16_t)(f->len - f->ip4_at));
    if (f->ip6_at != 0)
        patch16(f, f->ip6_at + 4, (uint16_t)(f->len - f->ip6_at - 40));
    if (f->udp_at != 0)
        patch16(f, f->udp_at + 4, (uint16_t)(f->len - f->udp_at));
}

/* Ends the frame, then keeps only its first len bytes: the headers still
 * claim the whole frame, as in a frame cut on the wire. */
static void frame_cut(struct frame *f, uint32_t len)
{
    frame_end(f);
    cr_assert_leq(len, f->len);
    f->len = len;
}

static void eth(struct frame *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    put_bytes(f, dst, 6);
    put_bytes(f, src, 6);
    put16(f, type);
}

/* tags: nb_tags (TPID, VLAN id) pairs, outermost first. */
static void eth_tagged(struct frame *f, const uint8_t *dst, const uint8_t *src,
                       const uint16_t *tags, unsigned nb_tags, uint16_t type)
{
    put_bytes(f, dst, 6);
    put_bytes(f, src, 6);
    for (unsigned i = 0; i < nb_tags; i++) {
        put16(f, tags[2 * i]);
        put16(f, (uint16_t)(0x2000 | tags[2 * i + 1]));   /* priority 1, then the id */
    }
    put16(f, type);
}

struct ip4 {
    uint32_t src, dst;
    uint8_t proto;
    uint8_t ttl;              /* 0 means 64 */
    uint16_t frag;            /* flags and fragment offset, as on the wire */
    uint8_t nb_option_words;
};

static void ipv4(struct frame *f, struct ip4 h)
{
    f->ip4_at = f->len;
    put8(f, (uint8_t)(0x40 | (5 + h.nb_option_words)));
    put8(f, 0);
    put16(f, 0);              /* total length, patched by frame_end */
    put16(f, 0x1c46);
    put16(f, h.frag);
    put8(f, h.ttl != 0 ? h.ttl : 64);
    put8(f, h.proto);
    put16(f, 0);
    put32(f, h.src);
    put32(f, h.dst);
    for (unsigned i = 0; i < h.nb_option_words; i++)
        put32(f, 0x01010101);   /* NOPs */
}

static void ipv6(struct frame *f, const uint8_t *src, const uint8_t *dst, uint8_t next_header)
{
    f->ip6_at = f->len;
    put32(f, 0x60000000);
    put16(f, 0);              /* payload length, patched by frame_end */
    put8(f, next_header);
    put8(f, 64);
    put_bytes(f, src, 16);
    put_bytes(f, dst, 16);
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

static void tcp(struct frame *f, uint16_t sport, uint16_t dport, uint8_t flags,
                unsigned nb_option_words, size_t payload_bytes)
{
    put16(f, sport);
    put16(f, dport);
    put32(f, 0x11223344);
    put32(f, (flags & TCP_ACK) ? 0x55667788 : 0);
    put8(f, (uint8_t)((5 + nb_option_words) << 4));
    put8(f, flags);
    put16(f, 65535);
    put32(f, 0);
    for (unsigned i = 0; i < nb_option_words; i++)
        put32(f, 0x01010101);
    put_pattern(f, payload_bytes);
}

static void udp(struct frame *f, uint16_t sport, uint16_t dport, size_t payload_bytes)
{
    f->udp_at = f->len;
    put16(f, sport);
    put16(f, dport);
    put16(f, 0);              /* length, patched by frame_end */
    put16(f, 0);
    put_pattern(f, payload_bytes);
}

static void icmp(struct frame *f, uint8_t type, uint8_t code)
{
    put8(f, type);
    put8(f, code);
    put16(f, 0);
    put32(f, 0x00010002);
    put_pattern(f, 32);
}

static void arp(struct frame *f, uint16_t op, const uint8_t *sha, uint32_t spa,
                const uint8_t *tha, uint32_t tpa)
{
    put16(f, 1);
    put16(f, 0x0800);
    put8(f, 6);
    put8(f, 4);
    put16(f, op);
    put_bytes(f, sha, 6);
    put32(f, spa);
    put_bytes(f, tha, 6);
    put32(f, tpa);
}

static const struct ip4 ip_a_to_b_tcp = {IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 0, 0, 0};
static const struct ip4 ip_b_to_a_tcp = {IP4(10, 0, 0, 2), IP4(10, 0, 0, 1), 6, 0, 0, 0};
static const struct ip4 ip_a_to_b_udp = {IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 17, 0, 0, 0};

/* One IPv4 TCP frame from A to B. */
static void tcp4_frame(const char *name, struct ip4 h, uint16_t sport, uint16_t dport,
                       uint8_t flags, size_t payload_bytes)
{
    struct frame *f = frame_new(name);
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, h);
    tcp(f, sport, dport, flags, 0, payload_bytes);
    frame_end(f);
}

static void udp4_frame(const char *name, struct ip4 h, uint16_t sport, uint16_t dport)
{
    struct frame *f = frame_new(name);
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, h);
    udp(f, sport, dport, 24);
    frame_end(f);
}

static void build_arp_frames(void)
{
    struct frame *f = frame_new("arp request (broadcast)");
    eth(f, MAC_BCAST, MAC_A, 0x0806);
    arp(f, 1, MAC_A, IP4(10, 0, 0, 1), MAC_ZERO, IP4(10, 0, 0, 2));
    frame_end(f);

    f = frame_new("arp reply");
    eth(f, MAC_A, MAC_B, 0x0806);
    arp(f, 2, MAC_B, IP4(10, 0, 0, 2), MAC_A, IP4(10, 0, 0, 1));
    frame_end(f);
}

static void build_tcp4_frames(void)
{
    tcp4_frame("tcp syn 10.0.0.1:40000 > 10.0.0.2:80", ip_a_to_b_tcp, 40000, 80, TCP_SYN, 0);
    tcp4_frame("tcp syn-ack 10.0.0.2:80 > 10.0.0.1:40000", ip_b_to_a_tcp, 80, 40000,
               TCP_SYN | TCP_ACK, 0);
    tcp4_frame("tcp psh-ack > :443 with payload", ip_a_to_b_tcp, 40001, 443, TCP_PSH | TCP_ACK,
               100);
    tcp4_frame("tcp rst-ack from :22", ip_b_to_a_tcp, 22, 40002, TCP_RST | TCP_ACK, 0);
    tcp4_frame("tcp fin-ack to :22", ip_a_to_b_tcp, 40002, 22, TCP_FIN | TCP_ACK, 0);
    tcp4_frame("tcp 10.1.200.5 > 172.16.0.1:22", (struct ip4){IP4(10, 1, 200, 5),
               IP4(172, 16, 0, 1), 6, 0, 0, 0}, 50000, 22, TCP_ACK, 10);
    tcp4_frame("tcp syn ttl 4 from 10.0.0.9", (struct ip4){IP4(10, 0, 0, 9), IP4(10, 0, 0, 2),
               6, 4, 0, 0}, 41000, 80, TCP_SYN, 0);
    tcp4_frame("tcp full-size 1514 bytes", ip_a_to_b_tcp, 40010, 443, TCP_ACK, 1460);

    struct frame *f = frame_new("tcp syn with ip options (ihl 8)");
    struct ip4 h = ip_a_to_b_tcp;
    h.nb_option_words = 3;
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, h);
    tcp(f, 40003, 80, TCP_SYN, 0, 0);
    frame_end(f);

    f = frame_new("tcp syn with tcp options (doff 10) to :8080");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, ip_a_to_b_tcp);
    tcp(f, 40004, 8080, TCP_SYN, 5, 0);
    frame_end(f);
}

static void build_fragment_frames(void)
{
    struct ip4 h = ip_a_to_b_tcp;

    h.frag = 0x2000;   /* MF, offset 0 */
    tcp4_frame("ipv4 first fragment of tcp :80", h, 40005, 80, TCP_ACK, 200);

    /* A later fragment carries payload; its first bytes look like ports
     * 8080 > 80 and must not be taken for a TCP header. */
    struct frame *f = frame_new("ipv4 later fragment (offset 185) of tcp");
    h.frag = 185;
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, h);
    put16(f, 8080);
    put16(f, 80);
    put_pattern(f, 60);
    frame_end(f);

    f = frame_new("ipv4 dont-fragment udp");
    h = ip_a_to_b_udp;
    h.frag = 0x4000;
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, h);
    udp(f, 7000, 7002, 8);
    frame_end(f);
}

static void build_udp4_frames(void)
{
    udp4_frame("udp dns query > 10.0.0.53:53", (struct ip4){IP4(10, 0, 0, 1),
               IP4(10, 0, 0, 53), 17, 0, 0, 0}, 33000, 53);
    udp4_frame("udp dns reply 10.0.0.53:53 >", (struct ip4){IP4(10, 0, 0, 53),
               IP4(10, 0, 0, 1), 17, 0, 0, 0}, 53, 33000);
    udp4_frame("udp port 1000 (range low edge)", ip_a_to_b_udp, 30000, 1000);
    udp4_frame("udp port 2000 (range high edge)", ip_a_to_b_udp, 2000, 30000);
    udp4_frame("udp port 999", ip_a_to_b_udp, 30000, 999);
    udp4_frame("udp port 2001", ip_a_to_b_udp, 2001, 30001);
    udp4_frame("udp 192.168.1.77 > 10.1.2.3:1234", (struct ip4){IP4(192, 168, 1, 77),
               IP4(10, 1, 2, 3), 17, 0, 0, 0}, 1234, 1234);

    struct frame *f = frame_new("udp payload starts 0x1234");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, ip_a_to_b_udp);
    udp(f, 7000, 7001, 0);
    put16(f, 0x1234);
    put16(f, 0x5678);
    frame_end(f);

    f = frame_new("udp with ip options (ihl 6) to :1500");
    struct ip4 h = ip_a_to_b_udp;
    h.nb_option_words = 1;
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, h);
    udp(f, 1500, 1500, 16);
    frame_end(f);

    f = frame_new("udp mdns to 224.0.0.251 (ether multicast)");
    eth(f, MAC_MDNS, MAC_A, 0x0800);
    ipv4(f, (struct ip4){IP4(10, 0, 0, 1), IP4(224, 0, 0, 251), 17, 255, 0, 0});
    udp(f, 5353, 5353, 30);
    frame_end(f);

    f = frame_new("udp dhcp discover (ether and ip broadcast)");
    eth(f, MAC_BCAST, MAC_A, 0x0800);
    ipv4(f, (struct ip4){0, 0xffffffff, 17, 0, 0, 0});
    udp(f, 68, 67, 240);
    frame_end(f);

    f = frame_new("sctp to :1000");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, (struct ip4){IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 132, 0, 0, 0});
    put16(f, 5000);
    put16(f, 1000);
    put_pattern(f, 28);
    frame_end(f);
}

static void build_icmp4_frames(void)
{
    struct frame *f = frame_new("icmp echo request");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, (struct ip4){IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 1, 0, 0, 0});
    icmp(f, 8, 0);
    frame_end(f);

    f = frame_new("icmp echo reply ttl 3");
    eth(f, MAC_A, MAC_B, 0x0800);
    ipv4(f, (struct ip4){IP4(10, 0, 0, 2), IP4(10, 0, 0, 1), 1, 3, 0, 0});
    icmp(f, 0, 0);
    frame_end(f);

    f = frame_new("icmp unreachable ttl 1 from 192.168.1.1");
    eth(f, MAC_A, MAC_B, 0x0800);
    ipv4(f, (struct ip4){IP4(192, 168, 1, 1), IP4(10, 0, 0, 1), 1, 1, 0, 0});
    icmp(f, 3, 1);
    frame_end(f);

    f = frame_new("icmp echo request with ip options (ihl 15)");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, (struct ip4){IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 1, 0, 0, 10});
    icmp(f, 8, 0);
    frame_end(f);
}

static void build_ipv6_frames(void)
{
    struct frame *f = frame_new("ipv6 tcp syn 2001:db8::1 > 2001:db8::2:80");
    eth(f, MAC_B, MAC_A, 0x86dd);
    ipv6(f, V6_A, V6_B, 6);
    tcp(f, 40000, 80, TCP_SYN, 0, 0);
    frame_end(f);

    f = frame_new("ipv6 tcp 2001:db8:1::5 > :8080");
    eth(f, MAC_B, MAC_A, 0x86dd);
    ipv6(f, V6_C, V6_B, 6);
    tcp(f, 40001, 8080, TCP_ACK | TCP_PSH, 2, 50);
    frame_end(f);

    f = frame_new("ipv6 udp dns query > 2001:db8:1::53:53");
    eth(f, MAC_B, MAC_A, 0x86dd);
    ipv6(f, V6_A, V6_DNS, 17);
    udp(f, 33000, 53, 30);
    frame_end(f);

    f = frame_new("ipv6 icmp6 echo request");
    eth(f, MAC_B, MAC_A, 0x86dd);
    ipv6(f, V6_A, V6_B, 58);
    icmp(f, 128, 0);
    frame_end(f);

    f = frame_new("ipv6 icmp6 neighbor solicitation (multicast)");
    eth(f, MAC_SNODE, MAC_A, 0x86dd);
    ipv6(f, V6_A, V6_SNODE, 58);
    put8(f, 135);
    put8(f, 0);
    put16(f, 0);
    put32(f, 0);
    put_bytes(f, V6_B, 16);
    frame_end(f);

    f = frame_new("ipv6 fragment header then icmp6");
    eth(f, MAC_B, MAC_A, 0x86dd);
    ipv6(f, V6_A, V6_B, 44);
    put8(f, 58);
    put8(f, 0);
    put16(f, 0x0001);         /* offset 0, M set */
    put32(f, 0xabcdef01);
    icmp(f, 128, 0);
    frame_end(f);

    f = frame_new("ipv6 hop-by-hop then udp :53");
    eth(f, MAC_B, MAC_A, 0x86dd);
    ipv6(f, V6_A, V6_DNS, 0);
    put8(f, 17);
    put8(f, 0);
    put_bytes(f, (const uint8_t[6]){1, 4, 0, 0, 0, 0}, 6);   /* PadN */
    udp(f, 33001, 53, 20);
    frame_end(f);
}

static void build_vlan_frames(void)
{
    struct frame *f = frame_new("vlan 100 tcp syn to :80");
    eth_tagged(f, MAC_B, MAC_A, (const uint16_t[]){0x8100, 100}, 1, 0x0800);
    ipv4(f, ip_a_to_b_tcp);
    tcp(f, 40020, 80, TCP_SYN, 0, 0);
    frame_end(f);

    f = frame_new("vlan 200 udp dns");
    eth_tagged(f, MAC_B, MAC_A, (const uint16_t[]){0x8100, 200}, 1, 0x0800);
    ipv4(f, (struct ip4){IP4(10, 0, 0, 1), IP4(10, 0, 0, 53), 17, 0, 0, 0});
    udp(f, 33002, 53, 20);
    frame_end(f);

    f = frame_new("vlan 100 arp request");
    eth_tagged(f, MAC_BCAST, MAC_A, (const uint16_t[]){0x8100, 100}, 1, 0x0806);
    arp(f, 1, MAC_A, IP4(10, 0, 0, 1), MAC_ZERO, IP4(10, 0, 0, 2));
    frame_end(f);

    f = frame_new("vlan 100 ipv6 tcp to :80");
    eth_tagged(f, MAC_B, MAC_A, (const uint16_t[]){0x8100, 100}, 1, 0x86dd);
    ipv6(f, V6_A, V6_B, 6);
    tcp(f, 40021, 80, TCP_SYN, 0, 0);
    frame_end(f);

    f = frame_new("qinq 88a8 vlan 10 / vlan 5 udp");
    eth_tagged(f, MAC_B, MAC_A, (const uint16_t[]){0x88a8, 10, 0x8100, 5}, 2, 0x0800);
    ipv4(f, ip_a_to_b_udp);
    udp(f, 1500, 1600, 20);
    frame_end(f);

    f = frame_new("double 8100 vlan 5 / vlan 100 tcp :80");
    eth_tagged(f, MAC_B, MAC_A, (const uint16_t[]){0x8100, 5, 0x8100, 100}, 2, 0x0800);
    ipv4(f, ip_a_to_b_tcp);
    tcp(f, 40022, 80, TCP_SYN | TCP_ACK, 0, 4);
    frame_end(f);
}

/* Runts, cut headers, a header that claims more than the frame has. */
static void build_short_frames(void)
{
    struct frame *f = frame_new("empty frame");
    frame_end(f);

    f = frame_new("runt 10 bytes");
    put_bytes(f, MAC_B, 6);
    put_bytes(f, MAC_A, 4);
    frame_end(f);

    f = frame_new("runt 13 bytes (half an ethertype)");
    eth(f, MAC_B, MAC_A, 0x0800);
    frame_cut(f, 13);

    f = frame_new("ethernet header only, type ipv4");
    eth(f, MAC_B, MAC_A, 0x0800);
    frame_end(f);

    f = frame_new("ipv4 cut inside its header");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, ip_a_to_b_tcp);
    tcp(f, 40030, 80, TCP_SYN, 0, 0);
    frame_cut(f, 14 + 12);

    f = frame_new("tcp cut before its flags");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, ip_a_to_b_tcp);
    tcp(f, 40031, 80, TCP_SYN, 0, 0);
    frame_cut(f, 14 + 20 + 12);

    f = frame_new("ipv6 cut inside its header");
    eth(f, MAC_B, MAC_A, 0x86dd);
    ipv6(f, V6_A, V6_B, 6);
    tcp(f, 40032, 80, TCP_SYN, 0, 0);
    frame_cut(f, 14 + 30);

    f = frame_new("ipv4 ihl 15 but only 20 header bytes");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, ip_a_to_b_udp);
    f->data[14] = 0x4f;
    udp(f, 53, 53, 18);
    frame_end(f);

    f = frame_new("vlan tag cut after the tpid");
    eth_tagged(f, MAC_B, MAC_A, (const uint16_t[]){0x8100, 100}, 1, 0x0800);
    frame_cut(f, 15);
}

static void build_other_frames(void)
{
    struct frame *f = frame_new("802.3 llc frame (length 0x26)");
    eth(f, MAC_BCAST, MAC_A, 0x0026);
    put_bytes(f, (const uint8_t[3]){0x42, 0x42, 0x03}, 3);
    put_pattern(f, 35);
    frame_end(f);

    f = frame_new("pktmetal capture frame 0x88b5");
    eth(f, MAC_BCAST, MAC_B, 0x88b5);
    put32(f, 0x504d4350);
    put_pattern(f, 60);
    frame_end(f);

    f = frame_new("ipv4 ttl 64 protocol 47 (gre)");
    eth(f, MAC_B, MAC_A, 0x0800);
    ipv4(f, (struct ip4){IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 47, 0, 0, 0});
    put_pattern(f, 40);
    frame_end(f);
}

static void build_corpus(void)
{
    nb_frames = 0;
    build_arp_frames();
    build_tcp4_frames();
    build_fragment_frames();
    build_udp4_frames();
    build_icmp4_frames();
    build_ipv6_frames();
    build_vlan_frames();
    build_short_frames();
    build_other_frames();
}

/* --- the expressions ------------------------------------------------------ */

static const char *const expressions[] = {
    /* protocols */
    "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "sctp", "ip proto 47",
    /* hosts and nets */
    "host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.2", "host 10.0.0.53 and udp",
    "net 192.168.1.0/24", "net 10.1.0.0 mask 255.255.0.0", "src net 10.0.0.0/8",
    "dst net 172.16.0.0/12",
    /* ports */
    "port 80", "src port 53", "dst port 443", "tcp dst port 22", "udp port 53",
    "portrange 1000-2000", "udp portrange 1000-2000", "tcp src portrange 79-81",
    /* vlans */
    "vlan", "vlan 100", "vlan 100 and ip", "vlan 100 and tcp port 80", "vlan and vlan 5",
    "vlan 10 and vlan 5 and udp", "vlan 5 and vlan 100 and tcp", "vlan 200 and udp port 53",
    /* tcp flags and byte offsets */
    "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
    "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0", "tcp[13] = 0x18", "ip[8] < 5",
    "udp[8:2] = 0x1234", "ip[6:2] & 0x1fff != 0", "ip[6] & 0x20 != 0",
    "icmp[icmptype] = icmp-echo",
    "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply", "ip[0] & 0xf > 5",
    "tcp[12] >> 4 > 5", "ether[12:2] < 0x600", "ether[0] & 1 != 0",
    /* lengths */
    "len > 100", "greater 200", "less 60", "len = 42", "len - 14 < 100",
    /* link layer */
    "ether host 02:00:00:00:00:01", "ether src 02:00:00:00:00:02",
    "ether dst 02:00:00:00:00:02", "ether broadcast", "ether multicast",
    "ether proto 0x88b5", "ip multicast", "ip6 multicast",
    /* combinations */
    "tcp and not port 22", "udp or icmp", "not ip and not ip6",
    "(tcp or udp) and host 10.0.0.2", "not (arp or ip6) and len >= 60",
    "host 10.0.0.1 and (port 80 or port 443)", "not tcp",
    /* ipv6 */
    "ip6 and tcp port 80", "ip6 and udp port 53", "ip6 host 2001:db8::1",
    "ip6 net 2001:db8:1::/48", "ip6 and dst port 80", "ip6 and tcp portrange 8000-8100",
    "icmp6 and ip6[40] = 135",
    /* arithmetic: TCP payload length, and every ALU operation tcpdump has */
    "ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) > 0", "ip[8] % 3 = 1",
    "ip[1] ^ 0xff = 0xff", "udp[0:2] / 100 = 0", "ip[8] * 2 > 100", "ip[9] | 0x80 = 0x86",
    "-ip[8] + 64 = 0",
};
#define NB_EXPRESSIONS (sizeof(expressions) / sizeof(expressions[0]))

struct compiled {
    struct bpf_program fp;
    struct bpf_insn prog[BPF_MAX_INSNS];
    unsigned nb;
};

static void compile_both(const char *expr, struct compiled *c)
{
    compile(expr, &c->fp);
    c->nb = to_ours(&c->fp, c->prog, BPF_MAX_INSNS);
}

/* Runs both interpreters; logs and counts a difference. */
static unsigned compare_run(const char *expr, const struct compiled *c, const struct frame *f,
                            uint32_t buflen, uint32_t *verdict)
{
    uint32_t ours = bpf_run(c->prog, f->data, f->len, buflen);
    uint32_t theirs = pcap_verdict(&c->fp, f->data, f->len, buflen);

    *verdict = ours;
    if (ours == theirs)
        return 0;
    cr_log_error("\"%s\" on \"%s\" (wirelen %u, buflen %u): bpf_run %u, libpcap %u", expr,
                 f->name, f->len, buflen, ours, theirs);
    return 1;
}

Test(bpf, corpus_has_enough_frames_and_expressions)
{
    build_corpus();
    cr_assert_geq(nb_frames, 40);
    cr_assert_geq(NB_EXPRESSIONS, 30);
}

Test(bpf, every_compiled_expression_validates_and_uses_no_extension_loads)
{
    static struct compiled c;
    char why[64] = "";

    for (size_t e = 0; e < NB_EXPRESSIONS; e++) {
        compile_both(expressions[e], &c);
        int rc = bpf_validate(c.prog, c.nb, why, sizeof(why));
        unsigned nb_ext = nb_extension_loads(c.prog, c.nb);
        pcap_freecode(&c.fp);
        cr_assert_eq(rc, 0, "\"%s\": %s", expressions[e], why);
        cr_assert_eq(nb_ext, 0, "\"%s\" uses %u extension loads", expressions[e], nb_ext);
    }
}

/* Each expression must both accept and reject some whole frame, so the
 * corpus really tells a right answer from a wrong one. */
Test(bpf, matches_libpcap_on_every_whole_frame)
{
    static struct compiled c;
    unsigned nb_diffs = 0;

    build_corpus();
    for (size_t e = 0; e < NB_EXPRESSIONS; e++) {
        unsigned nb_accepted = 0, nb_rejected = 0;
        compile_both(expressions[e], &c);
        for (unsigned i = 0; i < nb_frames; i++) {
            uint32_t verdict;
            nb_diffs += compare_run(expressions[e], &c, &corpus[i], corpus[i].len, &verdict);
            if (verdict == SNAPLEN)
                nb_accepted++;
            else if (verdict == 0)
                nb_rejected++;
        }
        pcap_freecode(&c.fp);
        cr_expect_gt(nb_accepted, 0, "\"%s\" accepts no frame of the corpus", expressions[e]);
        cr_expect_gt(nb_rejected, 0, "\"%s\" rejects no frame of the corpus", expressions[e]);
        cr_expect_eq(nb_accepted + nb_rejected, nb_frames, "\"%s\": a verdict other than 0 or %u",
                     expressions[e], SNAPLEN);
    }
    cr_assert_eq(nb_diffs, 0, "%u verdicts differ from libpcap", nb_diffs);
}

/* A capture that kept buflen < wirelen bytes: every cut of every frame, so
 * each load meets its bound exactly. Some verdicts must flip from accept to
 * reject, or the cuts would test nothing. */
Test(bpf, matches_libpcap_on_every_truncated_capture)
{
    static struct compiled c;
    unsigned nb_diffs = 0, nb_flipped = 0, nb_runs = 0;

    build_corpus();
    for (size_t e = 0; e < NB_EXPRESSIONS; e++) {
        compile_both(expressions[e], &c);
        for (unsigned i = 0; i < nb_frames; i++) {
            const struct frame *f = &corpus[i];
            uint32_t whole = bpf_run(c.prog, f->data, f->len, f->len), verdict;
            for (uint32_t buflen = 0; buflen < f->len; buflen++) {
                nb_diffs += compare_run(expressions[e], &c, f, buflen, &verdict);
                nb_flipped += whole != 0 && verdict == 0;
                nb_runs++;
            }
        }
        pcap_freecode(&c.fp);
    }
    cr_assert_eq(nb_diffs, 0, "%u of %u verdicts differ from libpcap", nb_diffs, nb_runs);
    cr_assert_gt(nb_flipped, 1000);
}

/* --- random programs against libpcap's interpreter ------------------------ */

static uint64_t rng_state;

static uint32_t rng_next(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rng_below(uint32_t n)
{
    return rng_next() % n;
}

/* Every opcode of classic BPF, as libpcap's header spells them. */
static const uint16_t all_opcodes[] = {
    BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS,
    BPF_LD | BPF_W | BPF_IND, BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND,
    BPF_LD | BPF_IMM, BPF_LD | BPF_MEM, BPF_LD | BPF_W | BPF_LEN,
    BPF_LDX | BPF_IMM, BPF_LDX | BPF_MEM, BPF_LDX | BPF_W | BPF_LEN, BPF_LDX | BPF_B | BPF_MSH,
    BPF_ST, BPF_STX,
    BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_ADD | BPF_X, BPF_ALU | BPF_SUB | BPF_K,
    BPF_ALU | BPF_SUB | BPF_X, BPF_ALU | BPF_MUL | BPF_K, BPF_ALU | BPF_MUL | BPF_X,
    BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_DIV | BPF_X, BPF_ALU | BPF_MOD | BPF_K,
    BPF_ALU | BPF_MOD | BPF_X, BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_AND | BPF_X,
    BPF_ALU | BPF_OR | BPF_K, BPF_ALU | BPF_OR | BPF_X, BPF_ALU | BPF_XOR | BPF_K,
    BPF_ALU | BPF_XOR | BPF_X, BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_LSH | BPF_X,
    BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_RSH | BPF_X, BPF_ALU | BPF_NEG,
    BPF_JMP | BPF_JA, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_X,
    BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGT | BPF_X, BPF_JMP | BPF_JGE | BPF_K,
    BPF_JMP | BPF_JGE | BPF_X, BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
    BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
};
#define NB_OPCODES (sizeof(all_opcodes) / sizeof(all_opcodes[0]))

/* Packet offsets: mostly inside a frame, sometimes at its end, sometimes
 * where X + k wraps around 2^32 or where Linux's extensions live. */
static uint32_t random_offset(void)
{
    switch (rng_below(10)) {
    case 0:
        return 0xffffffffu - rng_below(8);
    case 1:
        return SKF_AD_OFF + rng_below(64);
    case 2:
        return 1400 + rng_below(200);
    default:
        return rng_below(90);
    }
}

static uint32_t random_value(void)
{
    switch (rng_below(4)) {
    case 0:
        return rng_next();
    case 1:
        return 0xffffffffu - rng_below(4);
    default:
        return rng_below(70);
    }
}

static uint32_t random_k(uint16_t code, unsigned pc, unsigned nb)
{
    uint32_t jump_room = nb - pc - 1;   /* insns after this one */

    switch (code & 0x07) {
    case BPF_LD:
    case BPF_LDX:
        if ((code & 0xe0) == BPF_MEM)
            return rng_below(BPF_MEMWORDS);
        if ((code & 0xe0) == BPF_IMM)
            return random_value();
        return random_offset();
    case BPF_ST:
    case BPF_STX:
        return rng_below(BPF_MEMWORDS);
    case BPF_ALU:
        if ((code & 0xf0) == BPF_LSH || (code & 0xf0) == BPF_RSH)
            return rng_below(32);
        if ((code & 0xf0) == BPF_DIV || (code & 0xf0) == BPF_MOD)
            return 1 + rng_below(20);
        return random_value();
    case BPF_JMP:
        return rng_below(jump_room);
    default:
        return random_value();
    }
}

/* A program of nb insns: a prologue that fills scratch memory (libpcap
 * does not promise to zero it), random instructions, a RET. */
static void random_program(struct bpf_insn *prog, unsigned nb)
{
    unsigned pc = 0;

    for (unsigned w = 0; w < BPF_MEMWORDS; w++) {
        prog[pc++] = (struct bpf_insn)BPF_STMT(BPF_LD | BPF_IMM, random_value());
        prog[pc++] = (struct bpf_insn)BPF_STMT(BPF_ST, w);
    }
    for (; pc < nb - 1; pc++) {
        uint16_t code = all_opcodes[rng_below(NB_OPCODES)];
        uint32_t room = nb - pc - 1;
        uint32_t jump_max = room < 256 ? room : 256;
        prog[pc] = (struct bpf_insn){code, (uint8_t)rng_below(jump_max),
                                     (uint8_t)rng_below(jump_max), random_k(code, pc, nb)};
    }
    prog[nb - 1] = (struct bpf_insn)BPF_STMT(BPF_RET | (rng_below(2) ? BPF_A : BPF_K),
                                             random_value());
}

Test(bpf, random_valid_programs_match_libpcap_bpf_filter)
{
    static struct bpf_insn prog[BPF_MAX_INSNS];
    static struct pcap_bpf_insn pprog[BPF_MAX_INSNS];
    char why[64] = "";
    unsigned nb_diffs = 0, nb_nonzero = 0;

    build_corpus();
    rng_state = 0x9e3779b97f4a7c15ull;
    for (unsigned round = 0; round < 3000; round++) {
        unsigned nb = 2 * BPF_MEMWORDS + 1 + rng_below(60);
        random_program(prog, nb);
        cr_assert_eq(bpf_validate(prog, nb, why, sizeof(why)), 0, "round %u: %s", round, why);
        to_pcap(prog, nb, pprog);
        for (unsigned i = 0; i < nb_frames; i++) {
            const struct frame *f = &corpus[i];
            uint32_t buflen = rng_below(4) == 0 ? rng_below(f->len + 1) : f->len;
            uint32_t ours = bpf_run(prog, f->data, f->len, buflen);
            uint32_t theirs = bpf_filter(pprog, f->data, f->len, buflen);
            nb_nonzero += ours != 0;
            if (ours != theirs) {
                cr_log_error("round %u frame \"%s\" buflen %u: bpf_run %u, bpf_filter %u",
                             round, f->name, buflen, ours, theirs);
                nb_diffs++;
            }
        }
    }
    cr_assert_eq(nb_diffs, 0, "%u runs differ from libpcap", nb_diffs);
    cr_assert_gt(nb_nonzero, 10000);
}

/* --- the interpreter, pinned by hand -------------------------------------- */

static const uint8_t pkt16[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0x46, 0xff};

#define RUN(prog, wirelen, buflen) \
    bpf_run((prog), pkt16, (wirelen), (buflen))

static void assert_valid(const struct bpf_insn *prog, unsigned nb)
{
    char why[64] = "";
    cr_assert_eq(bpf_validate(prog, nb, why, sizeof(why)), 0, "%s", why);
}

Test(bpf, loads_are_big_endian_and_stop_at_buflen)
{
    const struct bpf_insn word[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
                                    BPF_STMT(BPF_RET | BPF_A, 0)};
    const struct bpf_insn half[] = {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 1),
                                    BPF_STMT(BPF_RET | BPF_A, 0)};

    assert_valid(word, 2);
    cr_assert_eq(RUN(word, 16, 16), 0xccdd46ffu);
    cr_assert_eq(RUN(word, 16, 15), 0, "the last byte is not in the buffer");
    cr_assert_eq(RUN(half, 16, 16), 0x1122u);
    cr_assert_eq(RUN(half, 16, 2), 0);
}

Test(bpf, indexed_load_whose_offset_wraps_rejects)
{
    /* X + k = 2^32: a 32-bit sum would read pkt[0] and accept. */
    const struct bpf_insn prog[] = {BPF_STMT(BPF_LDX | BPF_IMM, 0xffffffffu),
                                    BPF_STMT(BPF_LD | BPF_B | BPF_IND, 1),
                                    BPF_STMT(BPF_RET | BPF_K, 99)};

    assert_valid(prog, 3);
    cr_assert_eq(RUN(prog, 16, 16), 0);
}

Test(bpf, len_is_the_wire_length_not_the_buffer_length)
{
    const struct bpf_insn ld[] = {BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
                                  BPF_STMT(BPF_RET | BPF_A, 0)};
    const struct bpf_insn ldx[] = {BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0),
                                   BPF_STMT(BPF_MISC | BPF_TXA, 0),
                                   BPF_STMT(BPF_RET | BPF_A, 0)};

    cr_assert_eq(RUN(ld, 1514, 16), 1514);
    cr_assert_eq(RUN(ldx, 1514, 16), 1514);
}

Test(bpf, msh_loads_four_times_the_low_nibble)
{
    const struct bpf_insn prog[] = {BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
                                    BPF_STMT(BPF_MISC | BPF_TXA, 0),
                                    BPF_STMT(BPF_RET | BPF_A, 0)};

    cr_assert_eq(RUN(prog, 16, 16), 24);
    cr_assert_eq(RUN(prog, 16, 14), 0);
}

Test(bpf, division_and_modulo_by_x_zero_reject)
{
    const struct bpf_insn div[] = {BPF_STMT(BPF_LD | BPF_IMM, 7), BPF_STMT(BPF_LDX | BPF_IMM, 0),
                                   BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
                                   BPF_STMT(BPF_RET | BPF_K, 64)};
    const struct bpf_insn mod[] = {BPF_STMT(BPF_LD | BPF_IMM, 7), BPF_STMT(BPF_LDX | BPF_IMM, 0),
                                   BPF_STMT(BPF_ALU | BPF_MOD | BPF_X, 0),
                                   BPF_STMT(BPF_RET | BPF_K, 64)};

    assert_valid(div, 4);
    assert_valid(mod, 4);
    cr_assert_eq(RUN(div, 16, 16), 0);
    cr_assert_eq(RUN(mod, 16, 16), 0);
}

Test(bpf, scratch_memory_starts_zeroed_on_every_run)
{
    const struct bpf_insn store[] = {BPF_STMT(BPF_LD | BPF_IMM, 1234), BPF_STMT(BPF_ST, 5),
                                     BPF_STMT(BPF_STX, 15), BPF_STMT(BPF_RET | BPF_K, 1)};
    const struct bpf_insn load[] = {BPF_STMT(BPF_LD | BPF_MEM, 5),
                                    BPF_STMT(BPF_LDX | BPF_MEM, 15),
                                    BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
                                    BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 7),
                                    BPF_STMT(BPF_RET | BPF_A, 0)};

    cr_assert_eq(RUN(store, 16, 16), 1);
    cr_assert_eq(RUN(load, 16, 16), 7);
}

/* libpcap's answer; the masked shift of x86 (and of Linux) would give 2. */
Test(bpf, shift_by_x_of_32_or_more_gives_zero)
{
    struct bpf_insn prog[] = {BPF_STMT(BPF_LD | BPF_IMM, 0x80000001u),
                              BPF_STMT(BPF_LDX | BPF_IMM, 33),
                              BPF_STMT(BPF_ALU | BPF_LSH | BPF_X, 0),
                              BPF_STMT(BPF_RET | BPF_A, 0)};

    cr_assert_eq(RUN(prog, 16, 16), 0);
    prog[2].code = BPF_ALU | BPF_RSH | BPF_X;
    cr_assert_eq(RUN(prog, 16, 16), 0);
    prog[1].k = 31;
    cr_assert_eq(RUN(prog, 16, 16), 1);
    prog[2].code = BPF_ALU | BPF_LSH | BPF_X;
    cr_assert_eq(RUN(prog, 16, 16), 0x80000000u);
}

Test(bpf, ret_returns_its_value_unclamped)
{
    const struct bpf_insn ret_a[] = {BPF_STMT(BPF_LD | BPF_IMM, 0x12345678),
                                     BPF_STMT(BPF_RET | BPF_A, 0)};
    const struct bpf_insn ret_k[] = {BPF_STMT(BPF_RET | BPF_K, 0xffffffffu)};

    cr_assert_eq(RUN(ret_a, 16, 16), 0x12345678u);
    cr_assert_eq(RUN(ret_k, 16, 16), 0xffffffffu);
}

Test(bpf, jumps_skip_forward_by_their_offsets)
{
    /* A = pkt[0] = 0: jeq #0 takes jt (+1) to ret #2; jset #1 takes jf. */
    const struct bpf_insn prog[] = {BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
                                    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 2, 0),
                                    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
                                    BPF_STMT(BPF_RET | BPF_K, 1),
                                    BPF_STMT(BPF_JMP | BPF_JA, 1),
                                    BPF_STMT(BPF_RET | BPF_K, 3),
                                    BPF_STMT(BPF_RET | BPF_K, 2)};

    assert_valid(prog, 7);
    cr_assert_eq(RUN(prog, 16, 16), 2);
}

/* --- the validator -------------------------------------------------------- */

static int validate(const struct bpf_insn *prog, unsigned nb, char *why, size_t why_size)
{
    memset(why, 'x', why_size - 1);
    why[why_size - 1] = '\0';
    return bpf_validate(prog, nb, why, why_size);
}

Test(bpf, validator_rejects_jump_past_the_end)
{
    const struct bpf_insn prog[] = {BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_RET | BPF_K, 0)};
    char why[64];

    cr_assert_eq(validate(prog, 2, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 0: jump out of range");
}

Test(bpf, validator_rejects_a_jump_whose_offset_wraps)
{
    const struct bpf_insn prog[] = {BPF_STMT(BPF_LD | BPF_IMM, 0),
                                    BPF_STMT(BPF_JMP | BPF_JA, 0xffffffffu),
                                    BPF_STMT(BPF_RET | BPF_K, 0)};
    char why[64];

    cr_assert_eq(validate(prog, 3, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 1: jump out of range");
}

Test(bpf, validator_rejects_conditional_jumps_out_of_range)
{
    const struct bpf_insn jt[] = {BPF_STMT(BPF_LD | BPF_IMM, 0), BPF_STMT(BPF_LD | BPF_IMM, 0),
                                  BPF_STMT(BPF_LD | BPF_IMM, 0),
                                  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
                                  BPF_STMT(BPF_RET | BPF_K, 0)};
    const struct bpf_insn jf[] = {BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 2),
                                  BPF_STMT(BPF_RET | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 1)};
    char why[64];

    cr_assert_eq(validate(jt, 5, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 3: jump out of range");
    cr_assert_eq(validate(jf, 3, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 0: jump out of range");
}

Test(bpf, validator_accepts_a_jump_to_the_last_instruction)
{
    const struct bpf_insn prog[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
                                    BPF_STMT(BPF_RET | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 1)};

    assert_valid(prog, 3);
}

Test(bpf, validator_rejects_unknown_opcodes)
{
    static const uint16_t unknown[] = {
        BPF_LD | BPF_H | BPF_IMM,     /* immediates are words only */
        BPF_LD | BPF_B | BPF_LEN,
        BPF_LD | BPF_W | BPF_MSH,     /* MSH belongs to LDX */
        BPF_LDX | BPF_W | BPF_ABS,    /* LDX has no packet loads but MSH */
        BPF_LDX | BPF_H | BPF_MSH,
        BPF_ST | BPF_H,
        BPF_ALU | BPF_NEG | BPF_X,
        BPF_ALU | 0xb0,
        BPF_ALU | 0xf0 | BPF_X,
        BPF_JMP | BPF_JA | BPF_X,
        BPF_JMP | 0x50,
        BPF_JMP | 0xe0 | BPF_X,
        BPF_RET | BPF_X,              /* RET K and RET A only */
        BPF_MISC | 0x08,
        BPF_MISC | 0xf8,
        0x0100 | BPF_RET | BPF_K,     /* classic opcodes fit in 8 bits */
        0x0100 | BPF_ALU | BPF_ADD | BPF_K,
        0x8000 | BPF_JMP | BPF_JA,
        0xffff,
    };
    char why[64];

    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        const struct bpf_insn prog[] = {{unknown[i], 0, 0, 0}, BPF_STMT(BPF_RET | BPF_K, 0)};
        cr_assert_eq(validate(prog, 2, why, sizeof(why)), -PM_EINVAL, "opcode 0x%04x",
                     unknown[i]);
        cr_assert_str_eq(why, "insn 0: unknown opcode", "opcode 0x%04x", unknown[i]);
    }
}

Test(bpf, validator_accepts_every_classic_opcode)
{
    char why[64];

    for (size_t i = 0; i < NB_OPCODES; i++) {
        /* k = 1 keeps divisors, scratch indexes and jumps legal. */
        const struct bpf_insn prog[] = {{all_opcodes[i], 0, 0, 1}, BPF_STMT(BPF_RET | BPF_K, 0),
                                        BPF_STMT(BPF_RET | BPF_K, 0)};
        cr_assert_eq(validate(prog, 3, why, sizeof(why)), 0, "opcode 0x%04x: %s",
                     all_opcodes[i], why);
    }
}

/* bpf_run's switch has a case for every opcode the validator accepts: each
 * one, followed by "ret #7", runs on to the return (its default case would
 * reject the packet with 0). The exceptions return by themselves: the RETs,
 * and a division by X, which is 0 at the start. */
Test(bpf, every_opcode_the_validator_accepts_runs)
{
    static const uint8_t pkt[64];
    unsigned nb_valid = 0;

    for (uint32_t code = 0; code <= 0xff; code++) {
        const struct bpf_insn prog[] = {{(uint16_t)code, 0, 0, 1}, BPF_STMT(BPF_RET | BPF_K, 7),
                                        BPF_STMT(BPF_RET | BPF_K, 7)};
        if (bpf_validate(prog, 3, NULL, 0) != 0)
            continue;
        nb_valid++;
        if ((code & 0x07) == BPF_RET || code == (BPF_ALU | BPF_DIV | BPF_X) ||
            code == (BPF_ALU | BPF_MOD | BPF_X))
            continue;
        cr_assert_eq(bpf_run(prog, pkt, sizeof(pkt), sizeof(pkt)), 7u, "opcode 0x%02x", code);
    }
    cr_assert_eq(nb_valid, NB_OPCODES, "the validator accepts exactly the classic opcodes");
}

Test(bpf, validator_rejects_division_by_constant_zero)
{
    const struct bpf_insn div[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
                                   BPF_STMT(BPF_RET | BPF_A, 0)};
    const struct bpf_insn mod[] = {BPF_STMT(BPF_LD | BPF_IMM, 3),
                                   BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 0),
                                   BPF_STMT(BPF_RET | BPF_A, 0)};
    char why[64];

    cr_assert_eq(validate(div, 2, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 0: division by constant zero");
    cr_assert_eq(validate(mod, 3, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 1: division by constant zero");
}

Test(bpf, validator_rejects_shift_by_constant_32)
{
    const struct bpf_insn lsh[] = {BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32),
                                   BPF_STMT(BPF_RET | BPF_A, 0)};
    const struct bpf_insn rsh[] = {BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 31),
                                   BPF_STMT(BPF_RET | BPF_A, 0)};
    char why[64];

    cr_assert_eq(validate(lsh, 2, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 0: shift by 32 or more");
    assert_valid(rsh, 2);
}

Test(bpf, validator_rejects_a_program_not_ending_in_return)
{
    const struct bpf_insn prog[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
                                    BPF_STMT(BPF_RET | BPF_K, 0), BPF_STMT(BPF_LD | BPF_IMM, 1)};
    char why[64];

    cr_assert_eq(validate(prog, 3, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 2: last instruction is not a return");
}

Test(bpf, validator_rejects_more_than_512_instructions)
{
    static struct bpf_insn prog[BPF_MAX_INSNS + 1];
    char why[64];

    for (unsigned i = 0; i <= BPF_MAX_INSNS; i++)
        prog[i] = (struct bpf_insn)BPF_STMT(BPF_RET | BPF_K, i);
    cr_assert_eq(validate(prog, BPF_MAX_INSNS + 1, why, sizeof(why)), -PM_ERANGE);
    cr_assert_str_eq(why, "more than 512 instructions");
    cr_assert_eq(validate(prog, BPF_MAX_INSNS, why, sizeof(why)), 0);
}

Test(bpf, validator_rejects_an_empty_program)
{
    const struct bpf_insn prog[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    char why[64];

    cr_assert_eq(validate(prog, 0, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "empty program");
}

Test(bpf, validator_rejects_scratch_index_16)
{
    static const uint16_t uses_memory[] = {BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX};
    char why[64];

    for (size_t i = 0; i < 4; i++) {
        const struct bpf_insn bad[] = {{uses_memory[i], 0, 0, 16}, BPF_STMT(BPF_RET | BPF_K, 0)};
        const struct bpf_insn good[] = {{uses_memory[i], 0, 0, 15}, BPF_STMT(BPF_RET | BPF_K, 0)};
        cr_assert_eq(validate(bad, 2, why, sizeof(why)), -PM_EINVAL);
        cr_assert_str_eq(why, "insn 0: scratch memory index out of range");
        assert_valid(good, 2);
    }
}

Test(bpf, validator_cuts_its_reason_to_the_buffer)
{
    const struct bpf_insn prog[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
                                    BPF_STMT(BPF_RET | BPF_A, 0)};
    char why[8];

    cr_assert_eq(validate(prog, 2, why, sizeof(why)), -PM_EINVAL);
    cr_assert_str_eq(why, "insn 0:");
    cr_assert_eq(bpf_validate(prog, 2, NULL, 0), -PM_EINVAL);
}

Test(bpf, validator_accepts_a_program_from_pcap_compile)
{
    struct bpf_program fp;
    struct bpf_insn prog[BPF_MAX_INSNS];
    char why[64];

    compile("tcp[tcpflags] & tcp-syn != 0 and not vlan and portrange 1000-2000", &fp);
    unsigned nb = to_ours(&fp, prog, BPF_MAX_INSNS);
    pcap_freecode(&fp);
    cr_assert_eq(validate(prog, nb, why, sizeof(why)), 0, "%s", why);
}

/* --- the HEX form --------------------------------------------------------- */

/* Writes prog in the HEX form; returns its length. */
static size_t to_hex(const struct bpf_program *fp, char *hex, size_t size)
{
    size_t len = 0;

    for (unsigned i = 0; i < fp->bf_len; i++) {
        const struct pcap_bpf_insn *in = &fp->bf_insns[i];
        int n = snprintf(hex + len, size - len, "%04x%02x%02x%08x", in->code, in->jt, in->jf,
                         in->k);
        cr_assert_eq(n, 16);
        len += 16;
    }
    return len;
}

Test(bpf, hex_parses_what_tcpdump_dd_prints)
{
    struct bpf_program fp;
    struct bpf_insn prog[BPF_MAX_INSNS];
    static char hex[BPF_MAX_INSNS * 16 + 1];

    compile("ip6 and tcp portrange 8000-8100", &fp);
    size_t len = to_hex(&fp, hex, sizeof(hex));
    int n = bpf_parse_hex(hex, len, prog, BPF_MAX_INSNS);
    cr_assert_eq(n, (int)fp.bf_len);
    for (int i = 0; i < n; i++) {
        const struct pcap_bpf_insn *want = &fp.bf_insns[i];
        cr_assert(prog[i].code == want->code && prog[i].jt == want->jt &&
                  prog[i].jf == want->jf && prog[i].k == want->k, "insn %d", i);
    }
    pcap_freecode(&fp);
}

Test(bpf, hex_reads_fields_in_order_in_either_case)
{
    struct bpf_insn prog[2];
    const char *hex = "0015ab01DEADbeef" "FFFF00FF00000000";

    cr_assert_eq(bpf_parse_hex(hex, 32, prog, 2), 2);
    cr_assert_eq(prog[0].code, 0x0015);
    cr_assert_eq(prog[0].jt, 0xab);
    cr_assert_eq(prog[0].jf, 0x01);
    cr_assert_eq(prog[0].k, 0xdeadbeefu);
    cr_assert_eq(prog[1].code, 0xffff, "the parser reads; the validator judges");
    cr_assert_eq(prog[1].jf, 0xff);
}

Test(bpf, hex_reads_only_len_characters)
{
    struct bpf_insn prog[1];
    const char *hex = "0006000000000001zzzz";

    cr_assert_eq(bpf_parse_hex(hex, 16, prog, 1), 1);
    cr_assert_eq(prog[0].k, 1);
}

Test(bpf, hex_rejects_a_length_not_a_multiple_of_16)
{
    struct bpf_insn prog[4];
    const char *hex = "000600000000ffff000600000000ffff0";

    cr_assert_eq(bpf_parse_hex(hex, 0, prog, 4), -PM_EINVAL);
    cr_assert_eq(bpf_parse_hex(hex, 15, prog, 4), -PM_EINVAL);
    cr_assert_eq(bpf_parse_hex(hex, 17, prog, 4), -PM_EINVAL);
    cr_assert_eq(bpf_parse_hex(hex, 33, prog, 4), -PM_EINVAL);
    cr_assert_eq(bpf_parse_hex(hex, 32, prog, 4), 2);
}

Test(bpf, hex_rejects_a_character_that_is_not_a_digit)
{
    static const char *const bad[] = {
        "g006000000000000", "0006 00000000000", "00060000000000x0", "0x06000000000000",
        "000600000000000-", "00060000\0000000",
    };
    struct bpf_insn prog[1];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(bpf_parse_hex(bad[i], 16, prog, 1), -PM_EINVAL, "case %zu", i);
}

Test(bpf, hex_rejects_more_instructions_than_allowed)
{
    static char hex[(BPF_MAX_INSNS + 1) * 16 + 1];
    static struct bpf_insn prog[BPF_MAX_INSNS + 1];

    for (unsigned i = 0; i <= BPF_MAX_INSNS; i++)
        memcpy(hex + 16 * i, "0006000000000000", 16);
    cr_assert_eq(bpf_parse_hex(hex, 3 * 16, prog, 2), -PM_ERANGE);
    cr_assert_eq(bpf_parse_hex(hex, 2 * 16, prog, 2), 2);
    cr_assert_eq(bpf_parse_hex(hex, (BPF_MAX_INSNS + 1) * 16, prog, BPF_MAX_INSNS + 1),
                 -PM_ERANGE, "no valid program is longer than BPF_MAX_INSNS");
    cr_assert_eq(bpf_parse_hex(hex, BPF_MAX_INSNS * 16, prog, BPF_MAX_INSNS), BPF_MAX_INSNS);
}
