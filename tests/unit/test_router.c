/*
 * Tests for net/router.c (with net/neigh.c): ARP responder and resolver,
 * ICMP echo and errors, forwarding, route and port validation, the
 * neighbour table's timers.
 *
 * Each test runs a real router over a real pool, a real LPM table and the
 * real parser. The io records what the router emits (kept for inspection,
 * freed by finish()) and what it drops (reason kept, buffer freed at once).
 * Checksums are checked with this file's own RFC 1071 sum, not csum.c's.
 * Every test ends in finish(), which asserts the pool is back at the
 * in-use count it had before the test sent anything.
 *
 *   port 0  10.0.0.1/24  02:00:00:00:00:10   host A 10.0.0.2 (52:54:00:00:00:02)
 *   port 1  10.1.0.1/24  02:00:00:00:00:11   host B 10.1.0.2 (52:54:00:00:01:02)
 *                                            gateway 10.1.0.254
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/errno.h"
#include "net/lpm.h"
#include "net/parse.h"
#include "net/pool.h"
#include "net/proto.h"
#include "net/router.h"

#define NB_BUFS      512
#define MAX_EMITTED  4096
#define MAX_DROPPED  4096
#define NS_PER_S     1000000000ull
#define NS_PER_MS    1000000ull
#define T0           (1000ull * NS_PER_S)   /* any clock start will do */
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t MAC_P0[6] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t MAC_P1[6] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t MAC_A[6] = { 0x52, 0x54, 0, 0, 0, 0x02 };
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0, 0, 1, 0x02 };
static const uint8_t MAC_C[6] = { 0x52, 0x54, 0, 0, 0, 0x05 };
static const uint8_t MAC_GW[6] = { 0x52, 0x54, 0, 0, 1, 0xfe };
static const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MAC_ZERO[6];

#define IP_P0 IP4(10, 0, 0, 1)
#define IP_P1 IP4(10, 1, 0, 1)
#define IP_A  IP4(10, 0, 0, 2)
#define IP_B  IP4(10, 1, 0, 2)
#define IP_GW IP4(10, 1, 0, 254)

struct emitted {
    uint16_t port;
    struct pktbuf *pkt;
};

static struct {
    void *pool_mem, *lpm_mem, *router_mem;
    struct pool *pool;
    struct lpm *lpm;
    struct router *r;
    uint32_t baseline;
    unsigned nb_emitted;
    struct emitted emitted[MAX_EMITTED];
    unsigned nb_dropped;
    enum drop_reason dropped[MAX_DROPPED];
    uint16_t dropped_id[MAX_DROPPED];       /* IP id of a dropped IPv4 packet */
} w;

/* --- the io --------------------------------------------------------------- */

static void rec_emit(void *ctx, uint16_t port, struct pktbuf *pkt)
{
    cr_assert_eq(ctx, &w);
    cr_assert_lt(w.nb_emitted, MAX_EMITTED);
    w.emitted[w.nb_emitted++] = (struct emitted){ .port = port, .pkt = pkt };
}

static void rec_drop(void *ctx, struct pktbuf *pkt, enum drop_reason why)
{
    const uint8_t *f = pktbuf_data(pkt);

    cr_assert_eq(ctx, &w);
    cr_assert_lt(w.nb_dropped, MAX_DROPPED);
    w.dropped_id[w.nb_dropped] = (uint16_t)(f[18] << 8 | f[19]);
    w.dropped[w.nb_dropped++] = why;
    pktbuf_free(pkt);
}

static void setup(void)
{
    size_t pool_bytes = 4096 + (size_t)NB_BUFS * (PKTBUF_STRIDE + 16);
    size_t lpm_bytes = lpm_mem_bytes(1024);
    struct router_io io = { .emit = rec_emit, .drop = rec_drop, .ctx = &w };

    memset(&w, 0, sizeof(w));
    w.pool_mem = aligned_alloc(4096, (pool_bytes + 4095) / 4096 * 4096);
    w.pool = pool_create(w.pool_mem, (dma_addr_t)(uintptr_t)w.pool_mem, pool_bytes, NB_BUFS);
    cr_assert_not_null(w.pool);
    w.lpm_mem = malloc(lpm_bytes);
    w.lpm = lpm_create(w.lpm_mem, lpm_bytes, 1024);
    cr_assert_not_null(w.lpm);
    io.pool = w.pool;
    w.router_mem = malloc(router_mem_bytes());
    w.r = router_create(w.router_mem, router_mem_bytes(), w.lpm, &io);
    cr_assert_not_null(w.r);
    cr_assert_eq(router_add_port(w.r, 0, IP_P0, 24, MAC_P0), 0);
    cr_assert_eq(router_add_port(w.r, 1, IP_P1, 24, MAC_P1), 0);
    w.baseline = pool_in_use(w.pool);
}

static void teardown(void)
{
    free(w.router_mem);
    free(w.lpm_mem);
    free(w.pool_mem);
}

TestSuite(router, .init = setup, .fini = teardown);

static void emitted_free(void)
{
    for (unsigned i = 0; i < w.nb_emitted; i++)
        pktbuf_free(w.emitted[i].pkt);
    w.nb_emitted = 0;
}

static void drops_clear(void)
{
    w.nb_dropped = 0;
}

/* Every test ends here: nothing the router took may still be out. */
static void finish(void)
{
    emitted_free();
    cr_assert_eq(pool_in_use(w.pool), w.baseline, "buffers leaked: %u in use, baseline %u",
                 pool_in_use(w.pool), w.baseline);
}

static struct router_stats stats(void)
{
    struct router_stats s;
    router_get_stats(w.r, &s);
    return s;
}

static uint8_t *frame_of(unsigned i)
{
    cr_assert_lt(i, w.nb_emitted);
    return pktbuf_data(w.emitted[i].pkt);
}

static unsigned drops_with(enum drop_reason why)
{
    unsigned n = 0;
    for (unsigned i = 0; i < w.nb_dropped; i++)
        n += w.dropped[i] == why;
    return n;
}

/* --- an independent RFC 1071 checksum ------------------------------------- */

static uint32_t ref_sum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

static bool ref_csum_ok(const uint8_t *p, size_t n)
{
    return ref_sum(p, n) == 0xffff;
}

/* Stores the checksum of p[0..n) (field at p + at, zeroed first). */
static void ref_csum_store(uint8_t *p, size_t n, size_t at)
{
    p[at] = p[at + 1] = 0;
    uint16_t c = (uint16_t)~ref_sum(p, n);
    p[at] = (uint8_t)(c >> 8);
    p[at + 1] = (uint8_t)c;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* --- frames to send ------------------------------------------------------- */

struct ip_spec {
    const uint8_t *eth_dst, *eth_src;
    uint32_t src, dst;
    uint8_t ttl, proto, tos;
    uint16_t id, frag;              /* frag: flags | offset, host order */
    const uint8_t *opts;
    uint8_t opts_len;               /* multiple of 4 */
};

struct frame {
    uint8_t b[1600];
    uint16_t len;
};

static void eth_put(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
}

/* Ethernet + IPv4 (+ options) + l4; padded to 60 bytes unless no_pad. */
static struct frame ipv4_frame(const struct ip_spec *s, const uint8_t *l4, size_t l4_len,
                               bool no_pad)
{
    struct frame fr = { 0 };
    uint8_t *ip = fr.b + 14;
    size_t hlen = 20 + s->opts_len;

    eth_put(fr.b, s->eth_dst, s->eth_src, ETHERTYPE_IPV4);
    ip[0] = (uint8_t)(0x40 | hlen / 4);
    ip[1] = s->tos;
    put16(ip + 2, (uint16_t)(hlen + l4_len));
    put16(ip + 4, s->id);
    put16(ip + 6, s->frag);
    ip[8] = s->ttl;
    ip[9] = s->proto;
    put32(ip + 12, s->src);
    put32(ip + 16, s->dst);
    if (s->opts_len)
        memcpy(ip + 20, s->opts, s->opts_len);
    ref_csum_store(ip, hlen, 10);
    memcpy(ip + hlen, l4, l4_len);
    fr.len = (uint16_t)(14 + hlen + l4_len);
    if (!no_pad && fr.len < 60)
        fr.len = 60;
    return fr;
}

static struct frame udp_frame(const struct ip_spec *s, uint16_t sport, uint16_t dport,
                              size_t payload_len)
{
    uint8_t l4[1500] = { 0 };
    put16(l4, sport);
    put16(l4 + 2, dport);
    put16(l4 + 4, (uint16_t)(8 + payload_len));
    for (size_t i = 0; i < payload_len; i++)
        l4[8 + i] = (uint8_t)(0x40 + i);
    return ipv4_frame(s, l4, 8 + payload_len, false);   /* UDP checksum 0: none */
}

static struct frame icmp_frame(const struct ip_spec *s, uint8_t type, uint8_t code,
                               uint16_t id, uint16_t seq, size_t payload_len)
{
    uint8_t l4[1500] = { 0 };
    l4[0] = type;
    l4[1] = code;
    put16(l4 + 4, id);
    put16(l4 + 6, seq);
    for (size_t i = 0; i < payload_len; i++)
        l4[8 + i] = (uint8_t)(i * 7 + 1);
    ref_csum_store(l4, 8 + payload_len, 2);
    return ipv4_frame(s, l4, 8 + payload_len, false);
}

static struct frame arp_frame(const uint8_t *eth_dst, const uint8_t *eth_src, uint16_t op,
                              const uint8_t *sha, uint32_t spa, const uint8_t *tha,
                              uint32_t tpa)
{
    struct frame fr = { 0 };
    uint8_t *a = fr.b + 14;

    eth_put(fr.b, eth_dst, eth_src, ETHERTYPE_ARP);
    put16(a, ARP_HTYPE_ETHER);
    put16(a + 2, ETHERTYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    put32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    fr.len = 60;
    return fr;
}

/* Into a pool buffer, through the real parser, into the router. */
static void send_frame(uint16_t port, const struct frame *fr, uint64_t now)
{
    struct pktbuf *pkt = pool_get(w.pool);
    struct pkt_info pi;

    cr_assert_not_null(pkt);
    memcpy(pktbuf_data(pkt), fr->b, fr->len);
    pkt->data_len = fr->len;
    pkt->port = port;
    cr_assert_eq(parse_frame(pktbuf_data(pkt), fr->len, &pi), DROP_NONE);
    router_input(w.r, pkt, &pi, now);
}

/* UDP from host A (port 0) to dst. */
static void send_udp_from_a(uint32_t dst, uint8_t ttl, uint16_t id, uint64_t now)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = dst,
                         .ttl = ttl, .proto = IPPROTO_UDP_, .id = id };
    struct frame fr = udp_frame(&s, 40000, 33434, 18);
    send_frame(0, &fr, now);
}

