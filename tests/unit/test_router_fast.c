/*
 * The router's forwarding fast path (router_forward_burst, used by
 * pipeline_run in router mode) against the general path (parse_frame and
 * router_input), which a pass-everything program hook forces.
 *
 * Two worlds, each a pipeline, an LPM table, a router and two software
 * ports, configured alike, are fed the same frames at the same times: one
 * takes the fast path where it can, the other never does. After every
 * frame both must have done the same thing: the same drops by reason, the
 * same frames (byte for byte) out of the same ports, the same router
 * counters and the same buffer ledger. The frames are the forwardable kind
 * the fast path is for, every destination and source class the router
 * treats specially, neighbours in each state, and the base frame with each
 * of its first 64 bytes changed, with and without the checksum resealed,
 * cut short and padded; and all of that again with an ACL in front, built
 * into its classifier in the fast world and scanned in the other, which
 * must count the same hits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "net/capture.h"
#include "net/csum.h"
#include "net/lpm.h"
#include "net/pipeline.h"
#include "net/pool.h"
#include "net/ring.h"
#include "net/router.h"
#include "tests/models/sink_netdev.h"

#define POOL_BYTES  (8u << 20)
#define NB_WPORTS   2
#define NS_PER_S    1000000000ull

static const uint8_t MAC_HOST[6] = { 0x02, 0, 0, 0, 0, 0x05 };   /* 10.0.0.5 on port 0 */
static const uint8_t MAC_GW_STATIC[6] = { 0x02, 0, 0, 0, 1, 0x02 };
static const uint8_t MAC_GW_LEARNED[6] = { 0x02, 0, 0, 0, 1, 0x03 };

struct world {
    struct sink_netdev ports[NB_WPORTS];
    struct netdev *devs[NB_WPORTS];
    struct config cfg;
    struct pipeline pl;
    void *lpm_mem, *router_mem;
    struct router *r;
    struct capture cap;         /* started by the tests that capture */
    void *cap_ring_mem;
};

#define CAP_SLOTS   16          /* a frame makes at most three copies */
#define CAP_COPIES  4

static void *pool_mem;
static struct pool *pool;
static struct world fast, general;

static enum pipeline_verdict pass_all(void *ctx, struct pktbuf *pkt, uint16_t *port)
{
    (void)ctx, (void)pkt, (void)port;
    return PIPELINE_PASS;
}

static void world_emit(void *ctx, uint16_t port, struct pktbuf *pkt)
{
    pipeline_emit(ctx, port, pkt);
}

