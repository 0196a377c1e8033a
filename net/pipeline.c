/*
 * The packet pipeline; see pipeline.h for the stages.
 *
 * Parsing is done where a decision needs it: always in bridge and router
 * modes, and in l2fwd/reflect only when an ACL is active (DPDK's l2fwd
 * touches nothing but the Ethernet header, and neither do we then).
 * Frames that are not IP pass the ACL: its rules speak of IP fields only.
 * In the L2 modes an unknown ethertype is forwarded (a transparent bridge
 * carries LLDP, IPv6 ND, ...); any other parse failure is dropped under its
 * reason, as a malformed IP packet would be by a filtering bridge.
 */
#include "net/pipeline.h"

#include "net/bridge.h"
#include "net/capture.h"
#include "net/fwd.h"
#include "net/parse.h"
#include "net/pool.h"
#include "net/router.h"

#define PREFETCH_AHEAD 3

_Static_assert(PIPELINE_MAX_PORTS >= ROUTER_MAX_PORTS, "a batch for every port the router has");
_Static_assert(PIPELINE_TX_BATCH >= PIPELINE_BURST && PIPELINE_DROP_BATCH >= PIPELINE_BURST,
               "room for a burst in every batch");

void pipeline_init(struct pipeline *pl, const struct config *cfg, struct netdev **devs,
                   uint16_t nb_ports, struct pool *pool)
{
    *pl = (struct pipeline){ .mode = cfg->mode, .nb_ports = nb_ports, .pool = pool };
    for (uint16_t p = 0; p < nb_ports && p < PIPELINE_MAX_PORTS; p++) {
        struct pipeline_port *pp = &pl->ports[p];
        pp->dev = devs[p];
        pp->l2fwd_out = fwd_out_port(cfg->mode == CONFIG_MODE_REFLECT ? CONFIG_MODE_REFLECT
                                                                      : CONFIG_MODE_L2FWD,
                                     p, nb_ports);
        fwd_peer_mac(cfg, p, pp->peer_mac);
    }
}

/* --- output and drops ------------------------------------------------------ */

static void free_drops(struct pipeline *pl)
{
    if (pl->nb_dropped == 0)
        return;
    pktbuf_free_bulk(pl->dropped, pl->nb_dropped);
    pl->nb_dropped = 0;
}

static inline bool capturing(const struct pipeline *pl)
{
    return __builtin_expect(pl->capture != NULL && pl->capture->active, 0);
}

/* A copy of pkt for the running capture, if it watches point pt of port. */
static void capture_at(struct pipeline *pl, const struct pktbuf *pkt, enum capture_point pt,
                       uint16_t port, enum drop_reason why)
{
    if (capture_wants(pl->capture, pt, port))
        capture_packet(pl->capture, pkt, pt, port, (uint16_t)why, pl->now_ns);
}

/* Counted, and queued to be freed with the burst's other drops. */
static inline void drop_append(struct pipeline *pl, struct pktbuf *pkt, enum drop_reason why)
{
    pl->drops[why < DROP__COUNT ? why : DROP_NONE]++;
    if (pl->nb_dropped == PIPELINE_DROP_BATCH)
        free_drops(pl);
    pl->dropped[pl->nb_dropped++] = pkt;
}

void pipeline_drop(struct pipeline *pl, struct pktbuf *pkt, enum drop_reason why)
{
    if (capturing(pl) && why != DROP_NONE)
        capture_at(pl, pkt, CAPTURE_POINT_DROP, pkt->port, why);
    drop_append(pl, pkt, why);
}

static void flush_port(struct pipeline *pl, struct pipeline_port *pp)
{
    if (pp->nb_tx == 0)
        return;
    /* With no link, a NIC discards what it is given (QEMU's do, without a
     * word): counted here instead, under its reason. */
    bool up = pp->dev->link_up;
    uint16_t sent = up ? netdev_tx_burst(pp->dev, pp->tx, pp->nb_tx) : 0;
    enum drop_reason why = up ? DROP_TX_FULL : DROP_LINK_DOWN;
    for (uint16_t i = sent; i < pp->nb_tx; i++)
        pipeline_drop(pl, pp->tx[i], why);
    pl->forwarded += sent;
    pp->nb_tx = 0;
}

static inline void tx_append(struct pipeline *pl, struct pipeline_port *pp, struct pktbuf *pkt)
{
    uint16_t k = pp->nb_tx;

    if (k == PIPELINE_TX_BATCH) {
        flush_port(pl, pp);          /* rare: a flood or a burst of ARP work */
        k = 0;
    }
    pp->tx[k] = pkt;
    pp->nb_tx = (uint16_t)(k + 1);
}