/* An ARP reply to one of our ports: "ip is at mac". */
static void send_arp_reply(uint16_t port, uint32_t ip, const uint8_t *mac, uint64_t now)
{
    const uint8_t *our_mac = port == 0 ? MAC_P0 : MAC_P1;
    struct frame fr = arp_frame(our_mac, mac, ARP_OP_REPLY, mac, ip, our_mac,
                                port == 0 ? IP_P0 : IP_P1);
    send_frame(port, &fr, now);
}

/* A request from ip/mac for our address on port. */
static void send_arp_request_to_us(uint16_t port, uint32_t ip, const uint8_t *mac, uint64_t now)
{
    struct frame fr = arp_frame(MAC_BCAST, mac, ARP_OP_REQUEST, mac, ip, MAC_ZERO,
                                port == 0 ? IP_P0 : IP_P1);
    send_frame(port, &fr, now);
}

/* B is learned (it asked for us); its reply is freed. */
static void learn_b(uint64_t now)
{
    unsigned before = w.nb_emitted;
    send_arp_request_to_us(1, IP_B, MAC_B, now);
    cr_assert_eq(w.nb_emitted, before + 1);
    pktbuf_free(w.emitted[--w.nb_emitted].pkt);
}

/* --- checks on what came out ---------------------------------------------- */

static void expect_arp_request(unsigned i, uint16_t port, uint32_t target)
{
    const uint8_t *f = frame_of(i);
    const uint8_t *our_mac = port == 0 ? MAC_P0 : MAC_P1;

    cr_assert_eq(w.emitted[i].port, port);
    cr_assert_eq(w.emitted[i].pkt->data_len, 60);
    cr_assert_arr_eq(f, MAC_BCAST, 6);
    cr_assert_arr_eq(f + 6, our_mac, 6);
    cr_assert_eq(be16(f + 12), ETHERTYPE_ARP);
    cr_assert_eq(be16(f + 14), ARP_HTYPE_ETHER);
    cr_assert_eq(be16(f + 16), ETHERTYPE_IPV4);
    cr_assert_eq(f[18], 6);
    cr_assert_eq(f[19], 4);
    cr_assert_eq(be16(f + 20), ARP_OP_REQUEST);
    cr_assert_arr_eq(f + 22, our_mac, 6);
    cr_assert_eq(be32(f + 28), port == 0 ? IP_P0 : IP_P1);
    cr_assert_arr_eq(f + 32, MAC_ZERO, 6);
    cr_assert_eq(be32(f + 38), target, "ARP request for %08x, want %08x", be32(f + 38), target);
    for (int k = 42; k < 60; k++)
        cr_assert_eq(f[k], 0, "pad byte %d", k);
}

static bool is_arp(unsigned i)
{
    return be16(frame_of(i) + 12) == ETHERTYPE_ARP;
}

static unsigned count_arp_requests(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < w.nb_emitted; i++)
        n += is_arp(i) && be16(frame_of(i) + 20) == ARP_OP_REQUEST;
    return n;
}

/* An ICMP error: well-formed, checksums right, quoting orig's IP header
 * and 8 bytes; back out of in_port to the previous hop. */
static void expect_icmp_error(unsigned i, uint16_t in_port, const uint8_t *prev_hop_mac,
                              uint32_t from, const struct frame *orig, uint8_t type,
                              uint8_t code)
{
    const uint8_t *f = frame_of(i);
    const uint8_t *ip = f + 14, *icmp = f + 34;
    const uint8_t *orig_ip = orig->b + 14;
    size_t quote = (size_t)(orig_ip[0] & 0xf) * 4 + 8;

    cr_assert_eq(w.emitted[i].port, in_port);
    cr_assert_arr_eq(f, prev_hop_mac, 6);
    cr_assert_arr_eq(f + 6, in_port == 0 ? MAC_P0 : MAC_P1, 6);
    cr_assert_eq(be16(f + 12), ETHERTYPE_IPV4);
    cr_assert_eq(ip[0], 0x45);
    cr_assert_eq(ip[1], 0xc0, "precedence 6 (RFC 1812 4.3.2.5)");
    cr_assert_eq(be16(ip + 2), 20 + 8 + quote);
    cr_assert_eq(be16(ip + 6), 0);
    cr_assert_eq(ip[8], 64);
    cr_assert_eq(ip[9], IPPROTO_ICMP_);
    cr_assert(ref_csum_ok(ip, 20), "IP header checksum");
    cr_assert_eq(be32(ip + 12), from);
    cr_assert_eq(be32(ip + 16), be32(orig_ip + 12));
    cr_assert_eq(icmp[0], type);
    cr_assert_eq(icmp[1], code);
    cr_assert_eq(be32(icmp + 4), 0, "unused word");
    cr_assert(ref_csum_ok(icmp, 8 + quote), "ICMP checksum");
    cr_assert_arr_eq(icmp + 8, orig_ip, quote, "quotes the header and 8 bytes as received");
    cr_assert_eq(w.emitted[i].pkt->data_len, 14 + 20 + 8 + quote);
}

/* --- ARP ------------------------------------------------------------------ */

Test(router, arp_request_for_port_address_is_answered_with_every_field_set)
{
    send_arp_request_to_us(0, IP_A, MAC_A, T0);

    cr_assert_eq(w.nb_dropped, 0);
    cr_assert_eq(w.nb_emitted, 1);
    const uint8_t *f = frame_of(0);
    cr_assert_eq(w.emitted[0].port, 0);
    cr_assert_eq(w.emitted[0].pkt->data_len, 60);
    cr_assert_arr_eq(f, MAC_A, 6);
    cr_assert_arr_eq(f + 6, MAC_P0, 6);
    cr_assert_eq(be16(f + 12), ETHERTYPE_ARP);
    cr_assert_eq(be16(f + 14), ARP_HTYPE_ETHER);
    cr_assert_eq(be16(f + 16), ETHERTYPE_IPV4);
    cr_assert_eq(f[18], 6);
    cr_assert_eq(f[19], 4);
    cr_assert_eq(be16(f + 20), ARP_OP_REPLY);
    cr_assert_arr_eq(f + 22, MAC_P0, 6);
    cr_assert_eq(be32(f + 28), IP_P0);
    cr_assert_arr_eq(f + 32, MAC_A, 6);
    cr_assert_eq(be32(f + 38), IP_A);
    for (int k = 42; k < 60; k++)
        cr_assert_eq(f[k], 0, "pad byte %d", k);
    cr_assert_eq(stats().arp_replies_sent, 1);
    finish();
}

Test(router, arp_request_for_another_address_is_ignored)
{
    struct frame other_host = arp_frame(MAC_BCAST, MAC_A, ARP_OP_REQUEST, MAC_A, IP_A, MAC_ZERO,
                                        IP4(10, 0, 0, 7));
    struct frame other_port = arp_frame(MAC_BCAST, MAC_A, ARP_OP_REQUEST, MAC_A, IP_A, MAC_ZERO,
                                        IP_P1);
    send_frame(0, &other_host, T0);
    send_frame(0, &other_port, T0);     /* port 1's address asked on port 0 */

    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_NOT_FOR_US), 2);
    cr_assert_eq(stats().arp_learned, 0, "only ARP meant for us creates entries (RFC 826)");
    finish();
}

Test(router, arp_request_for_us_teaches_the_sender)
{
    learn_b(T0);
    send_udp_from_a(IP_B, 64, 1, T0 + 1);

    cr_assert_eq(w.nb_emitted, 1, "forwarded at once, no ARP request");
    cr_assert_eq(w.emitted[0].port, 1);
    cr_assert_arr_eq(frame_of(0), MAC_B, 6);
    cr_assert_eq(stats().arp_learned, 1);
    finish();
}

