/*
 * libFuzzer target: a frame through the whole pipeline, in router, bridge
 * and l2fwd modes (reflect differs from l2fwd only in its MAC rewrite).
 *
 * An input is a small header, then the frame:
 *
 *   byte 0   bits 0-1  input port, modulo NB_PORTS
 *            bits 2-3  the port the program redirects to (3 does not exist)
 *            bit  4    every port's link is down while the frames go through
 *   byte 1   knobs, for what one frame on an idle box cannot provoke:
 *            bits 0-1  copies of the frame received back to back: 1, 2,
 *                      ROUTER_NEIGH_QUEUE + 1 (one more than a neighbour
 *                      parks), 2 * PIPELINE_BURST (two full bursts)
 *            bits 2-3  frames each port takes per tx_burst: all, none, 1, 2
 *            bits 4-5  the per-packet program: none, drop, tx, redirect
 *            bit  6    the pool is empty while the frames are processed
 *                      (only the received copies have buffers)
 *            bit  7    the neighbours answer: each ARP request that leaves a
 *                      port in router mode is answered at once by the
 *                      address it asks for
 *   byte 2   time since the previous input, in 2 s (up to 510 s, past the
 *            time a learned neighbour stays reachable)
 *   byte 3-  the frame
 *
 * The copies go through router mode (ACL, addresses, routes, a static
 * neighbour, a capture of every point through a BPF program), then bridge
 * mode and l2fwd with the same ACL, in bursts of at most PIPELINE_BURST,
 * each followed by a flush as in the main loop. Then housekeeping runs once
 * a second until every ARP resolution the input started has failed. Then
 * the pool must be back at its baseline with no buffer ever refused, and
 * each pipeline's ledger must balance: a buffer leaked, freed twice or not
 * counted on any path fails the run, as does any sanitizer report.
 *
 * State carries over from one input to the next as it would on a wire:
 * learned neighbours (and failed ones, for their hold-down time), bridge
 * entries, the ICMP token bucket.
 */
#include "tests/fuzz/fuzz_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bridge.h"
#include "net/capture.h"
#include "net/lpm.h"
#include "net/pipeline.h"
#include "net/pool.h"
#include "net/proto.h"
#include "net/ring.h"
#include "net/router.h"
#include "tests/models/sink_netdev.h"

#define NB_PORTS        3
#define POOL_BYTES      (4u << 20)      /* > CAPTURE_POOL_RESERVE buffers, so capture copies */
#define HEADER_BYTES    3
#define MAX_COPIES      (2 * PIPELINE_BURST)
#define GAP_UNIT_NS     2000000000ull
#define MAX_ANSWERS     16              /* ARP replies per port per flush */
#define BRIDGE_AGE_NS   60000000000ull
#define BRIDGE_ENTRIES  8               /* small, so a run of sources fills it */
/* Echo replies per second: the bucket holds half a second's worth, 8, so
 * ROUTER_NEIGH_QUEUE + 1 copies of an echo request overdraw it. */
#define ECHO_RATE       16
/* From the first ARP request to FAILED: 1 + ROUTER_ARP_RETRIES requests
 * ROUTER_ARP_RETRY_NS apart, then the last one's wait; one more for slack. */
#define SETTLE_STEPS    (ROUTER_ARP_RETRIES + 2)

struct input {
    uint16_t port;
    uint16_t copies;
    uint16_t tx_room;
    enum pipeline_verdict verdict;
    bool program;
    uint16_t redirect_port;
    bool starve;
    bool neighbours_answer;
    bool links_down;
    uint64_t gap_ns;
    const uint8_t *frame;
    uint16_t len;
};

static const uint16_t copies_knob[4] = { 1, 2, ROUTER_NEIGH_QUEUE + 1, MAX_COPIES };
static const uint16_t tx_room_knob[4] = { 0xffff, 0, 1, 2 };

static struct pool *pool;
static struct sink_netdev ports[NB_PORTS];
static struct netdev *devs[NB_PORTS];
static struct pipeline pl_router, pl_bridge, pl_l2fwd;
static struct config cfg;
static uint64_t now_ns = 1;
static struct capture *cap;
static struct sink_netdev cap_port;
static struct pktbuf **hoard;           /* the pool's free buffers, while starved */
static unsigned nb_hoarded;

/* --- setup ------------------------------------------------------------------ */

