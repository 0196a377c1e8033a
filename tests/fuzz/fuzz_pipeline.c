/*
 * libFuzzer target: one frame through the whole pipeline, in every mode.
 *
 * The input's first byte picks the input port; the rest is the frame. It is
 * run through router mode (with an ACL, addresses, routes, a static
 * neighbour, and a capture of every point through a port-filtering BPF
 * program), bridge mode and l2fwd with the same ACL. After each input the
 * router's clock jumps far enough that any packet parked for ARP resolution
 * is dropped, and the pool must be back at its baseline: a buffer leaked or
 * freed twice on any path fails the run, as does any sanitizer report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bridge.h"
#include "net/capture.h"
#include "net/lpm.h"
#include "net/pipeline.h"
#include "net/pool.h"
#include "net/ring.h"
#include "net/router.h"
#include "tests/models/sink_netdev.h"

#define NB_PORTS 3
#define POOL_BYTES (2u << 20)

static struct pool *pool;
static struct sink_netdev ports[NB_PORTS];
static struct netdev *devs[NB_PORTS];
static struct pipeline pl_router, pl_bridge, pl_l2fwd;
static struct config cfg;
static uint64_t now_ns = 1;
static struct capture *cap;
static struct sink_netdev cap_port;

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

static void setup(void)
{
    void *mem = aligned_alloc(4096, POOL_BYTES);
    pool = pool_create(mem, (dma_addr_t)(uintptr_t)mem, POOL_BYTES, 0);
    for (int p = 0; p < NB_PORTS; p++) {
        uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, (uint8_t)(0x10 + p) };
        sink_netdev_init(&ports[p], (uint16_t)p, mac, pool);
        devs[p] = &ports[p].nd;
    }
    config_defaults(&cfg);
    add_acl("deny proto tcp dport 22");
    add_acl("deny src 10.9.0.0/16");
    add_acl("allow proto udp sport 1000-2000 dst 2001:db8::/32");

    cfg.mode = CONFIG_MODE_ROUTER;
    pipeline_init(&pl_router, &cfg, devs, NB_PORTS, pool);
    pl_router.acl = &cfg.acl;
    size_t lb = lpm_mem_bytes(64);
    struct lpm *lpm = lpm_create(malloc(lb), lb, 64);
    struct router_io io = { .pool = pool, .emit = router_emit, .drop = router_drop,
                            .ctx = &pl_router };
    struct router *r = router_create(malloc(router_mem_bytes()), router_mem_bytes(), lpm, &io);
    router_add_port(r, 0, 0x0a000001, 24, ports[0].nd.mac);
    router_add_port(r, 1, 0x0a000101, 24, ports[1].nd.mac);
    router_add_route(r, 0xac100000, 12, 0x0a000102);
    router_add_route(r, 0, 0, 0x0a000002);
    router_add_neighbor(r, 0x0a000102, (const uint8_t *)"\x02\x00\x00\x00\x01\x02");
    pl_router.router = r;

    /* Capture IPv4 frames at every point: ldh [12]; jeq #0x800 jt 1;
     * ret #0; ret #65535 — so the filter's verdict depends on the frame. */
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
    pl_router.capture = cap;

    cfg.mode = CONFIG_MODE_BRIDGE;
    pipeline_init(&pl_bridge, &cfg, devs, NB_PORTS, pool);
    pl_bridge.acl = &cfg.acl;
    size_t bb = bridge_mem_bytes(256);
    pl_bridge.bridge = bridge_create(malloc(bb), bb, 256, 1000000000ull, true);

    cfg.mode = CONFIG_MODE_L2FWD;
    pipeline_init(&pl_l2fwd, &cfg, devs, NB_PORTS, pool);
    pl_l2fwd.acl = &cfg.acl;
}

static void run(struct pipeline *pl, uint16_t port, const uint8_t *frame, uint16_t len)
{
    struct pktbuf *b = pool_get(pool);
    if (b == NULL)
        abort();
    memcpy(pktbuf_data(b), frame, len);
    b->data_len = len;
    pipeline_run(pl, port, &b, 1, now_ns);
    pipeline_flush(pl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (pool == NULL)
        setup();
    if (size < 1 || size > 1 + PKTBUF_DATA_ROOM)
        return 0;
    uint32_t baseline = pool_in_use(pool);
    uint16_t port = data[0] % NB_PORTS;
    const uint8_t *frame = data + 1;
    uint16_t len = (uint16_t)(size - 1);

    run(&pl_router, port, frame, len);
    while (capture_drain(cap, &cap_port.nd) > 0)
        ;
    run(&pl_bridge, port, frame, len);
    run(&pl_l2fwd, port, frame, len);
    /* Let every ARP resolution the frame started run out of retries. */
    for (int i = 0; i < 6; i++) {
        now_ns += 2000000000ull;
        router_tick(pl_router.router, now_ns);
        pipeline_flush(&pl_router);
    }
    if (pool_in_use(pool) != baseline)
        abort();
    return 0;
}