Test(router, arp_reply_learns_and_flushes_parked_packets_in_order)
{
    for (uint16_t id = 1; id <= 3; id++) {
        struct ip_spec s = { .eth_dst = MAC_P1, .eth_src = MAC_B, .src = IP_B,
                             .dst = IP4(10, 0, 0, 5), .ttl = 9, .proto = IPPROTO_UDP_, .id = id };
        struct frame fr = udp_frame(&s, 1000, 2000, 10);
        send_frame(1, &fr, T0 + id);
    }
    cr_assert_eq(w.nb_dropped, 0);
    cr_assert_eq(w.nb_emitted, 1, "one request, packets parked");
    expect_arp_request(0, 0, IP4(10, 0, 0, 5));
    emitted_free();

    send_arp_reply(0, IP4(10, 0, 0, 5), MAC_C, T0 + 10);

    cr_assert_eq(w.nb_emitted, 3);
    for (unsigned i = 0; i < 3; i++) {
        const uint8_t *f = frame_of(i);
        cr_assert_eq(w.emitted[i].port, 0);
        cr_assert_arr_eq(f, MAC_C, 6);
        cr_assert_arr_eq(f + 6, MAC_P0, 6);
        cr_assert_eq(be16(f + 18), i + 1, "in the order they were parked");
        cr_assert_eq(f[22], 8, "TTL decremented");
        cr_assert(ref_csum_ok(f + 14, 20));
    }
    cr_assert_eq(w.nb_dropped, 1);
    cr_assert_eq(w.dropped[0], DROP_NONE, "the reply itself is used up, not dropped");
    cr_assert_eq(stats().arp_learned, 1);
    cr_assert_eq(stats().forwarded, 3);
    finish();
}

Test(router, parked_queue_overflow_drops_arp_queue_full)
{
    for (uint16_t id = 1; id <= ROUTER_NEIGH_QUEUE + 2; id++)
        send_udp_from_a(IP4(10, 1, 0, 9), 64, id, T0);

    cr_assert_eq(count_arp_requests(), 1);
    cr_assert_eq(drops_with(DROP_ARP_QUEUE_FULL), 2);
    cr_assert_eq(w.dropped_id[0], ROUTER_NEIGH_QUEUE + 1, "the newest are dropped");
    cr_assert_eq(stats().neigh_queue_drops, 2);
    emitted_free();

    send_arp_reply(1, IP4(10, 1, 0, 9), MAC_C, T0 + 1);
    cr_assert_eq(w.nb_emitted, ROUTER_NEIGH_QUEUE);
    finish();
}

Test(router, unanswered_arp_is_retried_then_parked_packets_drop_no_neighbor)
{
    for (uint16_t id = 1; id <= 3; id++)
        send_udp_from_a(IP4(10, 1, 0, 9), 64, id, T0);
    cr_assert_eq(count_arp_requests(), 1);

    router_tick(w.r, T0 + ROUTER_ARP_RETRY_NS / 2);
    cr_assert_eq(count_arp_requests(), 1, "not before the retry interval");
    for (unsigned k = 1; k <= ROUTER_ARP_RETRIES; k++) {
        router_tick(w.r, T0 + k * ROUTER_ARP_RETRY_NS);
        cr_assert_eq(count_arp_requests(), 1 + k);
        expect_arp_request(w.nb_emitted - 1, 1, IP4(10, 1, 0, 9));
        cr_assert_eq(w.nb_dropped, 0, "still waiting after %u retries", k);
    }
    unsigned before = w.nb_emitted;
    router_tick(w.r, T0 + (ROUTER_ARP_RETRIES + 1) * ROUTER_ARP_RETRY_NS);

    cr_assert_eq(count_arp_requests(), 1 + ROUTER_ARP_RETRIES, "no request after giving up");
    cr_assert_eq(drops_with(DROP_NO_NEIGHBOR), 3);
    cr_assert_eq(stats().neigh_failures, 1);
    cr_assert_eq(w.nb_emitted, before + 3, "a host unreachable for each");
    for (unsigned i = before; i < w.nb_emitted; i++) {
        const uint8_t *f = frame_of(i);
        cr_assert_eq(w.emitted[i].port, 0);
        cr_assert_eq(f[34], ICMP_DEST_UNREACH);
        cr_assert_eq(f[35], ICMP_UNREACH_HOST);
    }
    finish();
}

Test(router, failed_neighbour_drops_until_hold_down_then_resolves_again)
{
    uint64_t t_fail = T0 + (ROUTER_ARP_RETRIES + 1) * ROUTER_ARP_RETRY_NS;

    send_udp_from_a(IP4(10, 1, 0, 9), 64, 1, T0);
    for (unsigned k = 1; k <= ROUTER_ARP_RETRIES + 1; k++)
        router_tick(w.r, T0 + k * ROUTER_ARP_RETRY_NS);
    cr_assert_eq(drops_with(DROP_NO_NEIGHBOR), 1);
    emitted_free();
    drops_clear();

    send_udp_from_a(IP4(10, 1, 0, 9), 64, 2, t_fail + 1);
    cr_assert_eq(drops_with(DROP_NO_NEIGHBOR), 1, "dropped at once during the hold-down");
    cr_assert_eq(count_arp_requests(), 0);
    emitted_free();

    send_udp_from_a(IP4(10, 1, 0, 9), 64, 3, t_fail + ROUTER_NEIGH_FAILED_HOLD_NS);
    cr_assert_eq(w.nb_emitted, 1);
    expect_arp_request(0, 1, IP4(10, 1, 0, 9));
    cr_assert_eq(w.nb_dropped, 1, "parked, not dropped");
    emitted_free();

    send_arp_reply(1, IP4(10, 1, 0, 9), MAC_C, t_fail + ROUTER_NEIGH_FAILED_HOLD_NS + 1);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_eq(be16(frame_of(0) + 18), 3);
    finish();
}

Test(router, gratuitous_arp_updates_an_existing_entry_only)
{
    struct frame garp_c = arp_frame(MAC_BCAST, MAC_C, ARP_OP_REQUEST, MAC_C, IP4(10, 0, 0, 5),
                                    MAC_ZERO, IP4(10, 0, 0, 5));
    send_frame(0, &garp_c, T0);
    cr_assert_eq(stats().arp_learned, 0, "an unknown sender is not learned");
    cr_assert_eq(drops_with(DROP_NOT_FOR_US), 1);

    /* B learned; then B announces a new MAC, which forwarding must use. */
    learn_b(T0);
    struct frame garp_b = arp_frame(MAC_BCAST, MAC_C, ARP_OP_REQUEST, MAC_C, IP_B, MAC_ZERO,
                                    IP_B);
    send_frame(1, &garp_b, T0 + 1);
    send_udp_from_a(IP_B, 64, 1, T0 + 2);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_arr_eq(frame_of(0), MAC_C, 6);
    finish();
}

Test(router, gratuitous_arp_resolves_a_pending_entry)
{
    send_udp_from_a(IP4(10, 1, 0, 9), 64, 1, T0);
    emitted_free();
    struct frame garp = arp_frame(MAC_BCAST, MAC_C, ARP_OP_REPLY, MAC_C, IP4(10, 1, 0, 9),
                                  MAC_BCAST, IP4(10, 1, 0, 9));
    send_frame(1, &garp, T0 + 1);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_arr_eq(frame_of(0), MAC_C, 6);
    finish();
}

Test(router, arp_from_a_sender_off_the_port_network_is_answered_but_not_learned)
{
    send_arp_request_to_us(0, IP4(10, 7, 0, 1), MAC_C, T0);
    cr_assert_eq(w.nb_emitted, 1, "answered");
    cr_assert_eq(stats().arp_learned, 0);
    finish();
}

/* --- ICMP echo ------------------------------------------------------------ */

static struct ip_spec echo_from_a(uint32_t dst)
{
    return (struct ip_spec){ .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = dst,
                             .ttl = 5, .proto = IPPROTO_ICMP_, .tos = 0x10, .id = 77 };
}

static void expect_echo_reply(unsigned i, uint32_t from, const struct frame *req)
{
    const uint8_t *f = frame_of(i), *ip = f + 14, *icmp = f + 34;
    const uint8_t *req_ip = req->b + 14;
    const uint8_t *req_icmp = req_ip + (req_ip[0] & 0xf) * 4;
    size_t icmp_len = be16(req_ip + 2) - (size_t)(req_ip[0] & 0xf) * 4;

    cr_assert_eq(w.emitted[i].port, 0);
    cr_assert_arr_eq(f, MAC_A, 6);
    cr_assert_arr_eq(f + 6, MAC_P0, 6);
    cr_assert_eq(be16(f + 12), ETHERTYPE_IPV4);
    cr_assert_eq(ip[0], 0x45);
    cr_assert_eq(be16(ip + 2), 20 + icmp_len);
    cr_assert_eq(ip[8], 64);
    cr_assert_eq(ip[9], IPPROTO_ICMP_);
    cr_assert(ref_csum_ok(ip, 20), "IP header checksum");
    cr_assert_eq(be32(ip + 12), from);
    cr_assert_eq(be32(ip + 16), IP_A);
    cr_assert_eq(icmp[0], ICMP_ECHO_REPLY);
    cr_assert_eq(icmp[1], 0);
    cr_assert(ref_csum_ok(icmp, icmp_len), "ICMP checksum");
    cr_assert_arr_eq(icmp + 4, req_icmp + 4, icmp_len - 4, "id, seq and data echoed");
    size_t len = 14 + 20 + icmp_len;
    cr_assert_eq(w.emitted[i].pkt->data_len, len < 60 ? 60 : len);
}

Test(router, echo_request_gets_a_correct_reply)
{
    struct ip_spec s = echo_from_a(IP_P0);
    struct frame req = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 0x1234, 7, 56);

    send_frame(0, &req, T0);

    cr_assert_eq(w.nb_dropped, 0);
    cr_assert_eq(w.nb_emitted, 1);
    expect_echo_reply(0, IP_P0, &req);
    cr_assert_eq(stats().icmp_echo_replies, 1);
    finish();
}