static void router_emit(void *ctx, uint16_t port, struct pktbuf *pkt)
{
    pipeline_emit(ctx, port, pkt);
}

static void router_drop(void *ctx, struct pktbuf *pkt, enum drop_reason why)
{
    pipeline_drop(ctx, pkt, why);
}

static void add_acl(const char *line)
{
    struct config_token toks[16];
    size_t n = 0;
    const char *s = line;
    while (*s && n < 16) {
        while (*s == ' ')
            s++;
        const char *start = s;
        while (*s && *s != ' ')
            s++;
        if (s > start)
            toks[n++] = (struct config_token){ start, (size_t)(s - start) };
    }
    char why[96];
    if (acl_parse(&cfg.acl, toks, n, 1, why, sizeof(why)) < 0)
        abort();
}

/* Port 0 10.0.0.1/24 and port 1 10.0.1.1/24; port 2 has no address.
 * 172.16.0.0/12 goes via a static neighbour, 192.168.0.0/16 via a gateway
 * that must be resolved; there is no default route. Echo replies are
 * limited to ECHO_RATE. */
static struct router *setup_router(void)
{
    size_t lb = lpm_mem_bytes(64);
    struct lpm *lpm = lpm_create(malloc(lb), lb, 64);
    struct router_io io = { .pool = pool, .emit = router_emit, .drop = router_drop,
                            .ctx = &pl_router };
    struct router *r = router_create(malloc(router_mem_bytes()), router_mem_bytes(), lpm, &io);
    if (r == NULL || router_add_port(r, 0, 0x0a000001, 24, ports[0].nd.mac) != 0 ||
        router_add_port(r, 1, 0x0a000101, 24, ports[1].nd.mac) != 0 ||
        router_add_route(r, 0xac100000, 12, 0x0a000102) != 0 ||
        router_add_route(r, 0xc0a80000, 16, 0x0a000002) != 0 ||
        router_add_neighbor(r, 0x0a000102, (const uint8_t *)"\x02\x00\x00\x00\x01\x02") != 0 ||
        router_set_icmp_rate(r, ROUTER_ICMP_RATE, ECHO_RATE) != 0)
        abort();
    return r;
}

/* Captures IPv4 frames at every point: ldh [12]; jeq #0x800 jt 1;
 * ret #0; ret #65535, so the filter's verdict depends on the frame. */
static void setup_capture(void)
{
    static const char prog[] = "002800000000000c" "0015010000000800"
                               "0006000000000000" "000600000000ffff";
    cap = calloc(1, sizeof(*cap));
    void *rmem = aligned_alloc(64, ring_mem_bytes(64));
    sink_netdev_init(&cap_port, 3, (const uint8_t *)"\x52\x54\x00\x00\x00\x13", pool);
    capture_init(cap, pool, ring_init(rmem, 64), cap_port.nd.mac, 0);
    char reply[256], cmd[160];
    snprintf(cmd, sizeof(cmd), "start points=rx*,tx*,drop* snap=200 bpf=%s", prog);
    capture_command(cap, cmd, NB_PORTS, reply, sizeof(reply));
    if (strncmp(reply, "capture: ok", 11) != 0)
        abort();
}

static void setup(void)
{
    void *mem = aligned_alloc(4096, POOL_BYTES);
    pool = pool_create(mem, (dma_addr_t)(uintptr_t)mem, POOL_BYTES, 0);
    hoard = calloc(pool->nb_bufs, sizeof(*hoard));
    for (int p = 0; p < NB_PORTS; p++) {
        uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, (uint8_t)(0x10 + p) };
        sink_netdev_init(&ports[p], (uint16_t)p, mac, pool);
        devs[p] = &ports[p].nd;
    }
    config_defaults(&cfg);
    add_acl("deny proto tcp dport 22");
    add_acl("deny src 10.9.0.0/16");
    add_acl("allow proto udp sport 1000-2000 dst 2001:db8::/32");
    size_t acl_bytes = acl_mem_bytes(cfg.acl.nb_rules);   /* as ports_init does */
    if (acl_build(&cfg.acl, malloc(acl_bytes), acl_bytes) != 0)
        abort();

    cfg.mode = CONFIG_MODE_ROUTER;
    pipeline_init(&pl_router, &cfg, devs, NB_PORTS, pool);
    pl_router.acl = &cfg.acl;
    pl_router.router = setup_router();
    setup_capture();
    pl_router.capture = cap;

    cfg.mode = CONFIG_MODE_BRIDGE;
    pipeline_init(&pl_bridge, &cfg, devs, NB_PORTS, pool);
    pl_bridge.acl = &cfg.acl;
    size_t bb = bridge_mem_bytes(BRIDGE_ENTRIES);
    pl_bridge.bridge = bridge_create(malloc(bb), bb, BRIDGE_ENTRIES, BRIDGE_AGE_NS, true);

    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl_l2fwd, &cfg, devs, NB_PORTS, pool);
    pl_l2fwd.acl = &cfg.acl;
}

