/*
 * Counters near their limits (issue 7: no counter wrap problems). The ring
 * and virtqueue indices have their own wrap tests (test_ring.c,
 * test_virtqueue.c, test_virtio_net.c); this file covers the counters an
 * operator reads: the pipeline's ledger and drops by reason, the ports'
 * packet, byte and tx_full counters, and the pool's exhaustion and
 * refused-put counters. All are 64-bit and free-running, so each test
 * starts them just below a limit and runs real traffic across it:
 *
 *   2^32   a 32-bit intermediate anywhere on the way would truncate here:
 *          every counter must end exactly start + events, above 2^32;
 *   2^64   where they do wrap: the ledger must still balance (its identity
 *          holds modulo 2^64) and a delta taken by unsigned subtraction, as
 *          the STATS rates and the QEMU tests' ledger are, must be exact.
 *
 * Traffic: a bridge over three software ports (tests/models/sink_netdev.c)
 * that floods each unknown frame from port 0 to ports 1 and 2 (one flood
 * copy each time) while port 2 takes nothing (tx_full), and an ACL that
 * denies UDP port 53. Frames enter through the ports' rx_burst as the main
 * loop feeds them, so the ports count them too (the software port counts
 * packets in, packets and bytes out).
 */
#include <stdlib.h>
#include <string.h>

#include "net/bridge.h"
#include "net/csum.h"
#include "net/pipeline.h"
#include "net/proto.h"
#include "net/pool.h"
#include "tests/models/sink_netdev.h"
#include "tests/unit/checked_test.h"

#define NB_PORTS    3
#define POOL_BYTES  (4u << 20)
#define FLOODED     20          /* unknown destination: forwarded to port 1, tx_full on port 2 */
#define DENIED      5           /* UDP port 53: acl_deny */

static void *pool_mem, *bridge_mem;
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
    baseline = pool_in_use(pool);
}

static void teardown(void)
{
    free(bridge_mem);
    bridge_mem = NULL;
    free(pool_mem);
}

static void no_leak(void)
{
    cr_assert_eq(pool_in_use(pool), baseline, "buffers leaked: %u in use",
                 pool_in_use(pool) - baseline);
}

TestSuite(counters, .init = setup, .fini = teardown);

static void bridge_with_acl(void)
{
    config_defaults(&cfg);
    cfg.mode = CONFIG_MODE_BRIDGE;
    struct config_token toks[] = { { "deny", 4 }, { "proto", 5 }, { "udp", 3 },
                                   { "dport", 5 }, { "53", 2 } };
    char why[96];
    cr_assert_eq(acl_parse(&cfg.acl, toks, 5, 1, why, sizeof(why)), 0, "%s", why);
    pipeline_init(&pl, &cfg, devs, NB_PORTS, pool);
    pl.acl = &cfg.acl;
    bridge_mem = malloc(bridge_mem_bytes(64));
    pl.bridge = bridge_create(bridge_mem, bridge_mem_bytes(64), 64, 1000000000ull, false);
    ports[2].tx_room = 0;
}

/* A 64-byte UDP/IPv4 frame from MAC_A to MAC_B, 10.0.0.2 -> 10.0.0.3:dport. */
static void inject_udp(uint16_t dport)
{
    uint8_t f[64] = { 0 };
    memcpy(f, MAC_B, 6);
    memcpy(f + 6, MAC_A, 6);
    f[12] = 0x08;
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(f + 14);
    ip->ver_ihl = 0x45;
    ip->total_len = pm_htons(20 + 8 + 22);
    ip->ttl = 64;
    ip->proto = IPPROTO_UDP_;
    ip->src = pm_htonl(0x0a000002);
    ip->dst = pm_htonl(0x0a000003);
    ip->csum = csum_ipv4_header(ip, 20);
    struct udp_hdr *udp = (struct udp_hdr *)(f + 34);
    udp->sport = pm_htons(5000);
    udp->dport = pm_htons(dport);
    udp->len = pm_htons(8 + 22);
    cr_assert_eq(sink_netdev_inject(&ports[0], f, sizeof(f)), 0);
}

/* What the main loop does with port 0: a burst in, the pipeline, a flush. */
static void poll_port0(void)
{
    struct pktbuf *pkts[PIPELINE_BURST];
    uint16_t n;
    while ((n = netdev_rx_burst(devs[0], pkts, PIPELINE_BURST)) != 0) {
        pipeline_run(&pl, 0, pkts, n, 1000);
        pipeline_flush(&pl);
    }
}

static void run_traffic(void)
{
    for (int i = 0; i < FLOODED + DENIED; i++) {
        inject_udp(i < FLOODED ? 7 : 53);
        if (i % 8 == 7)
            poll_port0();
    }
    poll_port0();
}

/* Every counter the traffic moves, starting at `start` with the ledger
 * balanced: received + generated (copies) = forwarded + dropped. */