void pipeline_emit(struct pipeline *pl, uint16_t port, struct pktbuf *pkt)
{
    if (port >= pl->nb_ports) {
        pipeline_drop(pl, pkt, DROP_NO_OUTPUT);
        return;
    }
    if (capturing(pl))
        capture_at(pl, pkt, CAPTURE_POINT_TX, port, DROP_NONE);
    tx_append(pl, &pl->ports[port], pkt);
}

void pipeline_flush(struct pipeline *pl)
{
    for (uint16_t p = 0; p < pl->nb_ports; p++)
        flush_port(pl, &pl->ports[p]);
    free_drops(pl);
}

/* --- stages ---------------------------------------------------------------- */

static bool acl_active(const struct pipeline *pl)
{
    return pl->acl != NULL && (pl->acl->nb_rules > 0 || pl->acl->default_action == ACL_DENY);
}

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++)
        dst[i] = src[i];
}

static void acl_key_from(const uint8_t *frame, const struct pkt_info *pi, struct acl_key *key)
{
    *key = (struct acl_key){ .family = pi->ip_version, .proto = pi->l4_proto };
    if (pi->ip_version == 4) {
        const struct ipv4_hdr *ip = (const struct ipv4_hdr *)(frame + pi->l3_off);
        copy_bytes(key->src, (const uint8_t *)&ip->src, 4);
        copy_bytes(key->dst, (const uint8_t *)&ip->dst, 4);
    } else {
        const struct ipv6_hdr *ip6 = (const struct ipv6_hdr *)(frame + pi->l3_off);
        copy_bytes(key->src, ip6->src, 16);
        copy_bytes(key->dst, ip6->dst, 16);
    }
    bool ports = pi->l4_proto == IPPROTO_TCP_ || pi->l4_proto == IPPROTO_UDP_;
    key->has_ports = ports && pi->l4_off != 0 && (!pi->is_fragment || pi->is_first_fragment);
    key->sport = pi->sport;
    key->dport = pi->dport;
}

/* Parse and ACL. Returns DROP_NONE to go on; *parsed says whether *pi is
 * valid for the mode stage. */
static enum drop_reason classify(struct pipeline *pl, struct pktbuf *pkt, struct pkt_info *pi,
                                 bool *parsed)
{
    bool need_parse = pl->mode == CONFIG_MODE_BRIDGE || pl->mode == CONFIG_MODE_ROUTER ||
                      acl_active(pl);
    *parsed = false;
    /* A giant: longer than a 1500-byte MTU allows even with two VLAN tags,
     * in every mode. A NIC may take more into its buffers (QEMU's virtio-net
     * up to the buffer size; its e1000 stops at 1522 itself), and no port
     * could send it on. The router keeps its stricter untagged limit. */
    if (pkt->data_len > ETH_MAX_FRAME + 2 * VLAN_TAG_LEN)
        return DROP_UNSUPPORTED;
    if (!need_parse)
        return DROP_NONE;
    const uint8_t *frame = pktbuf_data(pkt);
    enum drop_reason why = parse_frame(frame, pkt->data_len, pi);
    if (why == DROP_UNKNOWN_ETHERTYPE && pl->mode != CONFIG_MODE_ROUTER)
        return DROP_NONE;                 /* L2 modes carry what they cannot read */
    /* The router judges an IPv4 packet's L4 header itself: only one
     * addressed to it needs one (router.h). An ACL matches on it first. */
    if (why == DROP_BAD_L4_LEN && pi->l4_bad && pi->ip_version == 4 &&
        pl->mode == CONFIG_MODE_ROUTER && !acl_active(pl))
        why = DROP_NONE;
    if (why != DROP_NONE)
        return why;
    *parsed = true;
    if (acl_active(pl) && (pi->ip_version == 4 || pi->ip_version == 6)) {
        struct acl_key key;
        acl_key_from(frame, pi, &key);
        if (acl_match(pl->acl, &key) == ACL_DENY)
            return DROP_ACL_DENY;
    }
    return DROP_NONE;
}

static void do_l2fwd(struct pipeline *pl, struct pktbuf *pkt, uint16_t in_port)
{
    uint16_t out = pl->ports[in_port].l2fwd_out;
    if (out == FWD_NO_PORT) {
        pipeline_drop(pl, pkt, DROP_NO_OUTPUT);
        return;
    }
    if (pl->mode == CONFIG_MODE_REFLECT)
        fwd_rewrite_reflect(pktbuf_data(pkt));
    else
        fwd_rewrite_l2fwd(pktbuf_data(pkt), pl->ports[out].dev->mac, pl->ports[out].peer_mac);
    pipeline_emit(pl, out, pkt);
}