Test(router, echo_replies_have_valid_checksums_for_any_id_and_payload)
{
    struct ip_spec s = echo_from_a(IP_P0);

    for (unsigned k = 0; k < 300; k++) {
        struct frame req = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, (uint16_t)(k * 0x1111),
                                      (uint16_t)(0xffff - k), k % 61);
        send_frame(0, &req, T0 + k);
        expect_echo_reply(w.nb_emitted - 1, IP_P0, &req);
        emitted_free();
    }
    finish();
}

Test(router, echo_to_another_port_address_is_answered_from_that_address)
{
    struct ip_spec s = echo_from_a(IP_P1);
    struct frame req = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 1, 1, 8);

    send_frame(0, &req, T0);
    cr_assert_eq(w.nb_emitted, 1);
    expect_echo_reply(0, IP_P1, &req);
    finish();
}

Test(router, echo_with_ip_options_is_answered_without_them)
{
    static const uint8_t nops[4] = { 1, 1, 1, 0 };
    struct ip_spec s = echo_from_a(IP_P0);
    s.opts = nops;
    s.opts_len = 4;
    struct frame req = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 9, 9, 32);

    send_frame(0, &req, T0);
    cr_assert_eq(w.nb_emitted, 1);
    expect_echo_reply(0, IP_P0, &req);
    finish();
}

Test(router, echo_with_bad_checksum_is_dropped)
{
    struct ip_spec s = echo_from_a(IP_P0);
    struct frame req = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 1, 1, 16);

    req.b[14 + 20 + 8 + 3] ^= 0x40;
    send_frame(0, &req, T0);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(w.nb_dropped, 1);
    cr_assert_eq(w.dropped[0], DROP_BAD_L4_CSUM);
    finish();
}

/* Echo requests from A to us, n of them, t_step apart from t. */
static void send_echo_flood(unsigned n, uint64_t t, uint64_t t_step)
{
    struct ip_spec s = echo_from_a(IP_P0);

    for (unsigned i = 0; i < n; i++) {
        struct frame req = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 1, (uint16_t)i, 16);
        send_frame(0, &req, t + i * t_step);
    }
}

Test(router, echo_replies_are_rate_limited_and_the_rest_dropped_icmp_rate_limit)
{
    /* 2000 requests 1 us apart: the saved-up burst, plus the tokens the
     * 1999 us between the first and the last earn. */
    send_echo_flood(2000, T0, 1000);

    unsigned earned = (unsigned)(1999 * 1000 / (NS_PER_S / ROUTER_ECHO_RATE));
    cr_assert_eq(w.nb_emitted, ROUTER_ECHO_BURST + earned);
    cr_assert_eq(drops_with(DROP_ICMP_RATE_LIMIT), 2000 - ROUTER_ECHO_BURST - earned);
    cr_assert_eq(stats().icmp_echo_replies, ROUTER_ECHO_BURST + earned);
    cr_assert_eq(stats().icmp_rate_limited, 2000 - ROUTER_ECHO_BURST - earned);
    emitted_free();

    /* The flood goes on, 10 requests per token interval for about 100
     * intervals: one reply per interval, the bucket never fills again. */
    uint64_t token_ns = NS_PER_S / ROUTER_ECHO_RATE;
    drops_clear();
    send_echo_flood(1000, T0 + 2 * NS_PER_MS, token_ns / 10);
    uint64_t last = T0 + 2 * NS_PER_MS + 999 * (token_ns / 10);
    unsigned due = (unsigned)((last - T0) / token_ns) - earned;
    cr_assert_eq(w.nb_emitted, due);
    cr_assert_eq(drops_with(DROP_ICMP_RATE_LIMIT), 1000 - due);
    finish();
}

Test(router, echo_flood_leaves_the_error_bucket_alone_and_the_reverse)
{
    send_echo_flood(3000, T0, 10);
    emitted_free();
    send_udp_from_a(IP_B, 1, 1, T0 + NS_PER_MS);
    cr_assert_eq(w.nb_emitted, 1, "time exceeded still sent after a ping flood");
    cr_assert_eq(frame_of(0)[34], ICMP_TIME_EXCEEDED);
    emitted_free();

    for (unsigned i = 0; i < 1000; i++)
        send_udp_from_a(IP_B, 1, (uint16_t)i, T0 + 10 * NS_PER_S);
    cr_assert_eq(w.nb_emitted, ROUTER_ICMP_BURST);
    emitted_free();
    send_echo_flood(1, T0 + 10 * NS_PER_S, 0);
    cr_assert_eq(w.nb_emitted, 1, "echo answered after a TTL flood");
    finish();
}

Test(router, echo_with_bad_checksum_costs_no_token)
{
    struct ip_spec s = echo_from_a(IP_P0);
    struct frame bad = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 1, 1, 16);
    bad.b[14 + 20 + 8] ^= 0x01;

    for (unsigned i = 0; i < 3 * ROUTER_ECHO_BURST; i++)
        send_frame(0, &bad, T0);
    cr_assert_eq(drops_with(DROP_BAD_L4_CSUM), 3 * ROUTER_ECHO_BURST);
    send_echo_flood(ROUTER_ECHO_BURST, T0, 0);
    cr_assert_eq(w.nb_emitted, ROUTER_ECHO_BURST, "the whole burst is still there");
    finish();
}

Test(router, icmp_rates_can_be_set_and_bad_ones_are_refused)
{
    cr_assert_eq(router_set_icmp_rate(w.r, 0, 10), -PM_ERANGE);
    cr_assert_eq(router_set_icmp_rate(w.r, 10, 0), -PM_ERANGE);
    cr_assert_eq(router_set_icmp_rate(w.r, ROUTER_ICMP_RATE_MAX + 1, 10), -PM_ERANGE);
    cr_assert_eq(router_set_icmp_rate(w.r, 10, ROUTER_ICMP_RATE_MAX + 1), -PM_ERANGE);
    cr_assert_eq(router_set_icmp_rate(w.r, 1, 20), 0);

    /* echo: 20/s, burst 10; errors: 1/s, burst 1 (never less than one). */
    send_echo_flood(100, T0, 1000);
    cr_assert_eq(w.nb_emitted, 10);
    emitted_free();
    for (unsigned i = 0; i < 10; i++)
        send_udp_from_a(IP_B, 1, (uint16_t)i, T0 + NS_PER_MS);
    cr_assert_eq(w.nb_emitted, 1);
    emitted_free();
    for (unsigned i = 0; i < 10; i++)
        send_udp_from_a(IP_B, 1, (uint16_t)i, T0 + NS_PER_MS + NS_PER_S);
    cr_assert_eq(w.nb_emitted, 1, "one token a second");
    emitted_free();
    send_echo_flood(100, T0 + NS_PER_S, 0);
    cr_assert_eq(w.nb_emitted, 10, "echo refilled to its burst after a second");
    finish();
}

/* --- other traffic to us -------------------------------------------------- */

Test(router, fragment_to_us_is_dropped)
{
    struct ip_spec s = echo_from_a(IP_P0);
    s.frag = IPV4_FLAG_MF;
    struct frame req = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 1, 1, 16);

    send_frame(0, &req, T0);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_FRAGMENT), 1);
    finish();
}

Test(router, udp_to_us_gets_port_unreachable_from_the_address_it_was_sent_to)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_P1,
                         .ttl = 3, .proto = IPPROTO_UDP_, .id = 5 };
    struct frame fr = udp_frame(&s, 40000, 33434, 12);

    send_frame(0, &fr, T0);
    cr_assert_eq(drops_with(DROP_LOCAL_UNHANDLED), 1);
    cr_assert_eq(w.nb_emitted, 1);
    expect_icmp_error(0, 0, MAC_A, IP_P1, &fr, ICMP_DEST_UNREACH, ICMP_UNREACH_PORT);
    finish();
}

Test(router, tcp_and_other_icmp_to_us_are_dropped_without_reply)
{
    uint8_t tcp[20] = { 0x9c, 0x40, 0, 22, [12] = 0x50, [13] = 0x02 };
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_P0,
                         .ttl = 3, .proto = IPPROTO_TCP_ };
    struct frame syn = ipv4_frame(&s, tcp, sizeof(tcp), false);
    struct ip_spec e = echo_from_a(IP_P0);
    struct frame echo_reply = icmp_frame(&e, ICMP_ECHO_REPLY, 0, 1, 1, 8);

    send_frame(0, &syn, T0);
    send_frame(0, &echo_reply, T0);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_LOCAL_UNHANDLED), 2);
    finish();
}

/* --- ICMP errors ---------------------------------------------------------- */

Test(router, ttl_1_sends_time_exceeded_quoting_the_header_and_drops_ttl_expired)
{
    for (uint8_t ttl = 0; ttl <= 1; ttl++) {
        struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                             .ttl = ttl, .proto = IPPROTO_UDP_, .id = 0xbeef };
        struct frame fr = udp_frame(&s, 40000, 33434, 30);
        send_frame(0, &fr, T0);
        cr_assert_eq(w.nb_dropped, 1);
        cr_assert_eq(w.dropped[0], DROP_TTL_EXPIRED);
        cr_assert_eq(w.nb_emitted, 1);
        expect_icmp_error(0, 0, MAC_A, IP_P0, &fr, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL);
        emitted_free();
        drops_clear();
    }
    cr_assert_eq(stats().icmp_errors_sent, 2);
    finish();
}

