/*
 * Tests for net/pipeline.c: the stages between rx_burst and tx_burst, run
 * on software ports (tests/models/sink_netdev.c) over a real pool, with the
 * real bridge, router, LPM and ACL behind them. Every test ends with the
 * pool back at its baseline: nothing leaks on any path.
 */
#include <stdlib.h>
#include <string.h>

#include "net/bridge.h"
#include "net/csum.h"
#include "net/lpm.h"
#include "net/pipeline.h"
#include "net/pool.h"
#include "net/router.h"
#include "tests/models/sink_netdev.h"
#include "tests/unit/checked_test.h"

#define NB_PORTS 3
#define POOL_BYTES (4u << 20)

static void *pool_mem, *table_mem[3];
static struct pool *pool;
static struct sink_netdev ports[NB_PORTS];
static struct netdev *devs[NB_PORTS];
static struct pipeline pl;
static struct config cfg;
static uint32_t baseline;

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0xb };

static void setup(void)
{
    pool_mem = aligned_alloc(4096, POOL_BYTES);
    pool = pool_create(pool_mem, (dma_addr_t)(uintptr_t)pool_mem, POOL_BYTES, 0);
    for (int p = 0; p < NB_PORTS; p++) {
        uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, (uint8_t)(0x10 + p) };
        sink_netdev_init(&ports[p], (uint16_t)p, mac, pool);
        devs[p] = &ports[p].nd;
    }
    config_defaults(&cfg);
    baseline = pool_in_use(pool);
}

/* The end of every test (CHECKED_TEST): whatever was queued is sent, and
 * then the ledger balances (each buffer that came in or was made went out,
 * was dropped under a reason, was used up, or is parked) and no buffer is
 * still out. */
static void balanced_and_no_leak(void)
{
    pipeline_flush(&pl);
    struct pipeline_accounting a;
    pipeline_get_accounting(&pl, &a);
    cr_assert_eq(a.received + a.generated, a.forwarded + a.dropped + a.consumed + a.parked,
                 "ledger: received %llu + generated %llu != forwarded %llu + dropped %llu + "
                 "consumed %llu + parked %llu", (unsigned long long)a.received,
                 (unsigned long long)a.generated, (unsigned long long)a.forwarded,
                 (unsigned long long)a.dropped, (unsigned long long)a.consumed,
                 (unsigned long long)a.parked);
    cr_assert_eq(pool_in_use(pool), baseline + a.parked, "buffers leaked: %u in use",
                 pool_in_use(pool) - baseline);
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++) {
        free(table_mem[i]);
        table_mem[i] = NULL;
    }
    free(pool_mem);
}

TestSuite(pipeline, .init = setup, .fini = teardown);

/* A UDP/IPv4 frame from MAC_A to dst_mac, 10.0.0.2 -> dst_ip:dport. */
static uint16_t make_udp(uint8_t *f, const uint8_t dst_mac[6], uint32_t dst_ip, uint16_t dport,
                         uint8_t ttl)
{
    memset(f, 0, 64);
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, MAC_A, 6);
    f[12] = 0x08;
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(f + 14);
    ip->ver_ihl = 0x45;
    ip->total_len = pm_htons(20 + 8 + 18);
    ip->ttl = ttl;
    ip->proto = IPPROTO_UDP_;
    ip->src = pm_htonl(0x0a000002);
    ip->dst = pm_htonl(dst_ip);
    ip->csum = csum_ipv4_header(ip, 20);
    struct udp_hdr *udp = (struct udp_hdr *)(f + 34);
    udp->sport = pm_htons(5000);
    udp->dport = pm_htons(dport);
    udp->len = pm_htons(8 + 18);
    return 64;
}

static void run_frame(uint16_t in_port, const uint8_t *frame, uint16_t len)
{
    struct pktbuf *b = pool_get(pool);
    cr_assert_not_null(b);
    memcpy(pktbuf_data(b), frame, len);
    b->data_len = len;
    pipeline_run(&pl, in_port, &b, 1, 1000);
    pipeline_flush(&pl);
}

CHECKED_TEST(pipeline, l2fwd_without_acl_forwards_even_unparseable_frames_to_the_pair, balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    uint8_t junk[20] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 0x12, 0x34 };
    run_frame(0, junk, sizeof(junk));
    cr_assert_eq(ports[1].nb_sent, 1);
    cr_assert_arr_eq(ports[1].kept[0], "\x02\x00\x00\x00\x00\x01", 6);
    cr_assert_arr_eq(ports[1].kept[0] + 6, ports[1].nd.mac, 6);
}