static void world_drop(void *ctx, struct pktbuf *pkt, enum drop_reason why)
{
    pipeline_drop(ctx, pkt, why);
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static void world_run(struct world *w, const uint8_t *frame, uint16_t len, uint16_t in_port,
                      uint64_t now_ns)
{
    struct pktbuf *b = pool_get(pool);

    cr_assert_not_null(b);
    memcpy(pktbuf_data(b), frame, len);
    b->data_len = len;
    pipeline_run(&w->pl, in_port, &b, 1, now_ns);
    pipeline_flush(&w->pl);
}

/* An ARP request from ip/mac on port 1 for the router's address there:
 * the router learns the sender (REACHABLE) and answers. */
static void world_learn(struct world *w, uint32_t ip, const uint8_t mac[6], uint64_t now_ns)
{
    uint8_t f[60] = { 0 };
    struct arp_hdr *arp = (struct arp_hdr *)(f + 14);

    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    arp->htype = pm_htons(ARP_HTYPE_ETHER);
    arp->ptype = pm_htons(ETHERTYPE_IPV4);
    arp->hlen = 6;
    arp->plen = 4;
    arp->op = pm_htons(ARP_OP_REQUEST);
    memcpy(arp->sha, mac, 6);
    uint32_t spa = pm_htonl(ip), tpa = pm_htonl(ip4(10, 1, 0, 1));
    memcpy(arp->spa, &spa, 4);
    memcpy(arp->tpa, &tpa, 4);
    world_run(w, f, sizeof(f), 1, now_ns);
}

/*
 *   port 0  10.0.0.1/24    hosts, among them 10.0.0.5 (the frames' source)
 *   port 1  10.1.0.1/24    10.1.0.2 static, 10.1.0.3 learned by ARP
 *   192.168.0.0/16 via 10.1.0.2, 172.16.0.0/12 via 10.1.0.3,
 *   198.51.100.0/24 via 10.1.0.9 (never answers), 203.0.113.0/24 via
 *   10.0.0.9 (the input port's own network), 10.1.0.1/32 and
 *   10.0.0.255/32 via 10.1.0.2; nothing else
 */
static void world_init(struct world *w, bool general_path)
{
    for (int p = 0; p < NB_WPORTS; p++) {
        uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, (uint8_t)(0x10 + p) };
        sink_netdev_init(&w->ports[p], (uint16_t)p, mac, pool);
        w->devs[p] = &w->ports[p].nd;
    }
    config_defaults(&w->cfg);
    w->cfg.mode = CONFIG_MODE_ROUTER;
    pipeline_init(&w->pl, &w->cfg, w->devs, NB_WPORTS, pool);
    if (general_path)
        w->pl.prog = pass_all;
    w->lpm_mem = malloc(lpm_mem_bytes(64));
    w->router_mem = malloc(router_mem_bytes());
    struct lpm *lpm = lpm_create(w->lpm_mem, lpm_mem_bytes(64), 64);
    struct router_io io = { .pool = pool, .emit = world_emit, .drop = world_drop, .ctx = &w->pl };
    w->r = router_create(w->router_mem, router_mem_bytes(), lpm, &io);
    cr_assert_not_null(w->r);
    w->pl.router = w->r;
    static const uint8_t cap_mac[6] = { 0x52, 0x54, 0, 0, 0, 0x1f };
    w->cap_ring_mem = aligned_alloc(64, ring_mem_bytes(CAP_SLOTS));
    capture_init(&w->cap, pool, ring_init(w->cap_ring_mem, CAP_SLOTS), cap_mac, 0);
    w->pl.capture = &w->cap;
    /* Plenty of ICMP tokens: an error is never left out for want of one. */
    cr_assert_eq(router_set_icmp_rate(w->r, ROUTER_ICMP_RATE_MAX, ROUTER_ICMP_RATE_MAX), 0);
    cr_assert_eq(router_add_port(w->r, 0, ip4(10, 0, 0, 1), 24, w->ports[0].nd.mac), 0);
    cr_assert_eq(router_add_port(w->r, 1, ip4(10, 1, 0, 1), 24, w->ports[1].nd.mac), 0);
    cr_assert_eq(router_add_neighbor(w->r, ip4(10, 1, 0, 2), MAC_GW_STATIC), 0);
    cr_assert_eq(router_add_route(w->r, ip4(192, 168, 0, 0), 16, ip4(10, 1, 0, 2)), 0);
    cr_assert_eq(router_add_route(w->r, ip4(172, 16, 0, 0), 12, ip4(10, 1, 0, 3)), 0);
    cr_assert_eq(router_add_route(w->r, ip4(198, 51, 100, 0), 24, ip4(10, 1, 0, 9)), 0);
    cr_assert_eq(router_add_route(w->r, ip4(203, 0, 113, 0), 24, ip4(10, 0, 0, 9)), 0);
    /* Host routes over our own address and a broadcast address: those are
     * still ours, whatever the table says. */
    cr_assert_eq(router_add_route(w->r, ip4(10, 1, 0, 1), 32, ip4(10, 1, 0, 2)), 0);
    cr_assert_eq(router_add_route(w->r, ip4(10, 0, 0, 255), 32, ip4(10, 1, 0, 2)), 0);
    world_learn(w, ip4(10, 1, 0, 3), MAC_GW_LEARNED, NS_PER_S);
}

static void setup(void)
{
    pool_mem = aligned_alloc(4096, POOL_BYTES);
    pool = pool_create(pool_mem, (dma_addr_t)(uintptr_t)pool_mem, POOL_BYTES, 0);
    cr_assert_not_null(pool);
    world_init(&fast, false);
    world_init(&general, true);
}