Test(router, time_exceeded_quotes_ip_options_too)
{
    static const uint8_t nops[8] = { 1, 1, 1, 1, 1, 1, 1, 0 };
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 1, .proto = IPPROTO_UDP_, .opts = nops, .opts_len = 8 };
    struct frame fr = udp_frame(&s, 1, 2, 30);

    send_frame(0, &fr, T0);
    cr_assert_eq(w.nb_emitted, 1);
    expect_icmp_error(0, 0, MAC_A, IP_P0, &fr, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL);
    finish();
}

Test(router, no_route_sends_net_unreachable)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A,
                         .dst = IP4(8, 8, 8, 8), .ttl = 64, .proto = IPPROTO_UDP_, .id = 3 };
    struct frame fr = udp_frame(&s, 5353, 53, 20);

    send_frame(0, &fr, T0);
    cr_assert_eq(w.nb_dropped, 1);
    cr_assert_eq(w.dropped[0], DROP_NO_ROUTE);
    cr_assert_eq(w.nb_emitted, 1);
    expect_icmp_error(0, 0, MAC_A, IP_P0, &fr, ICMP_DEST_UNREACH, ICMP_UNREACH_NET);
    finish();
}

Test(router, no_icmp_error_about_an_icmp_error)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 1, .proto = IPPROTO_ICMP_ };
    struct frame unreach = icmp_frame(&s, ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, 0, 0, 28);
    struct frame exceeded = icmp_frame(&s, ICMP_TIME_EXCEEDED, 0, 0, 0, 28);
    struct frame echo = icmp_frame(&s, ICMP_ECHO_REQUEST, 0, 1, 1, 8);

    send_frame(0, &unreach, T0);
    send_frame(0, &exceeded, T0);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_TTL_EXPIRED), 2);
    cr_assert_eq(stats().icmp_rate_limited, 0, "not sent at all, rather than suppressed");

    send_frame(0, &echo, T0);
    cr_assert_eq(w.nb_emitted, 1, "an echo request is a query, not an error");
    expect_icmp_error(0, 0, MAC_A, IP_P0, &echo, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL);
    finish();
}

Test(router, no_icmp_error_about_a_non_first_fragment)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 1, .proto = IPPROTO_UDP_, .frag = 185 };
    struct frame later = udp_frame(&s, 1, 2, 30);
    s.frag = IPV4_FLAG_MF;
    struct frame first = udp_frame(&s, 1, 2, 30);

    send_frame(0, &later, T0);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_TTL_EXPIRED), 1);

    send_frame(0, &first, T0);
    cr_assert_eq(w.nb_emitted, 1, "the first fragment does get one");
    expect_icmp_error(0, 0, MAC_A, IP_P0, &first, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL);
    finish();
}

Test(router, icmp_errors_are_rate_limited_under_a_flood)
{
    /* 1000 expiring packets in 1 ms of virtual time. */
    for (unsigned i = 0; i < 1000; i++)
        send_udp_from_a(IP_B, 1, (uint16_t)i, T0 + i * 1000);

    cr_assert_eq(drops_with(DROP_TTL_EXPIRED), 1000, "every packet still dropped as expired");
    cr_assert_eq(w.nb_emitted, ROUTER_ICMP_BURST);
    cr_assert_eq(stats().icmp_rate_limited, 1000 - ROUTER_ICMP_BURST);
    cr_assert_eq(stats().icmp_errors_sent, ROUTER_ICMP_BURST);
    emitted_free();

    /* Refill: one token per 1/RATE s. */
    uint64_t t = T0 + NS_PER_MS + 2 * (NS_PER_S / ROUTER_ICMP_RATE);
    for (unsigned i = 0; i < 10; i++)
        send_udp_from_a(IP_B, 1, (uint16_t)i, t);
    cr_assert_eq(w.nb_emitted, 2, "two tokens earned in two intervals");
    emitted_free();

    /* A long quiet spell saves up no more than the burst. */
    t += 60 * NS_PER_S;
    for (unsigned i = 0; i < 2 * ROUTER_ICMP_BURST; i++)
        send_udp_from_a(IP_B, 1, (uint16_t)i, t);
    cr_assert_eq(w.nb_emitted, ROUTER_ICMP_BURST);
    emitted_free();

    /* Steady pressure every 1.5 token intervals: the half intervals add up,
     * 20 calls earn 30 tokens, not 20. */
    uint64_t token_ns = NS_PER_S / ROUTER_ICMP_RATE;
    for (unsigned k = 1; k <= 20; k++)
        for (unsigned i = 0; i < 3; i++)
            send_udp_from_a(IP_B, 1, (uint16_t)i, t + k * token_ns * 3 / 2);
    cr_assert_eq(w.nb_emitted, 30);
    finish();
}

Test(router, pool_exhaustion_costs_the_icmp_error_not_the_router)
{
    struct pktbuf *hoard[NB_BUFS];
    unsigned n = pool_get_bulk(w.pool, hoard, NB_BUFS);
    struct pktbuf *one = hoard[--n];

    pktbuf_free(one);                   /* room for the packet that expires */
    send_udp_from_a(IP_B, 1, 1, T0);
    cr_assert_eq(drops_with(DROP_TTL_EXPIRED), 1);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(stats().no_buffer, 1);
    pool_put_bulk(w.pool, hoard, n);
    finish();
}

/* --- forwarding ----------------------------------------------------------- */

Test(router, forwarding_rewrites_macs_and_ttl_with_checksum_equal_to_recompute)
{
    learn_b(T0);
    for (unsigned ttl = 2; ttl <= 255; ttl++) {
        for (unsigned k = 0; k < 4; k++) {
            struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                                 .ttl = (uint8_t)ttl, .proto = IPPROTO_UDP_,
                                 .tos = (uint8_t)(k * 0x44),
                                 .id = (uint16_t)(ttl * 251 + k * 0x4000),
                                 .frag = k == 3 ? IPV4_FLAG_DF : 0 };
            struct frame fr = udp_frame(&s, 1000, 2000, 40);
            send_frame(0, &fr, T0 + 1);

            cr_assert_eq(w.nb_emitted, 1);
            uint8_t *f = frame_of(0);
            cr_assert_eq(w.emitted[0].port, 1);
            cr_assert_eq(w.emitted[0].pkt->data_len, fr.len);
            cr_assert_arr_eq(f, MAC_B, 6);
            cr_assert_arr_eq(f + 6, MAC_P1, 6);
            cr_assert_eq(f[22], ttl - 1);
            uint8_t hdr[20];
            memcpy(hdr, f + 14, 20);
            ref_csum_store(hdr, 20, 10);
            cr_assert_eq(be16(f + 24), be16(hdr + 10), "ttl %u: incremental %04x, recomputed %04x",
                         ttl, be16(f + 24), be16(hdr + 10));
            /* Nothing else changed. */
            cr_assert_arr_eq(f + 12, fr.b + 12, 10);
            cr_assert_arr_eq(f + 23, fr.b + 23, 1);
            cr_assert_arr_eq(f + 26, fr.b + 26, fr.len - 26);
            emitted_free();
        }
    }
    cr_assert_eq(w.nb_dropped, 0);
    finish();
}

Test(router, forwarded_short_frame_is_padded_to_60_bytes)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 9, .proto = IPPROTO_UDP_ };
    uint8_t udp[8] = { 0, 1, 0, 2, 0, 8, 0, 0 };
    struct frame fr = ipv4_frame(&s, udp, sizeof(udp), true);   /* 42 bytes, as virtio delivers */

    cr_assert_eq(fr.len, 42);
    learn_b(T0);
    struct pktbuf *pkt = pool_get(w.pool);
    memset(pktbuf_data(pkt), 0xee, 128);      /* stale bytes past the frame */
    memcpy(pktbuf_data(pkt), fr.b, fr.len);
    pkt->data_len = fr.len;
    pkt->port = 0;
    struct pkt_info pi;
    cr_assert_eq(parse_frame(pktbuf_data(pkt), fr.len, &pi), DROP_NONE);
    router_input(w.r, pkt, &pi, T0 + 1);

    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_eq(w.emitted[0].pkt->data_len, 60);
    for (int k = 42; k < 60; k++)
        cr_assert_eq(frame_of(0)[k], 0, "pad byte %d", k);
    finish();
}

/* A frame longer than the IP packet it carries: what follows the packet is
 * not passed on. */
Test(router, forwarded_frame_is_cut_to_its_ip_packet)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 9, .proto = IPPROTO_UDP_ };
    struct frame small = udp_frame(&s, 1, 2, 30);         /* 72 bytes */
    struct frame junk = small;
    memset(junk.b + small.len, 0xa5, 1000);
    junk.len = (uint16_t)(small.len + 1000);

    learn_b(T0);
    send_frame(0, &junk, T0 + 1);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_eq(w.emitted[0].pkt->data_len, small.len);
    finish();
}

static struct frame udp_with_options(const uint8_t *opts, uint8_t opts_len)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 9, .proto = IPPROTO_UDP_, .opts = opts, .opts_len = opts_len };
    return udp_frame(&s, 1, 2, 20);
}