/* Up to 1514 bytes and two VLAN tags pass in the L2 modes; a longer frame
 * (virtio-net hands up to its buffer size) is dropped as unsupported. */
CHECKED_TEST(pipeline, giants_are_dropped_in_l2fwd_and_bridge, balanced_and_no_leak)
{
    static uint8_t big[1600];
    memset(big, 0x11, sizeof(big));
    memcpy(big, MAC_B, 6);
    memcpy(big + 6, MAC_A, 6);

    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    run_frame(0, big, 1522);
    run_frame(0, big, 1523);
    run_frame(0, big, 1600);
    cr_assert_eq(ports[1].nb_sent, 1, "1522 bytes (1514 + two tags) still go");
    cr_assert_eq(pl.drops[DROP_UNSUPPORTED], 2);

    balanced_and_no_leak();
    cfg.mode = CONFIG_MODE_BRIDGE;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    table_mem[0] = malloc(bridge_mem_bytes(64));
    pl.bridge = bridge_create(table_mem[0], bridge_mem_bytes(64), 64, 1000000000ull, false);
    big[12] = 0x88;                             /* an ethertype the bridge just carries */
    big[13] = 0xb5;
    run_frame(0, big, 1514);
    run_frame(0, big, 1600);
    cr_assert_eq(ports[1].nb_sent, 2, "the flood of the 1514-byte frame, plus the first test's");
    cr_assert_eq(pl.drops[DROP_UNSUPPORTED], 1);
}

CHECKED_TEST(pipeline, l2fwd_unpaired_port_drops_as_no_output, balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl, &cfg, devs, 3, pool);
    uint8_t f[64];
    run_frame(2, f, make_udp(f, MAC_B, 0x0a000003, 53, 64));
    cr_assert_eq(pl.drops[DROP_NO_OUTPUT], 1);
}

CHECKED_TEST(pipeline, acl_deny_drops_and_counts_while_other_ports_pass, balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    struct config_token toks[] = { { "deny", 4 }, { "proto", 5 }, { "udp", 3 },
                                   { "dport", 5 }, { "53", 2 } };
    char why[96];
    cr_assert_eq(acl_parse(&cfg.acl, toks, 5, 1, why, sizeof(why)), 0, "%s", why);
    pl.acl = &cfg.acl;
    uint8_t f[64];
    run_frame(0, f, make_udp(f, MAC_B, 0x0a000003, 53, 64));
    run_frame(0, f, make_udp(f, MAC_B, 0x0a000003, 54, 64));
    cr_assert_eq(pl.drops[DROP_ACL_DENY], 1);
    cr_assert_eq(ports[1].nb_sent, 1);
    cr_assert_eq(cfg.acl.rules[0].hits, 1);
}

CHECKED_TEST(pipeline, malformed_ip_is_dropped_under_its_reason_when_parsing, balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_BRIDGE;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    table_mem[0] = malloc(bridge_mem_bytes(64));
    pl.bridge = bridge_create(table_mem[0], bridge_mem_bytes(64), 64, 1000000000ull, false);
    uint8_t f[64];
    make_udp(f, MAC_B, 0x0a000003, 53, 64);
    f[24] ^= 0xff;                              /* break the IPv4 checksum */
    run_frame(0, f, 64);
    cr_assert_eq(pl.drops[DROP_BAD_IP_CSUM], 1);
    cr_assert_eq(ports[1].nb_sent, 0);
}

CHECKED_TEST(pipeline, bridge_floods_unknown_to_every_other_port_then_learns, balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_BRIDGE;
    pipeline_init(&pl, &cfg, devs, 3, pool);
    table_mem[0] = malloc(bridge_mem_bytes(64));
    pl.bridge = bridge_create(table_mem[0], bridge_mem_bytes(64), 64, 1000000000ull, false);
    uint8_t f[64];
    run_frame(0, f, make_udp(f, MAC_B, 0x0a000003, 53, 64));   /* A -> B unknown */
    cr_assert_eq(ports[0].nb_sent, 0, "never back out the input port");
    cr_assert_eq(ports[1].nb_sent, 1);
    cr_assert_eq(ports[2].nb_sent, 1);
    uint8_t back[64];
    make_udp(back, MAC_A, 0x0a000002, 53, 64);
    memcpy(back + 6, MAC_B, 6);
    run_frame(2, back, 64);                                     /* B (port 2) -> A: learned */
    cr_assert_eq(ports[0].nb_sent, 1);
    cr_assert_eq(ports[1].nb_sent, 1);
}

