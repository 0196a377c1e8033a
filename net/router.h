/*
 * IPv4 router (DESIGN.md, Modes: router): own address per port with a
 * connected route, static routes in an LPM table, an ARP responder and
 * resolver with a small per-neighbour queue of packets awaiting resolution,
 * ICMP echo for our addresses, time-exceeded and net-unreachable errors
 * (both rate-limited, each by its own token bucket), TTL decrement with an RFC 1624 incremental checksum and
 * the MAC rewrite from the neighbour table.
 *
 * The router consumes every packet given to router_input: it either hands
 * it (rewritten) to io->emit for a port, parks it in a neighbour's queue, or
 * hands it to io->drop with a reason. Packets it makes itself (ARP requests,
 * ICMP errors) come from io->pool and leave through io->emit too; ARP and
 * echo replies reuse the request's buffer. An ARP message the router has
 * used up (a reply to us, learned) goes to io->drop with DROP_NONE: free it,
 * it is not a drop. router_tick emits too (ARP retries) and drops (parked
 * packets of a neighbour that never answered), so flush TX after it.
 * Which reason the router gives for what is listed at the top of router.c.
 *
 * A packet passing through is forwarded on its IP header alone: its L4
 * header is not read, as Linux's forwarding path and DPDK's l3fwd do not
 * read it (a UDP length past the IP payload is the receiving host's to
 * refuse). One addressed to the router with a broken L4 header (pi->l4_bad)
 * is dropped as bad_l4_len. With an active ACL, the pipeline drops such a
 * packet before the ACL, which matches on the L4 header.
 */
#ifndef PKTMETAL_NET_ROUTER_H
#define PKTMETAL_NET_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/acl.h"
#include "net/drop.h"
#include "net/lpm.h"
#include "net/parse.h"
#include "net/pktbuf.h"

#define ROUTER_MAX_PORTS      8
#define ROUTER_MAX_NEIGHBORS  1024
#define ROUTER_NEIGH_QUEUE    8       /* packets parked per unresolved neighbour */
#define ROUTER_MAX_NEXT_HOPS  256     /* distinct {gateway, port} pairs in routes */
#define ROUTER_ARP_RETRIES    3       /* requests after the first, then FAILED */
#define ROUTER_ARP_RETRY_NS   1000000000ull   /* 1 s between requests */
#define ROUTER_NEIGH_REACHABLE_NS (300ull * 1000000000ull)  /* learned entries expire */
#define ROUTER_NEIGH_FAILED_HOLD_NS (5ull * 1000000000ull)  /* FAILED: drop, then retry */
#define ROUTER_ICMP_RATE      100     /* ICMP errors per second (token bucket) */
#define ROUTER_ICMP_BURST     (ROUTER_ICMP_RATE / 2)
#define ROUTER_ECHO_RATE      1000    /* echo replies per second, a bucket of their own */
#define ROUTER_ECHO_BURST     (ROUTER_ECHO_RATE / 2)
#define ROUTER_ICMP_RATE_MAX  1000000 /* per second: a token is then 1 us */
#define ROUTER_MTU            1500    /* every port's: frames up to ETH_HDR_LEN + this */

struct pool;

struct router_io {
    struct pool *pool;                 /* for ARP and ICMP packets we make */
    void (*emit)(void *ctx, uint16_t port, struct pktbuf *pkt);
    void (*drop)(void *ctx, struct pktbuf *pkt, enum drop_reason why);
    void *ctx;
};

struct router_stats {
    uint64_t forwarded, local_delivered;
    uint64_t arp_requests_sent, arp_replies_sent, arp_learned;
    uint64_t icmp_echo_replies, icmp_errors_sent;
    uint64_t icmp_rate_limited;         /* errors and echo replies not sent: no token */
    uint64_t neigh_queue_drops, neigh_failures;
    uint64_t neigh_table_full;          /* no free or evictable entry for a next hop */
    uint64_t arp_not_learned;           /* asked for us, but no free entry (learning
                                         * never evicts: see router.c, Neighbours) */
    uint64_t no_buffer;                 /* ARP/ICMP not sent: io->pool was empty */
    uint64_t parked;                    /* packets waiting for ARP now (not a total) */
};

struct router;

size_t router_mem_bytes(void);
/* The router keeps using lpm (its routes) and io; mem holds its tables. */
struct router *router_create(void *mem, size_t bytes, struct lpm *lpm,
                             const struct router_io *io);