static struct pktbuf *clone_packet(struct pipeline *pl, const struct pktbuf *pkt)
{
    struct pktbuf *c = pool_get(pl->pool);
    if (c == NULL)
        return NULL;
    c->data_len = pkt->data_len;
    c->port = pkt->port;
    c->rx_tsc = pkt->rx_tsc;
    copy_bytes(pktbuf_data(c), pktbuf_data((struct pktbuf *)pkt), pkt->data_len);
    return c;
}

/* Every port but the input one gets the frame; the last gets the original. */
static void flood(struct pipeline *pl, struct pktbuf *pkt, uint16_t in_port)
{
    int last = -1;
    for (uint16_t p = 0; p < pl->nb_ports; p++)
        if (p != in_port)
            last = p;
    if (last < 0) {
        pipeline_drop(pl, pkt, DROP_NO_OUTPUT);
        return;
    }
    for (uint16_t p = 0; p < (uint16_t)last; p++) {
        if (p == in_port)
            continue;
        pl->copies++;
        struct pktbuf *c = clone_packet(pl, pkt);
        if (c == NULL)
            pl->drops[DROP_NO_BUFFER]++;
        else
            pipeline_emit(pl, p, c);
    }
    pipeline_emit(pl, (uint16_t)last, pkt);
}

static void do_bridge(struct pipeline *pl, struct pktbuf *pkt, const struct pkt_info *pi,
                      bool parsed)
{
    const struct eth_hdr *eth = (const struct eth_hdr *)pktbuf_data(pkt);
    uint16_t vlan = parsed && pi->nb_vlans > 0 ? pi->vlan_id[0] : 0;
    uint16_t out = bridge_forward(pl->bridge, eth->dst, eth->src, vlan, pkt->port, pl->now_ns);
    if (out == BRIDGE_FLOOD)
        flood(pl, pkt, pkt->port);
    else if (out == BRIDGE_SAME_PORT)
        pipeline_drop(pl, pkt, DROP_SAME_PORT);
    else
        pipeline_emit(pl, out, pkt);
}

/* The hook right after RX. Returns true when the program took the packet. */
static bool run_program(struct pipeline *pl, struct pktbuf *pkt)
{
    uint16_t port = pkt->port;
    switch (pl->prog(pl->prog_ctx, pkt, &port)) {
    case PIPELINE_PASS:
        return false;
    case PIPELINE_DROP:
        pipeline_drop(pl, pkt, DROP_PROGRAM);
        return true;
    case PIPELINE_TX:
        pipeline_emit(pl, pkt->port, pkt);
        return true;
    case PIPELINE_REDIRECT:
        pipeline_emit(pl, port, pkt);
        return true;
    }
    return false;
}

static void run_one(struct pipeline *pl, struct pktbuf *pkt)
{
    struct pkt_info pi;
    bool parsed;

    if (pl->prog != NULL && run_program(pl, pkt))
        return;
    enum drop_reason why = classify(pl, pkt, &pi, &parsed);
    if (why != DROP_NONE) {
        pipeline_drop(pl, pkt, why);
        return;
    }
    switch (pl->mode) {
    case CONFIG_MODE_L2FWD:
    case CONFIG_MODE_REFLECT:
        do_l2fwd(pl, pkt, pkt->port);
        break;
    case CONFIG_MODE_BRIDGE:
        do_bridge(pl, pkt, &pi, parsed);
        break;
    case CONFIG_MODE_ROUTER:
        router_input(pl->router, pkt, &pi, pl->now_ns);
        break;
    }
}

/* Router mode's fast path, router_forward_burst, when nothing but the ACL
 * has to decide about a packet before the router: no program. The ACL
 * goes with it (router_burst_out.acl); a running capture watches it through
 * router_burst_out.seen. */
static bool router_fast_path_ok(const struct pipeline *pl)
{
    return pl->mode == CONFIG_MODE_ROUTER && pl->router != NULL && pl->prog == NULL;
}

static const enum capture_point seen_points[] = {
    [ROUTER_SEEN_RX] = CAPTURE_POINT_RX,
    [ROUTER_SEEN_TX] = CAPTURE_POINT_TX,
    [ROUTER_SEEN_DROP] = CAPTURE_POINT_DROP,
};