static void teardown(void)
{
    struct world *ws[] = { &fast, &general };

    for (int i = 0; i < 2; i++) {
        free(ws[i]->lpm_mem);
        free(ws[i]->router_mem);
        free(ws[i]->cap_ring_mem);
    }
    free(pool_mem);
}

TestSuite(router_fast, .init = setup, .fini = teardown);

/* ---- frames -------------------------------------------------------------- */

struct frame {
    uint8_t bytes[1600];
    uint16_t len;
};

static void seal(struct frame *f)
{
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(f->bytes + 14);

    ip->csum = 0;
    ip->csum = csum_ipv4_header(ip, (size_t)(ip->ver_ihl & 0xf) * 4);
}

/* MAC_HOST -> port 0's MAC, src -> dst, protocol proto with a well-formed
 * header for it and `payload` more bytes, TTL 64. */
static void make_frame(struct frame *f, uint32_t src, uint32_t dst, uint8_t proto,
                       uint16_t payload)
{
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(f->bytes + 14);
    uint8_t *l4 = f->bytes + 34;
    uint16_t l4_len = proto == IPPROTO_TCP_ ? 20 : proto == IPPROTO_UDP_ || proto == IPPROTO_ICMP_ ? 8 : 0;

    memset(f->bytes, 0, sizeof(f->bytes));
    memcpy(f->bytes, fast.ports[0].nd.mac, 6);
    memcpy(f->bytes + 6, MAC_HOST, 6);
    f->bytes[12] = 0x08;
    ip->ver_ihl = 0x45;
    ip->total_len = pm_htons((uint16_t)(20 + l4_len + payload));
    ip->id = pm_htons(0x1234);
    ip->ttl = 64;
    ip->proto = proto;
    ip->src = pm_htonl(src);
    ip->dst = pm_htonl(dst);
    if (proto == IPPROTO_UDP_) {
        struct udp_hdr *udp = (struct udp_hdr *)l4;
        udp->sport = pm_htons(4000);
        udp->dport = pm_htons(5001);
        udp->len = pm_htons((uint16_t)(8 + payload));
    } else if (proto == IPPROTO_TCP_) {
        struct tcp_hdr *tcp = (struct tcp_hdr *)l4;
        tcp->sport = pm_htons(40000);
        tcp->dport = pm_htons(80);
        tcp->data_off = 5 << 4;
        tcp->flags = 0x10;
    } else if (proto == IPPROTO_ICMP_) {
        l4[0] = ICMP_ECHO_REQUEST;
    }
    for (uint16_t i = 0; i < payload; i++)
        l4[l4_len + i] = (uint8_t)i;
    f->len = (uint16_t)(34 + l4_len + payload);
    if (f->len < 60)
        f->len = 60;
    seal(f);
}

/* ---- comparing the worlds ------------------------------------------------ */

struct outcome {
    uint64_t drops[DROP__COUNT];
    uint32_t nb_sent[NB_WPORTS];
    uint16_t sent_len[NB_WPORTS];
    uint8_t sent[NB_WPORTS][SINK_KEEP_BYTES];
    struct router_stats stats;
    struct pipeline_accounting ledger;
    unsigned nb_copies;                 /* a running capture's, in order */
    uint16_t copy_len[CAP_COPIES];
    uint8_t copies[CAP_COPIES][SINK_KEEP_BYTES];
};

static void world_frame(struct world *w, const struct frame *f, uint64_t now_ns,
                        struct outcome *o)
{
    uint64_t drops_before[DROP__COUNT];