Test(router, options_are_forwarded_unchanged)
{
    /* Record route with room for 2 addresses, a timestamp, NOPs, END. */
    static const uint8_t rr_ts_nop[24] = {
        7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0,       /* RR */
        68, 8, 5, 0, 0, 0, 0, 0,                /* timestamp, 1 slot */
        1, 1, 1, 0, 0,                          /* NOP NOP NOP END pad */
    };
    static const uint8_t max_nops[40] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    };
    const struct { const uint8_t *o; uint8_t len; } cases[] = { { rr_ts_nop, 24 }, { max_nops, 40 } };

    learn_b(T0);
    for (unsigned i = 0; i < 2; i++) {
        struct frame fr = udp_with_options(cases[i].o, cases[i].len);
        send_frame(0, &fr, T0 + 1);
        cr_assert_eq(w.nb_emitted, 1, "case %u", i);
        cr_assert_eq(w.emitted[0].pkt->data_len, fr.len);
        cr_assert_arr_eq(frame_of(0) + 34, fr.b + 34, cases[i].len, "options untouched");
        emitted_free();
    }
    cr_assert_eq(w.nb_dropped, 0);
    finish();
}

Test(router, source_routes_are_dropped_unsupported)
{
    /* LSRR and SSRR with one address each, after a NOP. */
    static const uint8_t lsrr[8] = { 1, 131, 7, 4, 10, 1, 0, 2 };
    static const uint8_t ssrr[8] = { 137, 7, 4, 10, 1, 0, 2, 0 };

    learn_b(T0);
    struct frame a = udp_with_options(lsrr, 8), b = udp_with_options(ssrr, 8);
    send_frame(0, &a, T0 + 1);
    send_frame(0, &b, T0 + 1);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_UNSUPPORTED), 2);
    finish();
}

Test(router, malformed_options_are_dropped_bad_ihl)
{
    static const uint8_t zero_len[4] = { 7, 0, 0, 0 };
    static const uint8_t one_len[4] = { 68, 1, 0, 0 };
    static const uint8_t past_end[8] = { 1, 1, 7, 7, 4, 0, 0, 0 };  /* 7 bytes from offset 2 */
    static const uint8_t no_len[4] = { 1, 1, 1, 7 };                /* type in the last byte */
    const uint8_t *cases[] = { zero_len, one_len, past_end, no_len };
    const uint8_t lens[] = { 4, 4, 8, 4 };

    learn_b(T0);
    for (unsigned i = 0; i < 4; i++) {
        struct frame fr = udp_with_options(cases[i], lens[i]);
        send_frame(0, &fr, T0 + 1);
        cr_assert_eq(drops_with(DROP_BAD_IHL), i + 1, "case %u", i);
    }
    cr_assert_eq(w.nb_emitted, 0, "and no ICMP about them");
    finish();
}

Test(router, connected_route_resolves_the_destination_and_gateway_route_the_gateway)
{
    cr_assert_eq(router_add_route(w.r, IP4(192, 168, 0, 0), 16, IP_GW), 0);

    send_udp_from_a(IP4(192, 168, 5, 5), 64, 1, T0);
    cr_assert_eq(w.nb_emitted, 1);
    expect_arp_request(0, 1, IP_GW);
    send_udp_from_a(IP4(10, 1, 0, 9), 64, 2, T0);
    cr_assert_eq(w.nb_emitted, 2);
    expect_arp_request(1, 1, IP4(10, 1, 0, 9));
    send_udp_from_a(IP4(192, 168, 7, 7), 64, 3, T0);
    cr_assert_eq(w.nb_emitted, 2, "second packet via the same gateway waits on one request");
    emitted_free();

    send_arp_reply(1, IP_GW, MAC_GW, T0 + 1);
    cr_assert_eq(w.nb_emitted, 2);
    cr_assert_arr_eq(frame_of(0), MAC_GW, 6);
    cr_assert_eq(be32(frame_of(0) + 30), IP4(192, 168, 5, 5), "destination IP untouched");
    cr_assert_arr_eq(frame_of(1), MAC_GW, 6);
    send_arp_reply(1, IP4(10, 1, 0, 9), MAC_C, T0 + 1);
    cr_assert_eq(w.nb_emitted, 3);
    cr_assert_arr_eq(frame_of(2), MAC_C, 6);
    finish();
}

Test(router, default_route_carries_what_nothing_else_matches)
{
    cr_assert_eq(router_add_route(w.r, 0, 0, IP_GW), 0);
    cr_assert_eq(router_add_route(w.r, IP4(192, 168, 0, 0), 16, IP4(10, 0, 0, 254)), 0);
    cr_assert_eq(router_add_neighbor(w.r, IP_GW, MAC_GW), 0);
    cr_assert_eq(router_add_neighbor(w.r, IP4(10, 0, 0, 254), MAC_C), 0);

    send_udp_from_a(IP4(8, 8, 8, 8), 64, 1, T0);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_eq(w.emitted[0].port, 1);
    cr_assert_arr_eq(frame_of(0), MAC_GW, 6);

    send_udp_from_a(IP4(192, 168, 1, 1), 64, 2, T0);
    cr_assert_eq(w.nb_emitted, 2);
    cr_assert_eq(w.emitted[1].port, 0, "the longer prefix wins, even back out the input port");
    cr_assert_arr_eq(frame_of(1), MAC_C, 6);
    cr_assert_eq(w.nb_dropped, 0);
    finish();
}

Test(router, static_neighbour_is_used_without_arp_and_not_overwritten)
{
    cr_assert_eq(router_add_neighbor(w.r, IP_B, MAC_B), 0);
    send_arp_reply(1, IP_B, MAC_C, T0);              /* a claim to the contrary */
    send_udp_from_a(IP_B, 64, 1, T0 + 1);

    cr_assert_eq(count_arp_requests(), 0);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_arr_eq(frame_of(0), MAC_B, 6);
    router_tick(w.r, T0 + 2 * ROUTER_NEIGH_REACHABLE_NS);
    send_udp_from_a(IP_B, 64, 2, T0 + 2 * ROUTER_NEIGH_REACHABLE_NS);
    cr_assert_eq(count_arp_requests(), 0, "static entries never age");
    finish();
}

Test(router, static_neighbour_releases_packets_parked_for_it)
{
    send_udp_from_a(IP_B, 64, 1, T0);
    emitted_free();
    cr_assert_eq(router_add_neighbor(w.r, IP_B, MAC_B), 0);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_arr_eq(frame_of(0), MAC_B, 6);
    finish();
}

Test(router, learned_entry_expiry_triggers_re_resolution_while_the_old_mac_is_used)
{
    uint64_t t_stale = T0 + ROUTER_NEIGH_REACHABLE_NS + 1;

    learn_b(T0);
    send_udp_from_a(IP_B, 64, 1, T0 + NS_PER_S);
    cr_assert_eq(count_arp_requests(), 0);
    emitted_free();

    router_tick(w.r, t_stale);
    cr_assert_eq(w.nb_emitted, 0, "nothing is sent just because an entry ages");
    send_udp_from_a(IP_B, 64, 2, t_stale);
    cr_assert_eq(w.nb_emitted, 2);
    expect_arp_request(0, 1, IP_B);
    cr_assert_arr_eq(frame_of(1), MAC_B, 6, "still forwarded to the stale MAC");
    send_udp_from_a(IP_B, 64, 3, t_stale + 1);
    cr_assert_eq(count_arp_requests(), 1, "one re-resolution at a time");
    emitted_free();

    send_arp_reply(1, IP_B, MAC_B, t_stale + 2);
    router_tick(w.r, t_stale + 10 * ROUTER_ARP_RETRY_NS);
    cr_assert_eq(w.nb_emitted, 0, "confirmed: no more requests");
    finish();
}

Test(router, expired_entry_that_stays_silent_fails)
{
    uint64_t t = T0 + ROUTER_NEIGH_REACHABLE_NS + 1;

    learn_b(T0);
    send_udp_from_a(IP_B, 64, 1, t);    /* probe starts */
    for (unsigned k = 1; k <= ROUTER_ARP_RETRIES + 1; k++)
        router_tick(w.r, t + k * ROUTER_ARP_RETRY_NS);
    cr_assert_eq(count_arp_requests(), 1 + ROUTER_ARP_RETRIES);
    cr_assert_eq(stats().neigh_failures, 1);
    emitted_free();

    send_udp_from_a(IP_B, 64, 2, t + (ROUTER_ARP_RETRIES + 1) * ROUTER_ARP_RETRY_NS + 1);
    cr_assert_eq(drops_with(DROP_NO_NEIGHBOR), 1);
    finish();
}

/* --- what the router refuses ---------------------------------------------- */

Test(router, frame_to_another_mac_is_dropped_not_for_us)
{
    static const uint8_t other[6] = { 0x52, 0x54, 0, 0x99, 0x99, 0x99 };
    struct ip_spec s = { .eth_dst = other, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 64, .proto = IPPROTO_UDP_ };
    struct frame unicast = udp_frame(&s, 1, 2, 10);
    s.eth_dst = MAC_BCAST;
    struct frame bcast = udp_frame(&s, 1, 2, 10);
    s.eth_dst = MAC_P0;
    struct frame ours = udp_frame(&s, 1, 2, 10);

    send_frame(0, &unicast, T0);
    send_frame(0, &bcast, T0);
    send_frame(5, &ours, T0);           /* a port without an address */
    struct frame arp_to_other = arp_frame(other, MAC_A, ARP_OP_REQUEST, MAC_A, IP_A, MAC_ZERO,
                                          IP_P0);
    send_frame(0, &arp_to_other, T0);

    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_NOT_FOR_US), 4);
    finish();
}