CHECKED_TEST(pipeline, tx_full_frees_and_counts_what_the_port_did_not_take, balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    ports[1].tx_room = 3;
    struct pktbuf *b[10];
    cr_assert_eq(pool_get_bulk(pool, b, 10), 10);
    for (int i = 0; i < 10; i++) {
        make_udp(pktbuf_data(b[i]), MAC_B, 0x0a000003, 53, 64);
        b[i]->data_len = 64;
    }
    pipeline_run(&pl, 0, b, 10, 1000);
    pipeline_flush(&pl);
    cr_assert_eq(ports[1].nb_sent, 3);
    cr_assert_eq(pl.drops[DROP_TX_FULL], 7);
}

CHECKED_TEST(pipeline, a_port_without_link_sends_nothing_and_counts_link_down,
             balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    struct pktbuf *b[10];
    cr_assert_eq(pool_get_bulk(pool, b, 10), 10);
    for (int i = 0; i < 10; i++) {
        make_udp(pktbuf_data(b[i]), MAC_B, 0x0a000003, 53, 64);
        b[i]->data_len = 64;
    }
    ports[1].nd.link_up = false;
    pipeline_run(&pl, 0, b, 6, 1000);
    pipeline_flush(&pl);
    cr_assert_eq(ports[1].nb_sent, 0, "nothing handed to a port without link");
    cr_assert_eq(pl.drops[DROP_LINK_DOWN], 6);
    cr_assert_eq(pl.drops[DROP_TX_FULL], 0);
    ports[1].nd.link_up = true;                 /* back: the port sends again */
    pipeline_run(&pl, 0, b + 6, 4, 2000);
    pipeline_flush(&pl);
    cr_assert_eq(ports[1].nb_sent, 4);
    cr_assert_eq(pl.drops[DROP_LINK_DOWN], 6);
}

static enum pipeline_verdict prog_by_port(void *ctx, struct pktbuf *pkt, uint16_t *port)
{
    (void)ctx;
    uint8_t sel = pktbuf_data(pkt)[63];
    *port = 2;
    return sel == 0 ? PIPELINE_PASS : sel == 1 ? PIPELINE_DROP : sel == 2 ? PIPELINE_TX
                                                                          : PIPELINE_REDIRECT;
}

CHECKED_TEST(pipeline, program_hook_verdicts_pass_drop_tx_redirect, balanced_and_no_leak)
{
    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl, &cfg, devs, 3, pool);
    pl.prog = prog_by_port;
    uint8_t f[64];
    for (uint8_t v = 0; v < 4; v++) {
        make_udp(f, MAC_B, 0x0a000003, 53, 64);
        f[63] = v;
        run_frame(0, f, 64);
    }
    cr_assert_eq(ports[1].nb_sent, 1, "pass -> l2fwd pair");
    cr_assert_eq(pl.drops[DROP_PROGRAM], 1);
    cr_assert_eq(ports[0].nb_sent, 1, "tx -> back out the input port");
    cr_assert_eq(ports[2].nb_sent, 1, "redirect -> port 2");
}

static void router_emit(void *ctx, uint16_t port, struct pktbuf *pkt)
{
    pipeline_emit(ctx, port, pkt);
}

static void router_drop(void *ctx, struct pktbuf *pkt, enum drop_reason why)
{
    pipeline_drop(ctx, pkt, why);
}

/* Router mode on ports 0 (10.0.0.1/24) and 1 (10.1.0.1/24, a static
 * neighbour 10.1.0.2 at MAC_B). */
static void router_two_ports(void)
{
    cfg.mode = CONFIG_MODE_ROUTER;
    pipeline_init(&pl, &cfg, devs, 2, pool);
    table_mem[0] = malloc(lpm_mem_bytes(64));
    table_mem[1] = malloc(router_mem_bytes());
    struct lpm *lpm = lpm_create(table_mem[0], lpm_mem_bytes(64), 64);
    struct router_io io = { .pool = pool, .emit = router_emit, .drop = router_drop, .ctx = &pl };
    pl.router = router_create(table_mem[1], router_mem_bytes(), lpm, &io);
    cr_assert_not_null(pl.router);
    cr_assert_eq(router_add_port(pl.router, 0, 0x0a000001, 24, ports[0].nd.mac), 0);
    cr_assert_eq(router_add_port(pl.router, 1, 0x0a010001, 24, ports[1].nd.mac), 0);
    cr_assert_eq(router_add_neighbor(pl.router, 0x0a010002, MAC_B), 0);
}