    memcpy(drops_before, w->pl.drops, sizeof(drops_before));
    for (int p = 0; p < NB_WPORTS; p++)
        w->ports[p].nb_sent = 0;
    world_run(w, f->bytes, f->len, 0, now_ns);
    memset(o, 0, sizeof(*o));
    for (int d = 0; d < DROP__COUNT; d++)
        o->drops[d] = w->pl.drops[d] - drops_before[d];
    for (int p = 0; p < NB_WPORTS; p++) {
        o->nb_sent[p] = w->ports[p].nb_sent;
        if (o->nb_sent[p] > 0) {
            o->sent_len[p] = w->ports[p].kept_len[0];
            memcpy(o->sent[p], w->ports[p].kept[0], SINK_KEEP_BYTES);
        }
    }
    router_get_stats(w->r, &o->stats);
    pipeline_get_accounting(&w->pl, &o->ledger);
    void *copies[CAP_SLOTS];
    o->nb_copies = ring_dequeue_burst(w->cap.queue, copies, CAP_SLOTS);
    for (unsigned i = 0; i < o->nb_copies; i++) {
        struct pktbuf *c = copies[i];
        cr_assert_lt(i, CAP_COPIES, "more copies than a frame can make");
        o->copy_len[i] = c->data_len;
        memcpy(o->copies[i], pktbuf_data(c), c->data_len < SINK_KEEP_BYTES ? c->data_len
                                                                          : SINK_KEEP_BYTES);
    }
    pktbuf_free_bulk((struct pktbuf **)copies, o->nb_copies);
}

static unsigned nb_forwarded;          /* frames the router forwarded, so far */
static uint64_t last_forwarded;

static void expect_same(const struct frame *f, uint64_t now_ns, const char *what, int variant)
{
    struct outcome a, b;

    world_frame(&fast, f, now_ns, &a);
    world_frame(&general, f, now_ns, &b);
    for (int d = 0; d < DROP__COUNT; d++)
        cr_assert_eq(a.drops[d], b.drops[d], "%s #%d: drops of %s %llu (fast) vs %llu", what,
                     variant, drop_reason_name((enum drop_reason)d),
                     (unsigned long long)a.drops[d], (unsigned long long)b.drops[d]);
    for (int p = 0; p < NB_WPORTS; p++) {
        cr_assert_eq(a.nb_sent[p], b.nb_sent[p], "%s #%d: port %d sent %u (fast) vs %u", what,
                     variant, p, a.nb_sent[p], b.nb_sent[p]);
        cr_assert_eq(a.sent_len[p], b.sent_len[p], "%s #%d: port %d frame length", what, variant,
                     p);
        cr_assert_arr_eq(a.sent[p], b.sent[p], SINK_KEEP_BYTES, "%s #%d: port %d frame bytes",
                         what, variant, p);
    }
    cr_assert_arr_eq(&a.stats, &b.stats, sizeof(a.stats), "%s #%d: router counters", what,
                     variant);
    cr_assert_arr_eq(&a.ledger, &b.ledger, sizeof(a.ledger), "%s #%d: ledger", what, variant);
    cr_assert_eq(a.nb_copies, b.nb_copies, "%s #%d: captured %u (fast) vs %u", what, variant,
                 a.nb_copies, b.nb_copies);
    for (unsigned i = 0; i < a.nb_copies; i++) {
        cr_assert_eq(a.copy_len[i], b.copy_len[i], "%s #%d: copy %u length", what, variant, i);
        cr_assert_arr_eq(a.copies[i], b.copies[i], SINK_KEEP_BYTES, "%s #%d: copy %u bytes",
                         what, variant, i);
    }
    nb_forwarded += a.stats.forwarded != last_forwarded;
    last_forwarded = a.stats.forwarded;
}

/* ---- tests --------------------------------------------------------------- */

static void class_frames(void)
{
    static const uint32_t dsts[] = {
        0xc0a80101, 0xac100505, 0x0a010002, 0x0a010003, 0x0a010007, 0xc6336407, 0xcb007107,
        0x08080808, 0xe0000005, 0xef010101, 0xffffffff, 0x00010203, 0x7f000001, 0xf0000001,
        0x0a000001, 0x0a0000ff, 0x0a0100ff, 0x0a010001, 0x0a000006,
    };
    static const uint32_t srcs[] = {
        0x0a000005, 0x0a000001, 0x0a0000ff, 0x0a010001, 0x0a0100ff, 0x7f000001, 0x00000000,
        0xe0000001, 0xffffffff, 0xc0a80909,
    };
    static const uint8_t protos[] = { IPPROTO_UDP_, IPPROTO_TCP_, IPPROTO_ICMP_, 47 };
    struct frame f;
    uint64_t now = 2 * NS_PER_S;

    for (size_t s = 0; s < sizeof(srcs) / sizeof(srcs[0]); s++)
        for (size_t d = 0; d < sizeof(dsts) / sizeof(dsts[0]); d++)
            for (size_t p = 0; p < sizeof(protos); p++) {
                make_frame(&f, srcs[s], dsts[d], protos[p], 18);
                expect_same(&f, now, "class", (int)(s * 1000 + d * 10 + p));
                now += 1000;
            }
    cr_assert_gt(nb_forwarded, 20, "some frames were forwarded");
}