static void start_counters_at(uint64_t start)
{
    pl.received = start;
    pl.copies = start;
    pl.forwarded = start;
    pl.drops[DROP_TX_FULL] = start;
    pl.drops[DROP_ACL_DENY] = 0;
    for (int p = 0; p < NB_PORTS; p++) {
        struct netdev_stats *s = &ports[p].nd.stats;
        s->rx_packets = s->rx_bytes = s->tx_packets = s->tx_bytes = s->tx_full = start;
    }
}

struct snapshot {
    struct pipeline_accounting a;
    uint64_t tx_full_drops, acl_drops;
    struct netdev_stats port[NB_PORTS];
};

static struct snapshot snap(void)
{
    struct snapshot s;
    pipeline_get_accounting(&pl, &s.a);
    s.tx_full_drops = pl.drops[DROP_TX_FULL];
    s.acl_drops = pl.drops[DROP_ACL_DENY];
    for (int p = 0; p < NB_PORTS; p++)
        s.port[p] = ports[p].nd.stats;
    return s;
}

static void assert_balanced(const struct pipeline_accounting *a)
{
    cr_assert_eq(a->received + a->generated, a->forwarded + a->dropped + a->consumed + a->parked,
                 "ledger: received %llu + generated %llu != forwarded %llu + dropped %llu + "
                 "consumed %llu + parked %llu", (unsigned long long)a->received,
                 (unsigned long long)a->generated, (unsigned long long)a->forwarded,
                 (unsigned long long)a->dropped, (unsigned long long)a->consumed,
                 (unsigned long long)a->parked);
}

/* after - before, unsigned: exact across a wrap. */
#define DELTA_EQ(field, want) \
    cr_assert_eq(after.field - before.field, (uint64_t)(want), #field " moved by %llu, want %llu", \
                 (unsigned long long)(after.field - before.field), (unsigned long long)(want))

static void assert_deltas(const struct snapshot before, const struct snapshot after)
{
    DELTA_EQ(a.received, FLOODED + DENIED);
    DELTA_EQ(a.generated, FLOODED);                 /* one flood copy per unknown frame */
    DELTA_EQ(a.forwarded, FLOODED);                 /* port 1 */
    DELTA_EQ(a.dropped, FLOODED + DENIED);          /* port 2's copies, and the ACL's */
    DELTA_EQ(tx_full_drops, FLOODED);
    DELTA_EQ(acl_drops, DENIED);
    DELTA_EQ(port[0].rx_packets, FLOODED + DENIED);
    DELTA_EQ(port[1].tx_packets, FLOODED);
    DELTA_EQ(port[1].tx_bytes, 64 * FLOODED);
    DELTA_EQ(port[2].tx_packets, 0);
    DELTA_EQ(port[2].tx_full, FLOODED);
}

CHECKED_TEST(counters, pipeline_and_port_counters_count_exactly_past_2_32, no_leak)
{
    const uint64_t start = (1ull << 32) - 7;
    bridge_with_acl();
    start_counters_at(start);
    struct snapshot before = snap();
    run_traffic();
    struct snapshot after = snap();
    assert_balanced(&after.a);
    assert_deltas(before, after);
    cr_assert_eq(after.a.received, start + FLOODED + DENIED, "no 32-bit truncation");
    cr_assert_gt(after.port[0].rx_packets, UINT32_MAX);
    cr_assert_gt(after.port[2].tx_full, UINT32_MAX);
}

CHECKED_TEST(counters, pipeline_and_port_counters_wrap_past_2_64_balanced_and_exact, no_leak)
{
    const uint64_t start = UINT64_MAX - 9;
    bridge_with_acl();
    start_counters_at(start);
    struct snapshot before = snap();
    assert_balanced(&before.a);
    run_traffic();
    struct snapshot after = snap();
    cr_assert_lt(after.a.received, before.a.received, "the test must carry received past 2^64");
    cr_assert_lt(after.port[1].tx_bytes, before.port[1].tx_bytes, "... and a byte counter");
    assert_balanced(&after.a);
    assert_deltas(before, after);
}

CHECKED_TEST(counters, pool_counters_wrap_past_2_64_and_in_use_stays_exact, no_leak)
{
    uint32_t free_bufs = pool_free_count(pool);
    struct pktbuf **all = calloc(free_bufs + 1, sizeof(*all)), *extra;

    cr_assert_not_null(all);
    pool->nb_get_short = UINT64_MAX;
    pool->nb_put_rejected = UINT64_MAX - 1;
    cr_assert_eq(pool_get_bulk(pool, all, free_bufs + 1), free_bufs, "one short of the ask");
    cr_assert_eq(pool_get_bulk(pool, &extra, 1), 0, "and then dry");
    cr_assert_eq(pool->nb_get_short, 1, "2^64 - 1 + 2 short gets wrap to 1");
    cr_assert_eq(pool_in_use(pool), baseline + free_bufs);
    pool_put_bulk(pool, all, free_bufs);
    pool_put_bulk(pool, all, 2);                    /* two double frees, refused */
    cr_assert_eq(pool->nb_put_rejected, 0, "2^64 - 2 + 2 refused puts wrap to 0");
    cr_assert_eq(pool_in_use(pool), baseline);
    free(all);
}