/* --- one input ---------------------------------------------------------------- */

static bool input_read(const uint8_t *data, size_t size, struct input *in)
{
    if (size < HEADER_BYTES || size > HEADER_BYTES + PKTBUF_DATA_ROOM)
        return false;
    uint8_t knobs = data[1];
    static const enum pipeline_verdict verdicts[4] = { PIPELINE_PASS, PIPELINE_DROP,
                                                       PIPELINE_TX, PIPELINE_REDIRECT };
    *in = (struct input){
        .port = (data[0] & 3) % NB_PORTS,
        .redirect_port = (data[0] >> 2) & 3,
        .copies = copies_knob[knobs & 3],
        .tx_room = tx_room_knob[(knobs >> 2) & 3],
        .program = ((knobs >> 4) & 3) != 0,
        .verdict = verdicts[(knobs >> 4) & 3],
        .starve = (knobs & 0x40) != 0,
        .neighbours_answer = (knobs & 0x80) != 0,
        .links_down = (data[0] & 0x10) != 0,
        .gap_ns = data[2] * GAP_UNIT_NS,
        .frame = data + HEADER_BYTES,
        .len = (uint16_t)(size - HEADER_BYTES),
    };
    return true;
}

static enum pipeline_verdict program(void *ctx, struct pktbuf *pkt, uint16_t *port)
{
    const struct input *in = ctx;
    (void)pkt;
    *port = in->redirect_port;
    return in->verdict;
}

/* Takes every free buffer out of the pool, or gives them all back. */
static void pool_starve(void)
{
    unsigned got;
    nb_hoarded = 0;
    while ((got = pool_get_bulk(pool, hoard + nb_hoarded, 64)) > 0)
        nb_hoarded += got;
}

static void pool_feed(void)
{
    pool_put_bulk(pool, hoard, nb_hoarded);
    nb_hoarded = 0;
}

/* What the main loop does after each burst: TX, drops freed, captured
 * copies sent out of the capture port. */
static void flush(struct pipeline *pl)
{
    pipeline_flush(pl);
    while (capture_drain(cap, &cap_port.nd) > 0)
        ;
}

/* The reply the asked address sends to an ARP request the router sent,
 * from a MAC made of that address; false if sent is no such request. */
static bool arp_answer(const uint8_t *sent, uint16_t len, uint8_t reply[ETH_MIN_FRAME])
{
    const struct eth_hdr *eth = (const void *)sent;
    const struct arp_hdr *req = (const void *)(eth + 1);
    if (len < sizeof(*eth) + sizeof(*req) || eth->type != pm_htons(ETHERTYPE_ARP) ||
        req->op != pm_htons(ARP_OP_REQUEST))
        return false;
    struct eth_hdr *reth = (void *)reply;
    struct arp_hdr *rep = (void *)(reth + 1);
    uint8_t mac[ETH_ALEN] = { 0x02, 0x00 };
    memcpy(mac + 2, req->tpa, 4);
    memset(reply, 0, ETH_MIN_FRAME);
    memcpy(reth->dst, req->sha, ETH_ALEN);
    memcpy(reth->src, mac, ETH_ALEN);
    reth->type = pm_htons(ETHERTYPE_ARP);
    *rep = *req;
    rep->op = pm_htons(ARP_OP_REPLY);
    memcpy(rep->sha, mac, ETH_ALEN);
    memcpy(rep->spa, req->tpa, 4);
    memcpy(rep->tha, req->sha, ETH_ALEN);
    memcpy(rep->tpa, req->spa, 4);
    return true;
}

/* The neighbours' side of ARP: the requests among what each port sent since
 * the last call are answered, the replies received by the router at once. */