static void changed_byte_frames(void)
{
    static const uint8_t values[] = { 0x00, 0x01, 0x05, 0x06, 0x08, 0x11, 0x45, 0x46, 0x7f,
                                      0x80, 0xfe, 0xff };
    struct frame base, f;
    uint64_t now = 2 * NS_PER_S;

    make_frame(&base, ip4(10, 0, 0, 5), ip4(192, 168, 1, 1), IPPROTO_UDP_, 18);
    for (uint16_t off = 0; off < 64; off++)
        for (size_t v = 0; v < sizeof(values); v++)
            for (int reseal = 0; reseal < 2; reseal++) {
                f = base;
                f.bytes[off] = values[v];
                if (reseal && off >= 14 && off < 34)
                    seal(&f);
                expect_same(&f, now, "byte", off * 100 + (int)v * 2 + reseal);
                now += 1000;
            }
    for (uint16_t len = 0; len <= base.len + 8; len++) {
        f = base;
        f.len = len;
        expect_same(&f, now, "length", len);
    }
    cr_assert_gt(nb_forwarded, 100);
}

static void ttl_length_and_neighbour_frames(void)
{
    struct frame f;
    uint64_t now = 2 * NS_PER_S;

    for (int ttl = 0; ttl < 4; ttl++) {
        make_frame(&f, ip4(10, 0, 0, 5), ip4(172, 16, 1, 1), IPPROTO_UDP_, 18);
        ((struct ipv4_hdr *)(f.bytes + 14))->ttl = (uint8_t)ttl;
        seal(&f);
        expect_same(&f, now, "ttl", ttl);
    }
    /* Short packets are padded on output, long ones kept, giants refused. */
    static const uint16_t payloads[] = { 0, 1, 5, 6, 18, 100, 1472, 1473 };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        make_frame(&f, ip4(10, 0, 0, 5), ip4(192, 168, 3, 3), IPPROTO_UDP_, payloads[i]);
        expect_same(&f, now, "payload", payloads[i]);
        make_frame(&f, ip4(10, 0, 0, 5), ip4(192, 168, 3, 3), IPPROTO_TCP_, payloads[i]);
        expect_same(&f, now, "tcp payload", payloads[i]);
    }
    make_frame(&f, ip4(10, 0, 0, 5), ip4(192, 168, 3, 3), IPPROTO_UDP_, 18);
    f.len = 200;                                   /* junk after the packet */
    expect_same(&f, now, "trailer", 0);
    /* Time goes on in steps of 2 s, with the timers run: the learned
     * gateway goes stale after the reachable time (the next packet probes
     * it, the ones after use it while it is probed, then it fails); the
     * silent gateway and the unknown host park packets, fail, are held
     * down, freed, and resolved again. */
    for (int round = 0; round < 200; round++) {
        make_frame(&f, ip4(10, 0, 0, 5), ip4(172, 16, 9, 9), IPPROTO_UDP_, 18);
        expect_same(&f, now, "learned gateway", round);
        make_frame(&f, ip4(10, 0, 0, 5), ip4(198, 51, 100, 9), IPPROTO_UDP_, 18);
        expect_same(&f, now, "silent gateway", round);
        make_frame(&f, ip4(10, 0, 0, 5), ip4(10, 1, 0, 44), IPPROTO_UDP_, 18);
        expect_same(&f, now, "unknown host", round);
        now += 2 * NS_PER_S;
        router_tick(fast.r, now);
        router_tick(general.r, now);
        pipeline_flush(&fast.pl);
        pipeline_flush(&general.pl);
    }
    struct router_stats st;
    router_get_stats(fast.r, &st);
    cr_assert_gt(st.neigh_failures, 2, "the neighbours failed on the way");
    cr_assert_gt(nb_forwarded, 10);
}