/* Our address on port (host order) and that port's MAC; adds the connected
 * route. -PM_EINVAL on overlap with another port's network, len outside
 * 1..31, a reserved address or one that is its network's network or
 * broadcast address; -PM_EEXIST if the port has an address already. */
int router_add_port(struct router *r, uint16_t port, uint32_t addr, uint8_t len,
                    const uint8_t mac[6]);
/* gw must be on a connected network: -PM_EINVAL otherwise (also for host
 * bits set in prefix, len > 32, gw one of our addresses). len 0 = default.
 * -PM_EEXIST for a connected network's own prefix; -PM_ENOSPC when
 * ROUTER_MAX_NEXT_HOPS gateways are in use; lpm_add's errors. Add ports
 * first. */
int router_add_route(struct router *r, uint32_t prefix, uint8_t len, uint32_t gw);
/* A static entry: ip on a connected network (-PM_EINVAL otherwise, or for a
 * group MAC); replaces a learned entry; -PM_ENOMEM when the table is full. */
int router_add_neighbor(struct router *r, uint32_t ip, const uint8_t mac[6]);

/* ICMP errors and echo replies per second, each kind its own token bucket
 * holding half a second's worth (at least 1). -PM_ERANGE unless both are
 * 1..ROUTER_ICMP_RATE_MAX. Defaults: ROUTER_ICMP_RATE, ROUTER_ECHO_RATE. */
int router_set_icmp_rate(struct router *r, uint32_t errors_per_s, uint32_t echo_per_s);

/* Consumes pkt (received on pkt->port, parsed into *pi). */
void router_input(struct router *r, struct pktbuf *pkt, const struct pkt_info *pi,
                  uint64_t now_ns);

enum router_seen { ROUTER_SEEN_RX, ROUTER_SEEN_TX, ROUTER_SEEN_DROP };

/* Where router_forward_burst puts what it settles: a forwarded packet at
 * tx_next[port] of its output port, a refused one at drop_next, its reason
 * counted in drop_counts (indexed by enum drop_reason); each pointer is
 * moved on past what it put there. The caller leaves room for the whole
 * burst behind every pointer. A port whose tx_next is NULL is not sent to
 * from here: a packet for it ends the run, and the general path deals
 * with it. */
struct router_burst_out {
    struct pktbuf **tx_next[ROUTER_MAX_PORTS];
    struct pktbuf **drop_next;
    uint64_t *drop_counts;
    /* When set, called for each packet settled: ROUTER_SEEN_RX as it came
     * in (port: the input port), before anything is done to it, then
     * ROUTER_SEEN_TX as it leaves (rewritten; port: the output port) or
     * ROUTER_SEEN_DROP (untouched; port: the input port, why: the reason).
     * A live capture watches the fast path this way. */
    void (*seen)(void *ctx, const struct pktbuf *pkt, enum router_seen point, uint16_t port,
                 enum drop_reason why);
    void *seen_ctx;
    /* When set, the ACL that parse_frame's caller would apply before
     * router_input: a packet it denies is settled as a DROP_ACL_DENY drop,
     * and each settled packet counts its hit, as acl_match would. */
    struct acl *acl;
};

/* The forwarding fast path (router.c): settles pkts[0..], received on
 * in_port, in order, up to the first it cannot, without parse_frame. Each
 * settled packet is either forwarded (rewritten, into out->tx) or refused
 * for its destination or by out->acl (untouched, into out->drop), exactly
 * as parse_frame, the ACL and router_input would have done; its pkt->port
 * is set to in_port.
 * Returns how many it settled; the next packet, if any, needs parse_frame
 * and router_input. */
uint16_t router_forward_burst(struct router *r, uint16_t in_port, struct pktbuf *const *pkts,
                              uint16_t n, uint64_t now_ns, struct router_burst_out *out);
/* ARP retries and timeouts, entry expiry; call every few ms or more. */
void router_tick(struct router *r, uint64_t now_ns);

void router_get_stats(const struct router *r, struct router_stats *out);
/* The `routes` and `arp` console commands. */
void router_print_routes(const struct router *r, int (*print)(const char *fmt, ...));
void router_print_arp(const struct router *r, uint64_t now_ns,
                      int (*print)(const char *fmt, ...));

#endif