Test(router, vlan_tagged_and_ipv6_frames_are_unsupported)
{
    struct frame arp = arp_frame(MAC_BCAST, MAC_A, ARP_OP_REQUEST, MAC_A, IP_A, MAC_ZERO, IP_P0);
    struct frame tagged = { .len = 64 };
    memcpy(tagged.b, arp.b, 12);
    put16(tagged.b + 12, ETHERTYPE_VLAN);
    put16(tagged.b + 14, 10);
    memcpy(tagged.b + 16, arp.b + 12, 44);
    struct frame v6 = { .len = 14 + 40 + 8 };
    eth_put(v6.b, MAC_P0, MAC_A, ETHERTYPE_IPV6);
    v6.b[14] = 0x60;
    put16(v6.b + 18, 8);
    v6.b[20] = IPPROTO_UDP_;
    v6.b[21] = 64;
    put16(v6.b + 54 + 4, 8);

    send_frame(0, &tagged, T0);
    send_frame(0, &v6, T0);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_UNSUPPORTED), 2);
    finish();
}

Test(router, frames_longer_than_the_mtu_are_dropped_unsupported)
{
    struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = IP_A, .dst = IP_B,
                         .ttl = 9, .proto = IPPROTO_UDP_ };
    struct frame biggest = udp_frame(&s, 1, 2, ROUTER_MTU - 28);    /* 1514 bytes */
    struct frame giant = udp_frame(&s, 1, 2, ROUTER_MTU - 27);
    struct frame padded = biggest;
    padded.len++;                       /* a whole packet, one byte of junk too many */
    struct frame arp = arp_frame(MAC_BCAST, MAC_A, ARP_OP_REQUEST, MAC_A, IP_A, MAC_ZERO, IP_P0);
    arp.len = ETH_HDR_LEN + ROUTER_MTU + 1;

    learn_b(T0);
    send_frame(0, &giant, T0 + 1);
    send_frame(0, &padded, T0 + 1);
    send_frame(0, &arp, T0 + 1);
    cr_assert_eq(w.nb_emitted, 0);
    cr_assert_eq(drops_with(DROP_UNSUPPORTED), 3);
    send_frame(0, &biggest, T0 + 1);
    cr_assert_eq(w.nb_emitted, 1);
    cr_assert_eq(w.emitted[0].pkt->data_len, 1514);
    finish();
}

Test(router, martian_sources_are_dropped)
{
    static const uint32_t martians[] = {
        0, IP4(0, 1, 2, 3), IP4(127, 0, 0, 1), IP4(224, 0, 0, 5), IP4(240, 0, 0, 1),
        0xffffffffu, IP4(10, 0, 0, 255), IP_P1,
    };
    for (unsigned i = 0; i < sizeof(martians) / sizeof(martians[0]); i++) {
        struct ip_spec s = { .eth_dst = MAC_P0, .eth_src = MAC_A, .src = martians[i],
                             .dst = IP_B, .ttl = 1, .proto = IPPROTO_UDP_ };
        struct frame fr = udp_frame(&s, 1, 2, 10);
        send_frame(0, &fr, T0);
        cr_assert_eq(drops_with(DROP_MARTIAN), i + 1, "source %08x", martians[i]);
    }
    cr_assert_eq(w.nb_emitted, 0, "and no ICMP error goes to them");
    finish();
}

Test(router, broadcast_multicast_and_reserved_destinations_are_not_forwarded)
{
    static const struct {
        uint32_t dst;
        enum drop_reason why;
    } cases[] = {
        { 0xffffffffu, DROP_LOCAL_UNHANDLED },
        { IP4(10, 1, 0, 255), DROP_LOCAL_UNHANDLED },    /* a connected directed broadcast */
        { IP4(239, 1, 2, 3), DROP_UNSUPPORTED },
        { IP4(127, 0, 0, 1), DROP_MARTIAN },
        { IP4(0, 0, 0, 9), DROP_MARTIAN },
        { IP4(250, 0, 0, 1), DROP_MARTIAN },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        send_udp_from_a(cases[i].dst, 1, 1, T0);
        cr_assert_eq(w.nb_dropped, i + 1);
        cr_assert_eq(w.dropped[i], cases[i].why, "destination %08x", cases[i].dst);
    }
    cr_assert_eq(w.nb_emitted, 0);
    finish();
}

/* --- configuration -------------------------------------------------------- */

Test(router, add_port_rejects_overlapping_networks_and_bad_addresses)
{
    static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x12 };

    cr_assert_eq(router_add_port(w.r, 2, IP4(10, 0, 0, 129), 25, mac), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, 2, IP4(10, 9, 9, 9), 8, mac), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, 2, IP4(10, 2, 0, 0), 24, mac), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, 2, IP4(10, 2, 0, 255), 24, mac), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, 2, IP4(127, 0, 0, 1), 8, mac), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, 2, IP4(10, 2, 0, 1), 32, mac), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, 2, IP4(10, 2, 0, 1), 24, MAC_BCAST), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, ROUTER_MAX_PORTS, IP4(10, 2, 0, 1), 24, mac), -PM_EINVAL);
    cr_assert_eq(router_add_port(w.r, 0, IP4(10, 2, 0, 1), 24, mac), -PM_EEXIST);
    cr_assert_eq(router_add_port(w.r, 2, IP4(10, 2, 0, 1), 24, mac), 0);
    cr_assert_eq(router_add_port(w.r, 3, IP4(10, 3, 0, 0), 31, mac), 0, "a /31 has no broadcast");
    finish();
}

Test(router, add_route_rejects_a_gateway_off_the_connected_networks)
{
    uint32_t net = IP4(192, 168, 0, 0);

    cr_assert_eq(router_add_route(w.r, net, 16, IP4(10, 9, 0, 1)), -PM_EINVAL);
    cr_assert_eq(router_add_route(w.r, net, 16, IP_P0), -PM_EINVAL, "our own address");
    cr_assert_eq(router_add_route(w.r, net, 16, IP4(10, 0, 0, 255)), -PM_EINVAL);
    cr_assert_eq(router_add_route(w.r, net, 16, IP4(10, 0, 0, 0)), -PM_EINVAL);
    cr_assert_eq(router_add_route(w.r, IP4(192, 168, 0, 1), 16, IP_GW), -PM_EINVAL,
                 "host bits set");
    cr_assert_eq(router_add_route(w.r, net, 33, IP_GW), -PM_EINVAL);
    cr_assert_eq(router_add_route(w.r, IP4(10, 0, 0, 0), 24, IP_GW), -PM_EEXIST,
                 "would replace a connected route");
    cr_assert_eq(router_add_route(w.r, net, 16, IP_GW), 0);
    cr_assert_eq(router_add_route(w.r, 0, 0, IP_GW), 0);
    cr_assert_eq(router_add_route(w.r, IP4(172, 16, 0, 0), 12, IP4(10, 0, 0, 254)), 0);
    finish();
}

Test(router, add_neighbor_rejects_addresses_off_the_connected_networks)
{
    cr_assert_eq(router_add_neighbor(w.r, IP4(10, 9, 0, 1), MAC_C), -PM_EINVAL);
    cr_assert_eq(router_add_neighbor(w.r, IP_P0, MAC_C), -PM_EINVAL);
    cr_assert_eq(router_add_neighbor(w.r, IP4(10, 0, 0, 255), MAC_C), -PM_EINVAL);
    cr_assert_eq(router_add_neighbor(w.r, IP_A, MAC_BCAST), -PM_EINVAL);
    cr_assert_eq(router_add_neighbor(w.r, IP_A, MAC_A), 0);
    finish();
}

/* --- the neighbour table when full ---------------------------------------- */

static const uint8_t MAC_P2[6] = { 0x02, 0, 0, 0, 0, 0x12 };

/* Port 2 on 172.16.0.0/16, room for every neighbour the table holds. */
static uint32_t big_net_host(unsigned i)
{
    return IP4(172, 16, 0, 0) + 2 + i;
}

Test(router, full_table_of_static_entries_refuses_new_neighbours)
{
    cr_assert_eq(router_add_port(w.r, 2, IP4(172, 16, 0, 1), 16, MAC_P2), 0);
    for (unsigned i = 0; i < ROUTER_MAX_NEIGHBORS; i++)
        cr_assert_eq(router_add_neighbor(w.r, big_net_host(i), MAC_C), 0);
    cr_assert_eq(router_add_neighbor(w.r, big_net_host(ROUTER_MAX_NEIGHBORS), MAC_C), -PM_ENOMEM);

    send_udp_from_a(IP_B, 64, 1, T0);
    cr_assert_eq(drops_with(DROP_NO_NEIGHBOR), 1);
    cr_assert_eq(stats().neigh_table_full, 1);
    cr_assert_eq(w.nb_emitted, 0);
    finish();
}

Test(router, full_table_reuses_the_least_recently_used_stale_entry)
{
    cr_assert_eq(router_add_port(w.r, 2, IP4(172, 16, 0, 1), 16, MAC_P2), 0);
    for (unsigned i = 0; i < ROUTER_MAX_NEIGHBORS; i++) {
        uint8_t mac[6] = { 0x52, 0x54, 0, 2, (uint8_t)(i >> 8), (uint8_t)i };
        struct frame fr = arp_frame(MAC_BCAST, mac, ARP_OP_REQUEST, mac, big_net_host(i), MAC_ZERO,
                                    IP4(172, 16, 0, 1));
        send_frame(2, &fr, T0 + i);
        emitted_free();
    }
    cr_assert_eq(stats().arp_learned, ROUTER_MAX_NEIGHBORS);
    router_tick(w.r, T0 + ROUTER_NEIGH_REACHABLE_NS + NS_PER_S);   /* all stale */

    send_udp_from_a(IP_B, 64, 1, T0 + ROUTER_NEIGH_REACHABLE_NS + NS_PER_S);
    cr_assert_eq(stats().neigh_table_full, 0);
    cr_assert_eq(w.nb_emitted, 1);
    expect_arp_request(0, 1, IP_B);
    emitted_free();
    send_arp_reply(1, IP_B, MAC_B, T0 + ROUTER_NEIGH_REACHABLE_NS + NS_PER_S + 1);
    cr_assert_eq(w.nb_emitted, 1);
    finish();
}