Test(router_fast, every_destination_and_source_class_matches_the_general_path)
{
    class_frames();
}

Test(router_fast, every_byte_changed_matches_the_general_path)
{
    changed_byte_frames();
}

Test(router_fast, ttl_lengths_and_neighbour_states_match_the_general_path)
{
    ttl_length_and_neighbour_frames();
}

/* ---- with an ACL ---------------------------------------------------------- */

/* Rules that the frames above meet in every way: denied and allowed by
 * ports, protocol, source and destination, before and after the router's
 * own drops, and for frames the router would forward. */
static const char *const acl_lines[] = {
    "deny proto udp dst 192.168.3.0/24 dport 5001",
    "allow proto tcp sport 40000",
    "deny proto icmp dst 172.16.0.0/12",
    "deny src 10.0.0.1/32",
    "deny dst 8.8.8.0/24",
    "allow proto udp sport 4000 dst 10.0.0.0/8",
    "deny proto udp dst 224.0.0.0/4",
    "deny proto tcp dport 0-79",
};

static void *acl_mem;

static void world_acl(struct world *w, bool build)
{
    char why[128];

    acl_init(&w->cfg.acl);
    for (size_t i = 0; i < sizeof(acl_lines) / sizeof(acl_lines[0]); i++) {
        char text[128];
        struct config_token toks[16];
        size_t n = 0;
        snprintf(text, sizeof(text), "%s", acl_lines[i]);
        for (char *save, *t = strtok_r(text, " ", &save); t; t = strtok_r(NULL, " ", &save))
            toks[n++] = (struct config_token){ t, strlen(t) };
        cr_assert_eq(acl_parse(&w->cfg.acl, toks, n, (uint32_t)i + 1, why, sizeof(why)), 0,
                     "%s: %s", acl_lines[i], why);
    }
    if (build) {
        size_t bytes = acl_mem_bytes(w->cfg.acl.nb_rules);
        acl_mem = malloc(bytes);
        cr_assert_eq(acl_build(&w->cfg.acl, acl_mem, bytes), 0);
    }
    w->pl.acl = &w->cfg.acl;
}

static void expect_same_hits(void)
{
    const struct acl *a = &fast.cfg.acl, *b = &general.cfg.acl;
    uint64_t total = a->default_hits;

    for (unsigned i = 0; i < a->nb_rules; i++) {
        cr_assert_eq(a->rules[i].hits, b->rules[i].hits, "rule %u (%s): %llu hits (fast) vs %llu",
                     i, acl_lines[i], (unsigned long long)a->rules[i].hits,
                     (unsigned long long)b->rules[i].hits);
        total += a->rules[i].hits;
    }
    cr_assert_eq(a->default_hits, b->default_hits, "default: %llu hits (fast) vs %llu",
                 (unsigned long long)a->default_hits, (unsigned long long)b->default_hits);
    cr_assert_gt(total, 0);
}

Test(router_fast, with_an_acl_every_class_and_changed_byte_matches_the_general_path)
{
    world_acl(&fast, true);
    world_acl(&general, false);
    cr_assert_not_null(fast.cfg.acl.classifier);
    class_frames();
    changed_byte_frames();
    expect_same_hits();
    uint64_t denied = fast.pl.drops[DROP_ACL_DENY];
    cr_assert_gt(denied, 100, "the ACL denied frames");
    /* The same with "default deny": every frame no rule allows is dropped. */
    fast.cfg.acl.default_action = general.cfg.acl.default_action = ACL_DENY;
    class_frames();
    expect_same_hits();
    cr_assert_gt(fast.pl.drops[DROP_ACL_DENY], 2 * denied);
    free(acl_mem);
}