static void neighbours_answer(void)
{
    static uint8_t replies[NB_PORTS][MAX_ANSWERS][ETH_MIN_FRAME];
    unsigned nb[NB_PORTS] = { 0 };

    for (int p = 0; p < NB_PORTS; p++) {
        struct sink_netdev *s = &ports[p];
        uint32_t kept = s->nb_sent < SINK_KEEP_FRAMES ? s->nb_sent : SINK_KEEP_FRAMES;
        for (uint32_t i = 0; i < kept && nb[p] < MAX_ANSWERS; i++)
            if (arp_answer(s->kept[i], s->kept_len[i], replies[p][nb[p]]))
                nb[p]++;
        s->nb_sent = 0;
    }
    for (int p = 0; p < NB_PORTS; p++) {
        for (unsigned i = 0; i < nb[p]; i++) {
            struct pktbuf *b = pool_get(pool);
            if (b == NULL)
                return;                 /* the pool is starved: nobody hears them */
            memcpy(pktbuf_data(b), replies[p][i], ETH_MIN_FRAME);
            b->data_len = ETH_MIN_FRAME;
            pipeline_run(&pl_router, (uint16_t)p, &b, 1, now_ns);
            flush(&pl_router);
        }
    }
}

/* Forgets what the ports sent, so neighbours_answer sees only what is new. */
static void ports_forget_sent(void)
{
    for (int p = 0; p < NB_PORTS; p++)
        ports[p].nb_sent = 0;
}

static void run_mode(struct pipeline *pl, struct input *in)
{
    struct pktbuf *pkts[MAX_COPIES];
    if (pool_get_bulk(pool, pkts, in->copies) != in->copies)
        abort();                        /* the pool is sized for this */
    for (unsigned i = 0; i < in->copies; i++) {
        memcpy(pktbuf_data(pkts[i]), in->frame, in->len);
        pkts[i]->data_len = in->len;
    }
    pl->prog = in->program ? program : NULL;
    pl->prog_ctx = in;
    if (in->starve)
        pool_starve();
    for (unsigned done = 0; done < in->copies; done += PIPELINE_BURST) {
        unsigned n = in->copies - done < PIPELINE_BURST ? in->copies - done : PIPELINE_BURST;
        pipeline_run(pl, in->port, pkts + done, (uint16_t)n, now_ns);
        flush(pl);
        if (pl == &pl_router && in->neighbours_answer)
            neighbours_answer();
    }
    if (in->starve)
        pool_feed();
}

/* received + generated = forwarded + dropped + consumed + parked: every
 * buffer the pipeline was given or made is accounted for (pipeline.h). */
static bool ledger_balances(const struct pipeline *pl)
{
    struct pipeline_accounting a;
    pipeline_get_accounting(pl, &a);
    return a.received + a.generated == a.forwarded + a.dropped + a.consumed + a.parked;
}

static void housekeeping(const struct input *in)
{
    for (int i = 0; i < SETTLE_STEPS; i++) {
        now_ns += ROUTER_ARP_RETRY_NS;
        router_tick(pl_router.router, now_ns);
        flush(&pl_router);
        if (in->neighbours_answer)
            neighbours_answer();
        bridge_age(pl_bridge.bridge, now_ns);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in;

    if (pool == NULL)
        setup();
    if (!input_read(data, size, &in))
        return 0;
    uint32_t baseline = pool_in_use(pool);
    for (int p = 0; p < NB_PORTS; p++) {
        ports[p].tx_room = in.tx_room;
        ports[p].nd.link_up = !in.links_down;
    }
    cap_port.tx_room = in.tx_room;
    now_ns += in.gap_ns;

    ports_forget_sent();
    run_mode(&pl_router, &in);
    run_mode(&pl_bridge, &in);
    run_mode(&pl_l2fwd, &in);
    ports_forget_sent();                /* only the router's requests are answered */
    housekeeping(&in);
    /* A buffer freed twice is refused by the pool and counted, not lost. */
    if (pool_in_use(pool) != baseline || pool->nb_put_rejected != 0)
        abort();
    if (!ledger_balances(&pl_router) || !ledger_balances(&pl_bridge) ||
        !ledger_balances(&pl_l2fwd))
        abort();
    return 0;
}

void fuzz_pipeline_drops(uint64_t drops[DROP__COUNT])
{
    for (int r = 0; r < DROP__COUNT; r++)
        drops[r] = pl_router.drops[r] + pl_bridge.drops[r] + pl_l2fwd.drops[r];
}