CHECKED_TEST(pipeline, router_mode_answers_arp_for_its_address_out_the_same_port, balanced_and_no_leak)
{
    router_two_ports();
    uint8_t f[60] = { 0 };
    memset(f, 0xff, 6);
    memcpy(f + 6, MAC_A, 6);
    f[12] = 0x08; f[13] = 0x06;
    struct arp_hdr *arp = (struct arp_hdr *)(f + 14);
    arp->htype = pm_htons(1); arp->ptype = pm_htons(0x0800); arp->hlen = 6; arp->plen = 4;
    arp->op = pm_htons(ARP_OP_REQUEST);
    memcpy(arp->sha, MAC_A, 6);
    memcpy(arp->spa, "\x0a\x00\x00\x02", 4);
    memcpy(arp->tpa, "\x0a\x00\x00\x01", 4);
    run_frame(0, f, 60);
    cr_assert_eq(ports[0].nb_sent, 1);
    const struct arp_hdr *reply = (const struct arp_hdr *)(ports[0].kept[0] + 14);
    cr_assert_eq(pm_ntohs(reply->op), ARP_OP_REPLY);
    cr_assert_arr_eq(reply->sha, ports[0].nd.mac, 6);
    cr_assert_arr_eq(ports[0].kept[0], MAC_A, 6);
}

/* --- router mode and L4 headers --------------------------------------------- */

static enum pipeline_verdict prog_pass(void *ctx, struct pktbuf *pkt, uint16_t *port)
{
    (void)ctx, (void)pkt, (void)port;
    return PIPELINE_PASS;
}

/* make_udp's frame to the router's port 0 with a UDP length of 200, past
 * the 26 bytes the IP header leaves for it. */
static uint16_t make_udp_long(uint8_t *f, uint32_t dst_ip)
{
    uint16_t len = make_udp(f, ports[0].nd.mac, dst_ip, 9, 64);
    ((struct udp_hdr *)(f + 34))->len = pm_htons(200);
    return len;
}

/* A router forwards on the IP header: a broken UDP header passing through
 * is the receiver's to refuse, by the fast path and the general one alike
 * (a program hook forces the latter). */
CHECKED_TEST(pipeline, router_forwards_a_transit_packet_whatever_its_udp_length, balanced_and_no_leak)
{
    uint8_t f[64];

    router_two_ports();
    run_frame(0, f, make_udp_long(f, 0x0a010002));
    cr_assert_eq(ports[1].nb_sent, 1);
    cr_assert_arr_eq(ports[1].kept[0], MAC_B, 6);
    cr_assert_eq(ports[1].kept[0][14 + 8], 63, "TTL decremented");
    cr_assert(csum_ipv4_header_ok(ports[1].kept[0] + 14, 20));
    pl.prog = prog_pass;
    run_frame(0, f, make_udp_long(f, 0x0a010002));
    cr_assert_eq(ports[1].nb_sent, 2);
    cr_assert_eq(pl.drops[DROP_BAD_L4_LEN], 0);
}

/* To the router itself, the L4 header is read, so it must be whole. */
CHECKED_TEST(pipeline, router_drops_a_broken_udp_header_addressed_to_it, balanced_and_no_leak)
{
    uint8_t f[64];

    router_two_ports();
    run_frame(0, f, make_udp_long(f, 0x0a000001));
    cr_assert_eq(pl.drops[DROP_BAD_L4_LEN], 1);
    cr_assert_eq(ports[0].nb_sent + ports[1].nb_sent, 0, "no port unreachable for it");
    run_frame(0, f, make_udp(f, ports[0].nd.mac, 0x0a000001, 9, 64));
    cr_assert_eq(pl.drops[DROP_LOCAL_UNHANDLED], 1, "a whole one gets its port unreachable");
    cr_assert_eq(ports[0].nb_sent, 1);
}

/* An ACL matches on ports, so with one active the pipeline drops a broken
 * L4 header before it, in router mode too. */
CHECKED_TEST(pipeline, router_with_an_acl_drops_a_broken_udp_header_passing_through, balanced_and_no_leak)
{
    struct config_token toks[] = { { "deny", 4 }, { "proto", 5 }, { "tcp", 3 } };
    char why[96];
    uint8_t f[64];

    router_two_ports();
    cr_assert_eq(acl_parse(&cfg.acl, toks, 3, 1, why, sizeof(why)), 0, "%s", why);
    pl.acl = &cfg.acl;
    run_frame(0, f, make_udp_long(f, 0x0a010002));
    cr_assert_eq(pl.drops[DROP_BAD_L4_LEN], 1);
    cr_assert_eq(ports[1].nb_sent, 0);
    run_frame(0, f, make_udp(f, ports[0].nd.mac, 0x0a010002, 9, 64));
    cr_assert_eq(ports[1].nb_sent, 1);
}