/* The fast path's fourth loop: a capture watching while the ACL decides. */
Test(router_fast, with_an_acl_and_a_capture_running_the_copies_match_the_general_path)
{
    static const char start[] = "start points=rx*,tx*,drop* bpf=000600000000ffff";
    char reply[160];

    world_acl(&fast, true);
    world_acl(&general, false);
    capture_command(&fast.cap, start, NB_WPORTS, reply, sizeof(reply));
    cr_assert(strstr(reply, "ok") != NULL, "%s", reply);
    capture_command(&general.cap, start, NB_WPORTS, reply, sizeof(reply));
    cr_assert(strstr(reply, "ok") != NULL, "%s", reply);
    class_frames();
    expect_same_hits();
    cr_assert_eq(fast.cap.captured, general.cap.captured);
    cr_assert_gt(fast.pl.drops[DROP_ACL_DENY], 100, "the ACL denied frames");
    free(acl_mem);
}

Test(router_fast, with_an_acl_ttl_lengths_and_neighbour_states_match_the_general_path)
{
    world_acl(&fast, true);
    world_acl(&general, false);
    ttl_length_and_neighbour_frames();
    expect_same_hits();
    free(acl_mem);
}

/* The fast path keeps a copy of a gateway's MACs: each change of its
 * neighbour entry (another MAC heard, made static, replaced by a learned
 * one again) and the reachable time running out, with no timer run, must
 * reach the very next packet. */
Test(router_fast, a_gateway_whose_mac_changes_is_followed_at_once)
{
    static const uint8_t mac_moved[6] = { 0x02, 0, 0, 0, 1, 0x33 };
    static const uint8_t mac_static[6] = { 0x02, 0, 0, 0, 1, 0x44 };
    struct frame f;
    uint64_t now = 2 * NS_PER_S;

    make_frame(&f, ip4(10, 0, 0, 5), ip4(172, 16, 9, 9), IPPROTO_UDP_, 18);
    expect_same(&f, now, "learned", 0);
    cr_assert_arr_eq(fast.ports[1].kept[0], MAC_GW_LEARNED, 6);
    expect_same(&f, now, "learned, again", 0);
    world_learn(&fast, ip4(10, 1, 0, 3), mac_moved, now);
    world_learn(&general, ip4(10, 1, 0, 3), mac_moved, now);
    expect_same(&f, now, "moved", 0);
    cr_assert_arr_eq(fast.ports[1].kept[0], mac_moved, 6, "the new MAC at once");
    cr_assert_eq(router_add_neighbor(fast.r, ip4(10, 1, 0, 3), mac_static), 0);
    cr_assert_eq(router_add_neighbor(general.r, ip4(10, 1, 0, 3), mac_static), 0);
    expect_same(&f, now, "static", 0);
    cr_assert_arr_eq(fast.ports[1].kept[0], mac_static, 6);
    /* The silent gateway answers: learned, used, then its reachable time
     * runs out with no timer run, so the next packet finds it stale. */
    world_learn(&fast, ip4(10, 1, 0, 9), mac_moved, now);
    world_learn(&general, ip4(10, 1, 0, 9), mac_moved, now);
    make_frame(&f, ip4(10, 0, 0, 5), ip4(198, 51, 100, 9), IPPROTO_UDP_, 18);
    for (int step = 0; step < 4; step++) {
        expect_same(&f, now, "answered gateway", step);
        expect_same(&f, now, "answered gateway, again", step);
        now += ROUTER_NEIGH_REACHABLE_NS / 2;
    }
    cr_assert_gt(nb_forwarded, 5);
}

/* The fast path itself, without the pipeline: it settles a run of plain
 * forwardable packets into the batches, stops at the first it cannot, and
 * leaves a port without a batch to the general path. */