/* The fast path's packets, for a running capture: the copies the general
 * path makes in pipeline_run, pipeline_emit and pipeline_drop, in the same
 * order. */
static void capture_seen(void *ctx, const struct pktbuf *pkt, enum router_seen point,
                         uint16_t port, enum drop_reason why)
{
    capture_at(ctx, pkt, seen_points[point], port, why);
}

/* Room for n more packets in every TX batch and in the drop batch, and out
 * pointed at them. Ports the router has but the pipeline has not get no
 * batch: a packet for one takes the general path (pipeline_emit drops it). */
static void router_out_open(struct pipeline *pl, struct router_burst_out *out, uint16_t n)
{
    uint16_t nb_ports = pl->nb_ports < ROUTER_MAX_PORTS ? pl->nb_ports : ROUTER_MAX_PORTS;

    for (uint16_t p = 0; p < nb_ports; p++) {
        struct pipeline_port *pp = &pl->ports[p];
        if (pp->nb_tx > PIPELINE_TX_BATCH - n)
            flush_port(pl, pp);
        out->tx_next[p] = pp->tx + pp->nb_tx;
    }
    if (pl->nb_dropped > PIPELINE_DROP_BATCH - n)
        free_drops(pl);
    out->drop_next = pl->dropped + pl->nb_dropped;
    out->drop_counts = pl->drops;
    out->seen = capturing(pl) ? capture_seen : NULL;
    out->seen_ctx = pl;
    out->acl = acl_active(pl) ? pl->acl : NULL;
}

static void router_out_close(struct pipeline *pl, const struct router_burst_out *out)
{
    uint16_t nb_ports = pl->nb_ports < ROUTER_MAX_PORTS ? pl->nb_ports : ROUTER_MAX_PORTS;

    for (uint16_t p = 0; p < nb_ports; p++)
        pl->ports[p].nb_tx = (uint16_t)(out->tx_next[p] - pl->ports[p].tx);
    pl->nb_dropped = (uint16_t)(out->drop_next - pl->dropped);
}

/* The router settles runs of packets without the parser, straight into the
 * TX and drop batches; each packet it leaves goes the general way (parse,
 * router_input) before the run goes on, so packets are handled, and leave,
 * in the order they came. */
static void run_router_fast(struct pipeline *pl, uint16_t in_port, struct pktbuf **pkts,
                            uint16_t n)
{
    while (n > 0) {
        uint16_t chunk = n < PIPELINE_BURST ? n : PIPELINE_BURST;
        struct router_burst_out *out = &pl->router_out;

        router_out_open(pl, out, chunk);
        uint16_t done = router_forward_burst(pl->router, in_port, pkts, chunk, pl->now_ns, out);
        router_out_close(pl, out);
        pkts += done;
        n -= done;
        if (done < chunk) {
            pkts[0]->port = in_port;
            if (capturing(pl))
                capture_at(pl, pkts[0], CAPTURE_POINT_RX, in_port, DROP_NONE);
            run_one(pl, pkts[0]);
            pkts++;
            n--;
        }
    }
}

void pipeline_run(struct pipeline *pl, uint16_t in_port, struct pktbuf **pkts, uint16_t n,
                  uint64_t now_ns)
{
    pl->now_ns = now_ns;
    pl->received += n;
    if (router_fast_path_ok(pl)) {
        run_router_fast(pl, in_port, pkts, n);
        return;
    }
    for (uint16_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
        __builtin_prefetch(pktbuf_data(pkts[i]));
    for (uint16_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            __builtin_prefetch(pktbuf_data(pkts[i + PREFETCH_AHEAD]));
        pkts[i]->port = in_port;
        if (capturing(pl))
            capture_at(pl, pkts[i], CAPTURE_POINT_RX, in_port, DROP_NONE);
        run_one(pl, pkts[i]);
    }
}

void pipeline_get_accounting(const struct pipeline *pl, struct pipeline_accounting *a)
{
    *a = (struct pipeline_accounting){
        .received = pl->received,
        .generated = pl->copies,
        .forwarded = pl->forwarded,
        .consumed = pl->drops[DROP_NONE],
    };
    for (int r = DROP_NONE + 1; r < DROP__COUNT; r++)
        a->dropped += pl->drops[r];
    if (pl->router != NULL) {
        struct router_stats rs;
        router_get_stats(pl->router, &rs);
        a->generated += rs.arp_requests_sent + rs.icmp_errors_sent;
        a->parked = rs.parked;
    }
}