/* A request for our address on port 2 (172.16.0.1/16) from host i. */
static void send_storm_request(unsigned i, uint64_t now)
{
    uint8_t mac[6] = { 0x52, 0x54, 0, 3, (uint8_t)(i >> 8), (uint8_t)i };
    struct frame fr = arp_frame(MAC_BCAST, mac, ARP_OP_REQUEST, mac, big_net_host(i), MAC_ZERO,
                                IP4(172, 16, 0, 1));
    send_frame(2, &fr, now);
}

Test(router, arp_storm_fills_only_free_entries_and_every_request_is_answered)
{
    unsigned nb = ROUTER_MAX_NEIGHBORS + 500;

    cr_assert_eq(router_add_port(w.r, 2, IP4(172, 16, 0, 1), 16, MAC_P2), 0);
    for (unsigned i = 0; i < nb; i++) {
        send_storm_request(i, T0 + i);
        cr_assert_eq(w.nb_emitted, 1, "request %u answered", i);
        emitted_free();
    }
    cr_assert_eq(stats().arp_replies_sent, nb);
    cr_assert_eq(stats().arp_learned, ROUTER_MAX_NEIGHBORS);
    cr_assert_eq(stats().arp_not_learned, 500, "learning never evicts");
    cr_assert_eq(w.nb_dropped, 0);
    finish();
}

Test(router, next_hop_resolves_in_a_table_filled_by_an_arp_storm)
{
    cr_assert_eq(router_add_port(w.r, 2, IP4(172, 16, 0, 1), 16, MAC_P2), 0);
    for (unsigned i = 0; i < ROUTER_MAX_NEIGHBORS; i++) {
        send_storm_request(i, T0 + i);
        emitted_free();
    }

    /* Still REACHABLE, but nothing was ever sent to them: one gives way. */
    send_udp_from_a(IP_B, 64, 1, T0 + NS_PER_S);
    cr_assert_eq(stats().neigh_table_full, 0);
    cr_assert_eq(w.nb_emitted, 1);
    expect_arp_request(0, 1, IP_B);
    emitted_free();
    send_arp_reply(1, IP_B, MAC_B, T0 + NS_PER_S + 1);
    cr_assert_eq(w.nb_emitted, 1, "the parked packet leaves");
    cr_assert_arr_eq(frame_of(0), MAC_B, 6);
    finish();
}

Test(router, arp_storm_never_displaces_next_hops_in_use_or_static_entries)
{
    cr_assert_eq(router_add_port(w.r, 2, IP4(172, 16, 0, 1), 16, MAC_P2), 0);
    cr_assert_eq(router_add_route(w.r, IP4(192, 168, 0, 0), 16, IP_GW), 0);
    cr_assert_eq(router_add_neighbor(w.r, IP_B, MAC_B), 0);
    send_udp_from_a(IP4(192, 168, 1, 1), 64, 1, T0);         /* resolve the gateway */
    send_arp_reply(1, IP_GW, MAC_GW, T0 + 1);
    emitted_free();

    /* The gateway goes stale while idle; then the storm, then a storm of
     * requests and replies claiming the gateway's and B's addresses are not
     * even needed: learning alone must not take their slots. */
    uint64_t t = T0 + ROUTER_NEIGH_REACHABLE_NS + NS_PER_S;
    router_tick(w.r, t);
    for (unsigned i = 0; i < 2 * ROUTER_MAX_NEIGHBORS; i++) {
        send_storm_request(i, t + i);
        emitted_free();
    }
    cr_assert_eq(stats().arp_learned + 1, ROUTER_MAX_NEIGHBORS,
                 "the gateway, then the storm in every slot left but the static one");

    send_udp_from_a(IP4(192, 168, 1, 1), 64, 2, t + NS_PER_S);
    send_udp_from_a(IP_B, 64, 3, t + NS_PER_S);
    cr_assert_eq(w.nb_emitted, 3, "both sent at once, from the entries they had");
    expect_arp_request(0, 1, IP_GW);                          /* the stale gateway probed */
    cr_assert_arr_eq(frame_of(1), MAC_GW, 6);
    cr_assert_arr_eq(frame_of(2), MAC_B, 6);
    cr_assert_eq(stats().neigh_table_full, 0);
    finish();
}

Test(router, eviction_takes_never_used_entries_before_stale_next_hops)
{
    cr_assert_eq(router_add_port(w.r, 2, IP4(172, 16, 0, 1), 16, MAC_P2), 0);
    cr_assert_eq(router_add_route(w.r, IP4(192, 168, 0, 0), 16, IP_GW), 0);
    send_udp_from_a(IP4(192, 168, 1, 1), 64, 1, T0);
    send_arp_reply(1, IP_GW, MAC_GW, T0 + 1);
    emitted_free();
    uint64_t t = T0 + ROUTER_NEIGH_REACHABLE_NS + NS_PER_S;
    router_tick(w.r, t);                                      /* gateway stale */
    for (unsigned i = 0; i + 1 < ROUTER_MAX_NEIGHBORS; i++) {
        send_storm_request(i, t + i);
        emitted_free();
    }
    router_tick(w.r, t + ROUTER_NEIGH_REACHABLE_NS + NS_PER_S);   /* all stale now */

    /* A new next hop needs a slot: a stale never-used one goes, the gateway
     * (stale, but used) stays. */
    send_udp_from_a(IP_B, 64, 2, t + ROUTER_NEIGH_REACHABLE_NS + 2 * NS_PER_S);
    expect_arp_request(0, 1, IP_B);
    emitted_free();
    send_udp_from_a(IP4(192, 168, 1, 1), 64, 3, t + ROUTER_NEIGH_REACHABLE_NS + 2 * NS_PER_S);
    cr_assert_eq(w.nb_emitted, 2, "the gateway's stale entry is still there: used and probed");
    expect_arp_request(0, 1, IP_GW);
    cr_assert_arr_eq(frame_of(1), MAC_GW, 6);
    send_arp_reply(1, IP_B, MAC_B, t + ROUTER_NEIGH_REACHABLE_NS + 3 * NS_PER_S);
    finish();
}

/* --- console -------------------------------------------------------------- */

static char printed[8192];
static size_t printed_len;

static int capture(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(printed + printed_len, sizeof(printed) - printed_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        printed_len += (size_t)n;
    return n;
}

Test(router, print_routes_shows_prefixes_gateways_and_ports)
{
    cr_assert_eq(router_add_route(w.r, 0, 0, IP_GW), 0);
    router_print_routes(w.r, capture);

    cr_assert_not_null(strstr(printed, "prefix"), "%s", printed);
    cr_assert(strstr(printed, "10.0.0.0/24") && strstr(printed, "10.1.0.0/24"), "%s", printed);
    cr_assert_not_null(strstr(printed, "connected"), "%s", printed);
    cr_assert_not_null(strstr(printed, "0.0.0.0/0"), "%s", printed);
    cr_assert_not_null(strstr(printed, "via 10.1.0.254"), "%s", printed);
    finish();
}

Test(router, print_arp_shows_address_mac_state_port_age_and_queue)
{
    learn_b(T0);
    cr_assert_eq(router_add_neighbor(w.r, IP4(10, 0, 0, 254), MAC_GW), 0);
    send_udp_from_a(IP4(10, 1, 0, 9), 64, 1, T0);
    send_udp_from_a(IP4(10, 1, 0, 9), 64, 2, T0);
    router_print_arp(w.r, T0 + 7 * NS_PER_S, capture);

    const char *b = strstr(printed, "10.1.0.2 ");
    cr_assert_not_null(b, "%s", printed);
    cr_assert_not_null(strstr(b, "52:54:00:00:01:02"), "%s", printed);
    cr_assert_not_null(strstr(b, "reachable"), "%s", printed);
    cr_assert_not_null(strstr(printed, "static"), "%s", printed);
    const char *pending = strstr(printed, "10.1.0.9 ");
    cr_assert_not_null(pending, "%s", printed);
    cr_assert_not_null(strstr(pending, "incomplete"), "%s", printed);
    int port, queued;
    unsigned long long age;
    char state[16], mac[24];
    cr_assert_eq(sscanf(pending, "%*s %23s %15s %d %llu %d", mac, state, &port, &age, &queued), 5,
                 "%s", printed);
    cr_assert_eq(port, 1);
    cr_assert_eq(age, 7);
    cr_assert_eq(queued, 2);
    char summary[128];
    snprintf(summary, sizeof(summary), "3 of %u entries in use; not learned (no free entry) 0, "
             "next hops refused (table full) 0", ROUTER_MAX_NEIGHBORS);
    cr_assert_not_null(strstr(printed, summary), "%s", printed);

    send_arp_reply(1, IP4(10, 1, 0, 9), MAC_C, T0 + 8 * NS_PER_S);
    finish();
}