Test(router_fast, a_run_stops_at_the_first_packet_the_fast_path_leaves)
{
    struct frame f[4];
    struct pktbuf *b[4], *tx1[4], *dropped[4];
    uint64_t drop_counts[DROP__COUNT] = { 0 };
    struct router_burst_out out = { .tx_next = { NULL, tx1 }, .drop_next = dropped,
                                    .drop_counts = drop_counts };

    make_frame(&f[0], ip4(10, 0, 0, 5), ip4(192, 168, 1, 1), IPPROTO_UDP_, 18);
    make_frame(&f[1], ip4(10, 0, 0, 5), ip4(224, 0, 0, 9), IPPROTO_UDP_, 18);
    make_frame(&f[2], ip4(10, 0, 0, 5), ip4(10, 0, 0, 1), IPPROTO_ICMP_, 18);
    make_frame(&f[3], ip4(10, 0, 0, 5), ip4(192, 168, 1, 2), IPPROTO_UDP_, 18);
    cr_assert_eq(pool_get_bulk(pool, b, 4), 4);
    for (int i = 0; i < 4; i++) {
        memcpy(pktbuf_data(b[i]), f[i].bytes, f[i].len);
        b[i]->data_len = f[i].len;
        b[i]->port = 9;
    }
    cr_assert_eq(router_forward_burst(fast.r, 0, b, 4, 2 * NS_PER_S, &out), 2);
    cr_assert_eq(out.tx_next[1], tx1 + 1, "to port 1");
    cr_assert_eq(tx1[0], b[0]);
    cr_assert_eq(b[0]->port, 0, "the input port");
    cr_assert_arr_eq(pktbuf_data(b[0]), MAC_GW_STATIC, 6);
    cr_assert_eq(pktbuf_data(b[0])[22], 63, "TTL taken down");
    cr_assert_eq(out.drop_next, dropped + 1);
    cr_assert_eq(dropped[0], b[1]);
    cr_assert_eq(drop_counts[DROP_UNSUPPORTED], 1, "multicast is not routed");
    cr_assert_eq(b[2]->port, 9, "the packet left is not touched");
    cr_assert_eq(router_forward_burst(fast.r, 0, b + 3, 1, 2 * NS_PER_S, &out), 1);
    cr_assert_eq(out.tx_next[1], tx1 + 2);
    cr_assert_eq(tx1[1], b[3]);
    cr_assert_eq(router_forward_burst(fast.r, 7, b + 3, 1, 2 * NS_PER_S, &out), 0,
                 "a port without an address");
    memcpy(pktbuf_data(b[3]), f[3].bytes, f[3].len);    /* as it came in again */
    b[3]->data_len = f[3].len;
    out.tx_next[1] = NULL;
    cr_assert_eq(router_forward_burst(fast.r, 0, b + 3, 1, 2 * NS_PER_S, &out), 0,
                 "an output port without a batch");
    cr_assert_eq(b[3]->port, 0, "not touched since it was first sent");
    pool_put_bulk(pool, b, 4);
    cr_assert_eq(pool->nb_put_rejected, 0);
}

/* A capture running at every point of both ports: the fast path stays on,
 * and the copies it makes (before the rewrite at rx, after it at tx, with
 * the reason at drop) are those of the general path, in the same order. */
Test(router_fast, with_a_capture_running_the_copies_match_the_general_path)
{
    static const uint32_t dsts[] = { 0xc0a80101, 0xac100505, 0x0a010002, 0xe0000005,
                                     0x7f000001, 0x0a000001, 0xcb007107, 0x08080808 };
    static const char start[] = "start points=rx*,tx*,drop* bpf=000600000000ffff";
    char reply[160];
    struct frame f;
    uint64_t now = 2 * NS_PER_S;

    capture_command(&fast.cap, start, NB_WPORTS, reply, sizeof(reply));
    cr_assert(strstr(reply, "ok") != NULL, "%s", reply);
    capture_command(&general.cap, start, NB_WPORTS, reply, sizeof(reply));
    cr_assert(strstr(reply, "ok") != NULL, "%s", reply);
    for (size_t d = 0; d < sizeof(dsts) / sizeof(dsts[0]); d++)
        for (uint8_t ttl = 1; ttl <= 3; ttl += 2) {
            make_frame(&f, ip4(10, 0, 0, 5), dsts[d], IPPROTO_UDP_, 18);
            ((struct ipv4_hdr *)(f.bytes + 14))->ttl = ttl;
            seal(&f);
            expect_same(&f, now, "captured", (int)(d * 10 + ttl));
            now += 1000;
        }
    cr_assert_eq(nb_forwarded, 3, "the three reachable destinations were forwarded");
    cr_assert_eq(fast.cap.captured, general.cap.captured);
    cr_assert_gt(fast.cap.captured, 2 * nb_forwarded, "rx and tx copies of each forwarded frame");
}
