/*
 * IPv4 router (router.h): RFC 1812 forwarding with the ARP of RFC 826 and
 * the ICMP of RFC 792, for a box with one address per port.
 *
 * A frame's way through router_input:
 *
 *   port has an address, dst MAC is the port's (or broadcast, for ARP),
 *   no VLAN tag, no longer than ETH_HDR_LEN + ROUTER_MTU
 *     ARP   learn the sender (RFC 826's merge), answer a request for the
 *           port's address in the request's own buffer
 *     IPv4  martian source?  to one of our addresses?  -> local: echo reply,
 *                                                        port unreachable
 *           broadcast/multicast/reserved destination?  -> drop
 *           forward: options, TTL, LPM, neighbour -> emit | park until ARP | drop
 *
 * Memory (all from router_create's region, nothing else is allocated):
 *
 *   +---------------+----------------------------------------------------+
 *   | struct router | neighbour table (neigh.c: entries, queues, buckets)|
 *   +---------------+----------------------------------------------------+
 *   ^ 64-byte aligned
 *
 * Routes live in the caller's LPM table; each route's next-hop value is an
 * index into next_hops[], a {gateway, port} pair, gateway 0 for a connected
 * network (the destination is then the next hop itself). Routes through the
 * same gateway share a slot.
 *
 * Drop reasons, for reading the counters:
 *   NOT_FOR_US       port without an address; unicast to another MAC (virtio
 *                    ports are promiscuous); a group MAC on anything but ARP
 *                    (RFC 1812 5.3.4: link-layer broadcasts are not
 *                    forwarded, and nothing of ours listens to them); ARP
 *                    whose target is not the port's address (after learning)
 *   UNSUPPORTED      VLAN-tagged frames (the router is not VLAN-aware, and a
 *                    tag would have to be kept or stripped on output), IPv6
 *                    and other ethertypes, multicast destinations (no
 *                    multicast routing); frames longer than ETH_HDR_LEN +
 *                    ROUTER_MTU (giants: every port has that MTU and the
 *                    router does not fragment, so one could not leave);
 *                    loose and strict source routes (RFC 7126 4.3, 4.4:
 *                    dropped by default; the router does not process them)
 *   BAD_IHL          (besides the parser's) an option whose length is
 *                    below 2 or runs past the header (RFC 1812 5.2.2)
 *   BAD_ARP          ARP that is not Ethernet/IPv4 or not request/reply
 *   MARTIAN          source 0/8, 127/8, 224/4, 240/4 (and so 255.255.255.255),
 *                    a connected network's broadcast address, or one of our
 *                    own addresses (RFC 1812 5.3.7); destination 0/8, 127/8,
 *                    240/4
 *   LOCAL_UNHANDLED  to us but nothing to answer: TCP, UDP (after a port
 *                    unreachable), ICMP other than echo request; also the
 *                    limited broadcast and a connected network's directed
 *                    broadcast: those are addressed to us among others, not
 *                    forwarded (RFC 2644)
 *   FRAGMENT         fragments to us: there is no reassembly
 *   BAD_L4_LEN       to us, with an L4 header cut short or a UDP length past
 *                    the IP payload (pi->l4_bad; one passing through is
 *                    forwarded: the router reads only its IP header)
 *   BAD_L4_CSUM      echo request whose ICMP checksum fails
 *   ICMP_RATE_LIMIT  echo request left unanswered: the echo bucket is empty
 *   TTL_EXPIRED, NO_ROUTE, ARP_QUEUE_FULL, NO_NEIGHBOR (also: neighbour
 *                    table full, see stats.neigh_table_full)
 *   NONE             not a drop: an ARP message used up (learned from)
 *
 * ICMP errors (RFC 1812 4.3.2) leave by the input port, to the MAC the
 * offending frame came from (the previous hop, which routed it to us and
 * can route the error back), from the input port's address; a port
 * unreachable comes from the address the datagram was sent to. They quote
 * the IP header and 8 bytes (RFC 792), carry precedence 6 (RFC 1812
 * 4.3.2.5), and share one token bucket of ROUTER_ICMP_RATE per second (the
 * offending packet is dropped under its own reason either way). Echo
 * replies have a bucket of their own, ROUTER_ECHO_RATE per second: a reply
 * costs no more than its request, but answering a flood at line rate would
 * spend the loop on it, and a ping flood must not use up the tokens that
 * traceroute's time-exceeded errors need, nor the reverse. A request that
 * finds the echo bucket empty is dropped as ICMP_RATE_LIMIT. Both rates
 * can be set (router_set_icmp_rate; config icmp-rate, icmp-echo-rate).
 *
 * Neighbours: a learned entry is REACHABLE for ROUTER_NEIGH_REACHABLE_NS,
 * then STALE. A stale MAC is still used (no stall every five minutes per
 * next hop) while broadcast requests re-confirm it (PROBE); silence turns
 * the entry FAILED, as it does an INCOMPLETE one after 1 + ROUTER_ARP_RETRIES
 * requests ROUTER_ARP_RETRY_NS apart. Packets parked on a failing entry get
 * a host unreachable each (rate-limited) and drop as NO_NEIGHBOR; for
 * ROUTER_NEIGH_FAILED_HOLD_NS so do new ones, then the next packet starts a
 * fresh resolution (and router_tick frees the idle slot).
 *
 * What ARP may put in the table (RFC 826's merge, bounded): any ARP
 * updates the entry its sender already has; only one that asks for or
 * answers our address makes a new entry, and only from a free slot:
 * learning never evicts. So a storm of ARP from many senders fills at most
 * the free slots, with entries nothing has been forwarded through, and a
 * next hop that needs a slot takes one of those (neigh.c's eviction order);
 * static entries and next hops in use are never displaced. What the storm
 * could not store is counted in stats.arp_not_learned.
 *
 * Not done: IP options in echo requests are not reflected (RFC 1122 3.2.2.6
 * asks for Record Route/Timestamp; the reply carries no options); forwarded
 * packets keep their options unchanged (Record Route and Timestamp are not
 * filled in); no parameter problem for a malformed option; no ICMP
 * redirects, no TCP reset, no fragmentation (every port has the same MTU,
 * so a packet that arrived whole always fits).
 */
#include "net/router.h"

#include "net/csum.h"
#include "net/errno.h"
#include "net/fmt.h"
#include "net/neigh.h"
#include "net/pool.h"
#include "net/proto.h"

_Static_assert(ROUTER_NEIGH_QUEUE == NEIGH_QUEUE_LEN, "router.h and neigh.h agree on the queue");
_Static_assert(ROUTER_MAX_PORTS <= 256, "a neighbour stores its port in a byte");
_Static_assert(ROUTER_MAX_NEXT_HOPS <= LPM_MAX_NEXT_HOP, "next-hop indexes fit the LPM");

#define CACHE_LINE_BYTES 64u
#define NS_PER_S         1000000000ull
#define IP_DEFAULT_TTL   64            /* RFC 1700's recommended default */
#define IP_TOS_INTERNETWORK_CONTROL 0xc0   /* precedence 6, RFC 1812 4.3.2.5 */
#define IPV4_BROADCAST   0xffffffffu
#define IPV4_HDR_LEN     ((uint16_t)sizeof(struct ipv4_hdr))
#define ICMP_HDR_LEN     ((uint16_t)sizeof(struct icmp_hdr))
#define ICMP_QUOTE_EXTRA 8u            /* RFC 792: header + 64 bits of data */
#define IPOPT_END        0             /* RFC 791 3.1: end of option list */
#define IPOPT_NOP        1             /* no operation: one byte */
#define IPOPT_LSRR       131           /* loose source and record route */
#define IPOPT_SSRR       137           /* strict source and record route */

struct router_port {
    bool configured;
    uint8_t len;
    uint8_t mac[ETH_ALEN];
    uint32_t addr;              /* host order */
    uint32_t mask;
    uint64_t mac_word;          /* mac in the last 6 bytes of 8, the first 2
                                 * zero (frame_to_mac) */
};

struct router_next_hop {
    uint32_t gw;                /* 0: connected, the destination is the next hop */
    uint16_t port;
    struct neigh *neigh;        /* gw's neighbour entry when last looked up: the
                                 * fast path checks it still is (next_hop_neigh) */
};

/* The fast path's copy of what forwarding through a gateway's next hop
 * takes, made when its neighbour entry was last ready, 32 bytes. It holds
 * until ready_until_ns (a learned MAC goes stale then) while the neighbour
 * table stays at the generation router->fwd_gen: router_forward_burst
 * drops every copy (ready_until_ns 0) when the table has moved on. A
 * connected next hop (the destination is the neighbour) has none. */
struct router_fwd {
    uint64_t ready_until_ns;    /* 0: no copy */
    struct neigh *neigh;
    uint8_t macs[2 * ETH_ALEN]; /* the frame's destination and source MACs */
    uint16_t out_port;          /* neigh's port */
};
_Static_assert(sizeof(struct router_fwd) == 32, "a power of two: the index is a shift");

struct icmp_bucket {
    uint32_t tokens;
    uint32_t burst;             /* at most this many saved up */
    uint64_t token_ns;          /* one token per this long */
    uint64_t last_ns;           /* tokens were last brought up to date then */
};

struct router {
    struct lpm *lpm;
    struct router_io io;
    struct router_stats stats;
    struct router_port ports[ROUTER_MAX_PORTS];
    uint16_t nb_port_slots;     /* highest configured port + 1: the per-packet
                                 * address checks walk only these */
    uint32_t nb_specials;       /* our addresses and our networks' broadcast */
    uint32_t specials[2 * ROUTER_MAX_PORTS];  /* addresses: what the fast path
                                 * leaves to router_input when seen */
    uint8_t octet_flags[256];   /* OCTET_*, by an address's first octet */
    uint8_t octet_dst[256];     /* by a destination's first octet, for a packet whose
                                 * source is clear: DROP_NONE (forward), the reason
                                 * it is refused for, or OCTET_DST_CHECK */
    uint32_t nb_next_hops;
    uint32_t fwd_gen;           /* the neighbour table's generation of fwd[] */
    struct router_fwd fwd[ROUTER_MAX_NEXT_HOPS];      /* by next hop id */
    struct router_next_hop next_hops[ROUTER_MAX_NEXT_HOPS];
    struct icmp_bucket icmp;    /* errors */
    struct icmp_bucket echo;    /* echo replies */
    uint16_t ip_id;             /* IP id of the next packet we originate */
    struct neigh_table neigh;
};

/* octet_flags: what the fast path has to look at more closely in an address
 * that starts with that octet. */
#define OCTET_RESERVED  0x01    /* addr_is_reserved */
#define OCTET_SPECIAL   0x02    /* the first octet of one of the specials */
#define OCTET_DST_CHECK DROP__COUNT     /* octet_dst: the full checks decide */

#define ROUTER_STRUCT_BYTES \
    ((sizeof(struct router) + CACHE_LINE_BYTES - 1) & ~(size_t)(CACHE_LINE_BYTES - 1))

static const uint8_t mac_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[ETH_ALEN];

/* --- bytes and addresses -------------------------------------------------- */

/* Forward copy, so it may also move data towards lower addresses within a
 * buffer. The empty asm keeps the loop from becoming a memcpy/memmove call,
 * which the image does not have. */
static void bytes_copy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    for (size_t i = 0; i < n; i++) {
        __asm__("" : "+r"(i));
        d[i] = s[i];
    }
}

static void bytes_zero(void *dst, size_t n)
{
    uint8_t *d = dst;

    for (size_t i = 0; i < n; i++) {
        __asm__("" : "+r"(i));
        d[i] = 0;
    }
}

/* A MAC as a 4-byte and a 2-byte word: compared and copied in two
 * accesses each (__builtin_memcpy of a constant 6 bytes is expanded inline,
 * never a call). */
struct mac_words {
    uint32_t lo;
    uint16_t hi;
} __attribute__((packed));

static void mac_copy(uint8_t *dst, const uint8_t *src)
{
    __builtin_memcpy(dst, src, ETH_ALEN);
}

static bool mac_equal(const uint8_t *a, const uint8_t *b)
{
    const struct mac_words *x = (const void *)a, *y = (const void *)b;

    return x->lo == y->lo && x->hi == y->hi;
}

/* 8 bytes with a MAC in the first 6 and zeros after, as one load sees them. */
static uint64_t mac_word_of(const uint8_t mac[ETH_ALEN])
{
    uint8_t bytes[8] = { 0 };
    uint64_t w;

    mac_copy(bytes + 2, mac);
    __builtin_memcpy(&w, bytes, sizeof(w));
    return w;
}

/* Whether a frame is addressed to the MAC whose mac_word is mac_word: one
 * 8-byte load of the destination and the source's first two bytes, the
 * latter shifted out (the CPU is little-endian: the first bytes are the
 * low ones). */
static inline bool frame_to_mac(const uint8_t *frame, uint64_t mac_word)
{
    uint64_t w;

    __builtin_memcpy(&w, frame, sizeof(w));
    return w << 16 == mac_word;
}

/* The I/G bit: broadcast and multicast MACs. */
static bool mac_is_group(const uint8_t *mac)
{
    return (mac[0] & 1) != 0;
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t prefix_mask(uint8_t len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

/* Time since then; 0 if the clock has not reached it (a caller's clock may
 * start anywhere). */
static uint64_t elapsed_ns(uint64_t now_ns, uint64_t then_ns)
{
    return now_ns > then_ns ? now_ns - then_ns : 0;
}

/* 0/8 "this network", 127/8 loopback, 224/4 multicast and 240/4 reserved
 * (which holds 255.255.255.255): never a host's address on a wire
 * (RFC 1812 4.2.2.11). */
static bool addr_is_reserved(uint32_t a)
{
    uint32_t first = a >> 24;
    return first == 0 || first == 127 || first >= 224;
}

static bool addr_is_multicast(uint32_t a)
{
    return (a >> 28) == 0xe;
}

/* --- ports ---------------------------------------------------------------- */

static const struct router_port *port_of(const struct router *r, uint16_t port)
{
    if (port >= ROUTER_MAX_PORTS || !r->ports[port].configured)
        return NULL;
    return &r->ports[port];
}

static bool port_net_has(const struct router_port *p, uint32_t a)
{
    return (a & p->mask) == (p->addr & p->mask);
}

/* The all-ones host address of p's network; /31 has none (RFC 3021). */
static bool port_net_broadcast_is(const struct router_port *p, uint32_t a)
{
    return p->len <= 30 && a == (p->addr | ~p->mask);
}

/* a can be a host on p's network: not its network or broadcast address
 * (a /31 has neither, RFC 3021). */
static bool port_net_host_is(const struct router_port *p, uint32_t a)
{
    uint32_t host = a & ~p->mask;
    return port_net_has(p, a) && (p->len > 30 || (host != 0 && host != ~p->mask));
}

/* The port whose connected network holds a, or -1. */
static int port_for_addr(const struct router *r, uint32_t a)
{
    for (int i = 0; i < r->nb_port_slots; i++)
        if (r->ports[i].configured && port_net_has(&r->ports[i], a))
            return i;
    return -1;
}

static bool router_owns_addr(const struct router *r, uint32_t a)
{
    for (int i = 0; i < r->nb_port_slots; i++)
        if (r->ports[i].configured && r->ports[i].addr == a)
            return true;
    return false;
}

static bool addr_is_directed_broadcast(const struct router *r, uint32_t a)
{
    for (int i = 0; i < r->nb_port_slots; i++)
        if (r->ports[i].configured && port_net_broadcast_is(&r->ports[i], a))
            return true;
    return false;
}

/* RFC 1812 5.3.7: sources a router must not forward from; ours too, since a
 * packet from our own address can only be a loop or a forgery. */
static bool addr_is_martian_src(const struct router *r, uint32_t src)
{
    return addr_is_reserved(src) || addr_is_directed_broadcast(r, src) ||
           router_owns_addr(r, src);
}

/* A host's address: neither one of the special classes nor a broadcast. */
static bool addr_is_unicast_host(const struct router *r, uint32_t a)
{
    return !addr_is_reserved(a) && !addr_is_directed_broadcast(r, a);
}

/* --- output --------------------------------------------------------------- */

static void router_emit(struct router *r, uint16_t port, struct pktbuf *pkt)
{
    r->io.emit(r->io.ctx, port, pkt);
}

static void router_drop(struct router *r, struct pktbuf *pkt, enum drop_reason why)
{
    r->io.drop(r->io.ctx, pkt, why);
}

/* Sets the frame length, zero-padding to Ethernet's 60-byte minimum: no
 * NIC is trusted to pad (virtio-net never does). */
static void frame_set_len(struct pktbuf *pkt, uint16_t len)
{
    if (len < ETH_MIN_FRAME) {
        bytes_zero(pktbuf_data(pkt) + len, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    pkt->data_len = len;
}

static void eth_write(uint8_t *frame, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    struct eth_hdr *eth = (struct eth_hdr *)frame;
    mac_copy(eth->dst, dst);
    mac_copy(eth->src, src);
    eth->type = pm_htons(type);
}

/* A 20-byte IPv4 header for a packet we originate, checksum included. */
static void ipv4_write(struct router *r, struct ipv4_hdr *ip, uint8_t tos, uint32_t src,
                       uint32_t dst, uint16_t payload_len)
{
    ip->ver_ihl = 0x45;
    ip->tos = tos;
    ip->total_len = pm_htons((uint16_t)(IPV4_HDR_LEN + payload_len));
    ip->id = pm_htons(r->ip_id++);
    ip->frag_off = 0;
    ip->ttl = IP_DEFAULT_TTL;
    ip->proto = IPPROTO_ICMP_;
    ip->csum = 0;
    ip->src = pm_htonl(src);
    ip->dst = pm_htonl(dst);
    ip->csum = csum_ipv4_header(ip, IPV4_HDR_LEN);
}

/* --- ARP (RFC 826) -------------------------------------------------------- */

/* An Ethernet/IPv4 ARP packet, our MAC and port address as the sender. */
static void arp_write(uint8_t *frame, const struct router_port *p, const uint8_t *eth_dst,
                      uint16_t op, const uint8_t *tha, uint32_t tpa)
{
    struct arp_hdr *arp = (struct arp_hdr *)(frame + ETH_HDR_LEN);

    eth_write(frame, eth_dst, p->mac, ETHERTYPE_ARP);
    arp->htype = pm_htons(ARP_HTYPE_ETHER);
    arp->ptype = pm_htons(ETHERTYPE_IPV4);
    arp->hlen = ETH_ALEN;
    arp->plen = 4;
    arp->op = pm_htons(op);
    mac_copy(arp->sha, p->mac);
    store_be32(arp->spa, p->addr);
    mac_copy(arp->tha, tha);
    store_be32(arp->tpa, tpa);
}

static void arp_send_request(struct router *r, uint16_t port, uint32_t target)
{
    struct pktbuf *b = pool_get(r->io.pool);

    if (b == NULL) {
        r->stats.no_buffer++;
        return;
    }
    arp_write(pktbuf_data(b), &r->ports[port], mac_broadcast, ARP_OP_REQUEST, mac_zero, target);
    frame_set_len(b, ETH_HDR_LEN + sizeof(struct arp_hdr));
    b->port = port;
    r->stats.arp_requests_sent++;
    router_emit(r, port, b);
}

/* Turns a request for our address into the reply, in its own buffer. */
static void arp_reply_in_place(struct router *r, uint16_t port, struct pktbuf *pkt)
{
    uint8_t *frame = pktbuf_data(pkt);
    const struct arp_hdr *req = (const struct arp_hdr *)(frame + ETH_HDR_LEN);
    uint8_t asker_mac[ETH_ALEN];
    uint32_t asker_ip = load_be32(req->spa);

    mac_copy(asker_mac, req->sha);
    arp_write(frame, &r->ports[port], asker_mac, ARP_OP_REPLY, asker_mac, asker_ip);
    frame_set_len(pkt, ETH_HDR_LEN + sizeof(struct arp_hdr));
    r->stats.arp_replies_sent++;
    router_emit(r, port, pkt);
}

/* --- ICMP (RFC 792, RFC 1812 4.3) ----------------------------------------- */

/* A full bucket of per_s tokens a second, half a second's worth saved up
 * at most (at least one). */
static void icmp_bucket_init(struct icmp_bucket *b, uint32_t per_s, uint64_t now_ns)
{
    b->burst = per_s / 2 > 0 ? per_s / 2 : 1;
    b->tokens = b->burst;
    b->token_ns = NS_PER_S / per_s;
    b->last_ns = now_ns;
}

/* Takes a token if there is one. Whole tokens only; last_ns advances by
 * what they cost, so no fraction of time is lost between calls. */
static bool icmp_bucket_take(struct icmp_bucket *b, uint64_t now_ns)
{
    uint64_t add = elapsed_ns(now_ns, b->last_ns) / b->token_ns;

    if (b->tokens + add >= b->burst) {
        b->tokens = b->burst;
        b->last_ns = now_ns;
    } else {
        b->tokens += (uint32_t)add;
        b->last_ns += add * b->token_ns;
    }
    if (b->tokens == 0)
        return false;
    b->tokens--;
    return true;
}

/* Queries and their replies; every other type is an error or unknown,
 * and no error is sent about either (RFC 1812 4.3.2.7). */
static bool icmp_type_is_query(uint8_t type)
{
    switch (type) {
    case ICMP_ECHO_REPLY: case ICMP_ECHO_REQUEST:
    case 9: case 10:                    /* router advertisement, solicitation */
    case 13: case 14: case 15: case 16: /* timestamp, information */
    case 17: case 18:                   /* address mask */
        return true;
    }
    return false;
}

/* RFC 1812 4.3.2.7: no error about an ICMP error, a non-first fragment, a
 * link-layer or IP broadcast/multicast, or a source that is not one host. */
static bool icmp_error_allowed(const struct router *r, const struct pktbuf *pkt,
                               const uint8_t *frame, const struct ipv4_hdr *ip)
{
    uint16_t ihl_bytes = (uint16_t)((ip->ver_ihl & 0xf) * 4);

    if (mac_is_group(frame) || (pm_ntohs(ip->frag_off) & IPV4_FRAG_OFFSET) != 0)
        return false;
    if (addr_is_martian_src(r, pm_ntohl(ip->src)) || !addr_is_unicast_host(r, pm_ntohl(ip->dst)))
        return false;
    if (ip->proto != IPPROTO_ICMP_)
        return true;
    if (ETH_HDR_LEN + ihl_bytes >= pkt->data_len || ihl_bytes >= pm_ntohs(ip->total_len))
        return false;                   /* no ICMP type to look at: assume the worst */
    return icmp_type_is_query(frame[ETH_HDR_LEN + ihl_bytes]);
}

/* The IP header and 8 bytes of what follows (RFC 792), or less if the
 * packet is shorter. */
static uint16_t icmp_quote_len(const struct pktbuf *pkt, const struct ipv4_hdr *ip)
{
    uint16_t want = (uint16_t)((ip->ver_ihl & 0xf) * 4 + ICMP_QUOTE_EXTRA);
    uint16_t total = pm_ntohs(ip->total_len);
    uint16_t in_frame = (uint16_t)(pkt->data_len - ETH_HDR_LEN);

    if (want > total)
        want = total;
    return want < in_frame ? want : in_frame;
}

/* An ICMP error about pkt (an untagged IPv4 frame, still as received),
 * from src, back out of its input port to the MAC it came from. pkt is
 * left alone: the caller drops it. */
static void icmp_error(struct router *r, struct pktbuf *pkt, uint8_t type, uint8_t code,
                       uint32_t src, uint64_t now_ns)
{
    uint8_t *frame = pktbuf_data(pkt);
    const struct ipv4_hdr *orig = (const struct ipv4_hdr *)(frame + ETH_HDR_LEN);

    if (!icmp_error_allowed(r, pkt, frame, orig))
        return;
    if (!icmp_bucket_take(&r->icmp, now_ns)) {
        r->stats.icmp_rate_limited++;
        return;
    }
    struct pktbuf *b = pool_get(r->io.pool);
    if (b == NULL) {
        r->stats.no_buffer++;
        return;
    }
    uint16_t quote = icmp_quote_len(pkt, orig);
    uint8_t *out = pktbuf_data(b);
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(out + ETH_HDR_LEN);
    struct icmp_hdr *icmp = (struct icmp_hdr *)(ip + 1);

    eth_write(out, ((const struct eth_hdr *)frame)->src, r->ports[pkt->port].mac,
              ETHERTYPE_IPV4);
    *icmp = (struct icmp_hdr){ .type = type, .code = code };
    bytes_copy(icmp + 1, orig, quote);
    icmp->csum = csum_fold(csum_partial(icmp, ICMP_HDR_LEN + quote, 0));
    ipv4_write(r, ip, IP_TOS_INTERNETWORK_CONTROL, src, pm_ntohl(orig->src),
               (uint16_t)(ICMP_HDR_LEN + quote));
    frame_set_len(b, (uint16_t)(ETH_HDR_LEN + IPV4_HDR_LEN + ICMP_HDR_LEN + quote));
    b->port = pkt->port;
    r->stats.icmp_errors_sent++;
    router_emit(r, pkt->port, b);
}

/* An error from the address of the port pkt came in by (and leaves by). */
static void icmp_error_from_port(struct router *r, struct pktbuf *pkt, uint8_t type,
                                 uint8_t code, uint64_t now_ns)
{
    icmp_error(r, pkt, type, code, r->ports[pkt->port].addr, now_ns);
}

/* Echo reply in the request's buffer: checksum checked first, then a token
 * taken, addresses swapped, IP options dropped, type 0 with the checksum
 * updated for the one word that changes (RFC 1624), out the input port to
 * the sender. */
static void icmp_echo_reply(struct router *r, struct pktbuf *pkt, const struct pkt_info *pi,
                            uint64_t now_ns)
{
    uint8_t *frame = pktbuf_data(pkt);
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(frame + pi->l3_off);
    struct icmp_hdr *icmp = (struct icmp_hdr *)((uint8_t *)ip + IPV4_HDR_LEN);
    uint16_t icmp_len = pi->l4_len;

    /* A correct checksum makes the message sum to -0 (RFC 1071). */
    if (csum_partial(frame + pi->l4_off, icmp_len, 0) != 0xffff) {
        router_drop(r, pkt, DROP_BAD_L4_CSUM);
        return;
    }
    if (!icmp_bucket_take(&r->echo, now_ns)) {
        r->stats.icmp_rate_limited++;
        router_drop(r, pkt, DROP_ICMP_RATE_LIMIT);
        return;
    }
    uint32_t asker = pm_ntohl(ip->src), asked = pm_ntohl(ip->dst);
    if ((uint8_t *)icmp != frame + pi->l4_off)
        bytes_copy(icmp, frame + pi->l4_off, icmp_len);
    uint16_t old_word = pm_htons((uint16_t)(icmp->type << 8 | icmp->code));
    icmp->type = ICMP_ECHO_REPLY;
    icmp->code = 0;
    icmp->csum = csum_update16(icmp->csum, old_word, 0);
    ipv4_write(r, ip, ip->tos, asked, asker, icmp_len);

    struct eth_hdr *eth = (struct eth_hdr *)frame;
    mac_copy(eth->dst, eth->src);
    mac_copy(eth->src, r->ports[pkt->port].mac);
    frame_set_len(pkt, (uint16_t)(pi->l3_off + IPV4_HDR_LEN + icmp_len));
    r->stats.icmp_echo_replies++;
    r->stats.local_delivered++;
    router_emit(r, pkt->port, pkt);
}

/* --- forwarding (RFC 1812 5.2, 5.3) --------------------------------------- */

/* The last step: TTL - 1 with the checksum updated for the TTL/protocol
 * word (RFC 1624 eqn. 3; RFC 1812 5.3.1), the frame re-addressed from the
 * output port to the neighbour and cut to the IP packet: whatever followed
 * it in the frame we received (padding, or junk) is not passed on. */
/* For the port's MAC to be the source: port is n->port, which the fast path
 * has in hand already. Not counted: the caller counts. */
static inline void forward_rewrite_macs(struct pktbuf *pkt, const uint8_t macs[2 * ETH_ALEN])
{
    uint8_t *frame = pktbuf_data(pkt);
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(frame + ETH_HDR_LEN);

    ip->ttl--;
    ip->csum = csum_ttl_decrement(ip->csum);
    /* Destination then source; the type stays: only untagged IPv4 frames
     * come this way. */
    __builtin_memcpy(frame, macs, 2 * ETH_ALEN);
    frame_set_len(pkt, (uint16_t)(ETH_HDR_LEN + pm_ntohs(ip->total_len)));
}

/* The MACs a frame sent through n out of port gets. */
static void forward_macs(const struct router *r, const struct neigh *n, uint16_t port,
                         uint8_t macs[2 * ETH_ALEN])
{
    mac_copy(macs, n->mac);
    mac_copy(macs + ETH_ALEN, r->ports[port].mac);
}

static inline void forward_rewrite(struct router *r, struct pktbuf *pkt, const struct neigh *n,
                                   uint16_t port)
{
    uint8_t macs[2 * ETH_ALEN];

    forward_macs(r, n, port, macs);
    forward_rewrite_macs(pkt, macs);
}

static void forward_emit(struct router *r, struct pktbuf *pkt, const struct neigh *n)
{
    forward_rewrite(r, pkt, n, n->port);
    r->stats.forwarded++;
    router_emit(r, n->port, pkt);
}

/* Sends one ARP request now and schedules the next. */
static void neigh_solicit(struct router *r, struct neigh *n, uint64_t now_ns)
{
    n->nb_probes++;
    n->next_probe_ns = now_ns + ROUTER_ARP_RETRY_NS;
    arp_send_request(r, n->port, n->ip);
}

/* No MAC yet (or any more): resolve from scratch. */
static void neigh_resolve_start(struct router *r, struct neigh *n, uint64_t now_ns)
{
    n->state = NEIGH_INCOMPLETE;
    n->changed_ns = now_ns;
    n->nb_probes = 0;
    neigh_table_changed(&r->neigh);
    neigh_solicit(r, n, now_ns);
}

/* A stale MAC is used again: keep using it, ask whether it still holds. */
static void neigh_probe_start(struct router *r, struct neigh *n, uint64_t now_ns)
{
    n->state = NEIGH_PROBE;
    n->nb_probes = 0;
    neigh_table_changed(&r->neigh);
    neigh_solicit(r, n, now_ns);
}

/* Whether n went stale. */
static bool neigh_age(struct neigh *n, uint64_t now_ns)
{
    if (n->state == NEIGH_REACHABLE &&
        elapsed_ns(now_ns, n->changed_ns) >= ROUTER_NEIGH_REACHABLE_NS) {
        n->state = NEIGH_STALE;
        return true;
    }
    return false;
}

/* The neighbour answered (or was configured): send what waited for it. */
static void neigh_flush(struct router *r, struct neigh *n)
{
    struct pktbuf *parked[NEIGH_QUEUE_LEN];
    unsigned nb = neigh_unpark(&r->neigh, n, parked);

    for (unsigned i = 0; i < nb; i++)
        forward_emit(r, parked[i], n);
}

/* Resolution gave up: each parked packet gets a host unreachable (RFC 1812
 * 4.3.3.1) and is dropped. */
static void neigh_fail(struct router *r, struct neigh *n, uint64_t now_ns)
{
    struct pktbuf *parked[NEIGH_QUEUE_LEN];
    unsigned nb = neigh_unpark(&r->neigh, n, parked);

    n->state = NEIGH_FAILED;
    n->changed_ns = now_ns;
    neigh_table_changed(&r->neigh);
    r->stats.neigh_failures++;
    for (unsigned i = 0; i < nb; i++) {
        icmp_error_from_port(r, parked[i], ICMP_DEST_UNREACH, ICMP_UNREACH_HOST, now_ns);
        router_drop(r, parked[i], DROP_NO_NEIGHBOR);
    }
}

static void neigh_park_or_drop(struct router *r, struct neigh *n, struct pktbuf *pkt)
{
    if (neigh_park(&r->neigh, n, pkt))
        return;
    r->stats.neigh_queue_drops++;
    router_drop(r, pkt, DROP_ARP_QUEUE_FULL);
}

/* Sends pkt to next hop nh_ip on port, resolving it first if need be. */
static void neigh_output(struct router *r, struct pktbuf *pkt, uint32_t nh_ip, uint16_t port,
                         uint64_t now_ns)
{
    struct neigh *n = neigh_find(&r->neigh, nh_ip);

    if (n == NULL) {
        n = neigh_alloc(&r->neigh, nh_ip, (uint8_t)port, now_ns, true);
        if (n == NULL) {
            r->stats.neigh_table_full++;
            router_drop(r, pkt, DROP_NO_NEIGHBOR);
            return;
        }
        neigh_resolve_start(r, n, now_ns);
    }
    neigh_touch(n, now_ns);
    if (neigh_age(n, now_ns))
        neigh_table_changed(&r->neigh);
    if (n->state == NEIGH_FAILED &&
        elapsed_ns(now_ns, n->changed_ns) >= ROUTER_NEIGH_FAILED_HOLD_NS)
        neigh_resolve_start(r, n, now_ns);
    switch (n->state) {
    case NEIGH_STALE:
        neigh_probe_start(r, n, now_ns);
        forward_emit(r, pkt, n);
        break;
    case NEIGH_REACHABLE:
    case NEIGH_PROBE:
    case NEIGH_STATIC:
        forward_emit(r, pkt, n);
        break;
    case NEIGH_INCOMPLETE:
        neigh_park_or_drop(r, n, pkt);
        break;
    default:                            /* FAILED, in its hold-down */
        icmp_error_from_port(r, pkt, ICMP_DEST_UNREACH, ICMP_UNREACH_HOST, now_ns);
        router_drop(r, pkt, DROP_NO_NEIGHBOR);
        break;
    }
}

/* Walks the options of a packet to forward (RFC 791 3.1): DROP_NONE, or
 * why not. Each option but END and NOP is type, length (counting both),
 * data; the parser has checked that the header is in the frame. */
static enum drop_reason ipv4_options_refused(const struct ipv4_hdr *ip)
{
    const uint8_t *opt = (const uint8_t *)(ip + 1);
    uint16_t len = (uint16_t)((ip->ver_ihl & 0xf) * 4 - IPV4_HDR_LEN);

    for (uint16_t i = 0; i < len;) {
        uint8_t type = opt[i];
        if (type == IPOPT_END)
            break;
        if (type == IPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2 || opt[i + 1] < 2 || opt[i + 1] > len - i)
            return DROP_BAD_IHL;
        if (type == IPOPT_LSRR || type == IPOPT_SSRR)
            return DROP_UNSUPPORTED;
        i = (uint16_t)(i + opt[i + 1]);
    }
    return DROP_NONE;
}

static void ipv4_forward(struct router *r, struct pktbuf *pkt, const struct ipv4_hdr *ip,
                         uint64_t now_ns)
{
    uint32_t dst = pm_ntohl(ip->dst), nh_id;
    enum drop_reason why = ip->ver_ihl != 0x45 ? ipv4_options_refused(ip) : DROP_NONE;

    if (why != DROP_NONE) {
        router_drop(r, pkt, why);
        return;
    }
    if (ip->ttl <= 1) {
        icmp_error_from_port(r, pkt, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, now_ns);
        router_drop(r, pkt, DROP_TTL_EXPIRED);
        return;
    }
    if (lpm_lookup(r->lpm, dst, &nh_id) != 0 || nh_id >= r->nb_next_hops) {
        icmp_error_from_port(r, pkt, ICMP_DEST_UNREACH, ICMP_UNREACH_NET, now_ns);
        router_drop(r, pkt, DROP_NO_ROUTE);
        return;
    }
    const struct router_next_hop *nh = &r->next_hops[nh_id];
    neigh_output(r, pkt, nh->gw != 0 ? nh->gw : dst, nh->port, now_ns);
}

/* --- input ---------------------------------------------------------------- */

/* What is addressed to one of our addresses. */
static void ipv4_local(struct router *r, struct pktbuf *pkt, const struct pkt_info *pi,
                       uint32_t dst, uint64_t now_ns)
{
    if (pi->l4_bad) {
        router_drop(r, pkt, DROP_BAD_L4_LEN);
        return;
    }
    if (pi->is_fragment) {
        router_drop(r, pkt, DROP_FRAGMENT);
        return;
    }
    if (pi->l4_proto == IPPROTO_ICMP_ && pi->l4_off != 0 && pi->icmp_type == ICMP_ECHO_REQUEST) {
        icmp_echo_reply(r, pkt, pi, now_ns);
        return;
    }
    /* What traceroute's last hop answers: nothing listens on any port. */
    if (pi->l4_proto == IPPROTO_UDP_)
        icmp_error(r, pkt, ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, dst, now_ns);
    router_drop(r, pkt, DROP_LOCAL_UNHANDLED);
}

/* Destinations never forwarded, and why (see the top of this file). */
static enum drop_reason ipv4_dst_refused(const struct router *r, uint32_t dst)
{
    if (addr_is_multicast(dst))
        return DROP_UNSUPPORTED;
    if (dst == IPV4_BROADCAST || addr_is_directed_broadcast(r, dst))
        return DROP_LOCAL_UNHANDLED;
    if (addr_is_reserved(dst))
        return DROP_MARTIAN;
    return DROP_NONE;
}

static void ipv4_input(struct router *r, struct pktbuf *pkt, const struct pkt_info *pi,
                       uint64_t now_ns)
{
    const struct ipv4_hdr *ip = (const struct ipv4_hdr *)(pktbuf_data(pkt) + pi->l3_off);
    uint32_t src = pm_ntohl(ip->src), dst = pm_ntohl(ip->dst);

    if (addr_is_martian_src(r, src)) {
        router_drop(r, pkt, DROP_MARTIAN);
        return;
    }
    if (router_owns_addr(r, dst)) {
        ipv4_local(r, pkt, pi, dst, now_ns);
        return;
    }
    enum drop_reason why = ipv4_dst_refused(r, dst);
    if (why != DROP_NONE) {
        router_drop(r, pkt, why);
        return;
    }
    ipv4_forward(r, pkt, ip, now_ns);
}

/* The parser has checked these; a router that answers must not trust
 * that it will always be called after the parser. */
static bool arp_is_ether_ipv4(const struct arp_hdr *arp)
{
    uint16_t op = pm_ntohs(arp->op);
    return arp->htype == pm_htons(ARP_HTYPE_ETHER) && arp->ptype == pm_htons(ETHERTYPE_IPV4) &&
           arp->hlen == ETH_ALEN && arp->plen == 4 &&
           (op == ARP_OP_REQUEST || op == ARP_OP_REPLY);
}

/* A sender worth remembering: on the port's network, a host address other
 * than ours, with a unicast MAC. (A probe's sender 0.0.0.0, RFC 5227, is
 * answered but not learned.) */
static bool arp_sender_usable(const struct router *r, const struct router_port *in,
                              uint32_t spa, const uint8_t *sha)
{
    return port_net_has(in, spa) && spa != in->addr && addr_is_unicast_host(r, spa) &&
           !mac_is_group(sha) && !mac_equal(sha, mac_zero);
}

/* Heard from n at mac just now. */
static void neigh_confirm(struct router *r, struct neigh *n, const uint8_t *mac, uint64_t now_ns)
{
    if (n->state == NEIGH_INCOMPLETE || n->state == NEIGH_FAILED)
        r->stats.arp_learned++;
    mac_copy(n->mac, mac);
    n->state = NEIGH_REACHABLE;
    n->changed_ns = now_ns;
    n->nb_probes = 0;
    neigh_table_changed(&r->neigh);
    neigh_flush(r, n);
}

/* RFC 826's merge: an entry for the sender is updated by any ARP (unless
 * static); a new one is made only when the ARP was meant for us, and only
 * in a free slot (see the top of this file). */
static void arp_learn(struct router *r, uint16_t port, uint32_t spa, const uint8_t *sha,
                      bool for_us, uint64_t now_ns)
{
    struct neigh *n = neigh_find(&r->neigh, spa);

    if (n == NULL && for_us) {
        n = neigh_alloc(&r->neigh, spa, (uint8_t)port, now_ns, false);
        if (n == NULL)
            r->stats.arp_not_learned++;
    }
    if (n != NULL && n->state != NEIGH_STATIC)
        neigh_confirm(r, n, sha, now_ns);
}

static void arp_input(struct router *r, const struct router_port *in, struct pktbuf *pkt,
                      const struct pkt_info *pi, uint64_t now_ns)
{
    const struct arp_hdr *arp = (const struct arp_hdr *)(pktbuf_data(pkt) + pi->l3_off);

    if (pi->l3_off + sizeof(*arp) > pkt->data_len || !arp_is_ether_ipv4(arp)) {
        router_drop(r, pkt, DROP_BAD_ARP);
        return;
    }
    uint16_t op = pm_ntohs(arp->op);
    uint32_t spa = load_be32(arp->spa);
    bool for_us = load_be32(arp->tpa) == in->addr;
    if (arp_sender_usable(r, in, spa, arp->sha))
        arp_learn(r, pkt->port, spa, arp->sha, for_us, now_ns);
    if (!for_us) {
        router_drop(r, pkt, DROP_NOT_FOR_US);
        return;
    }
    r->stats.local_delivered++;
    if (op == ARP_OP_REQUEST)
        arp_reply_in_place(r, pkt->port, pkt);
    else
        router_drop(r, pkt, DROP_NONE);     /* used up: see router.h */
}

/* Our MAC; or broadcast, which only ARP may use. */
static bool eth_dst_accepted(const struct router_port *in, const uint8_t *dst, uint16_t ethertype)
{
    if (mac_equal(dst, in->mac))
        return true;
    return ethertype == ETHERTYPE_ARP && mac_equal(dst, mac_broadcast);
}

void router_input(struct router *r, struct pktbuf *pkt, const struct pkt_info *pi,
                  uint64_t now_ns)
{
    const struct router_port *in = port_of(r, pkt->port);

    if (in == NULL || !eth_dst_accepted(in, pktbuf_data(pkt), pi->ethertype))
        router_drop(r, pkt, DROP_NOT_FOR_US);
    else if (pi->nb_vlans != 0 || pkt->data_len > ETH_HDR_LEN + ROUTER_MTU)
        router_drop(r, pkt, DROP_UNSUPPORTED);
    else if (pi->ethertype == ETHERTYPE_ARP)
        arp_input(r, in, pkt, pi, now_ns);
    else if (pi->ethertype == ETHERTYPE_IPV4)
        ipv4_input(r, pkt, pi, now_ns);
    else
        router_drop(r, pkt, DROP_UNSUPPORTED);
}

/* --- the forwarding fast path --------------------------------------------- */

/*
 * router_forward_burst (router.h) settles, without parse_frame or
 * router_input, the packets whose whole way through them can be told from
 * a few fields, and does to each exactly what that way would do:
 *
 *   parse_ipv4_plain_ok (untagged IPv4, no options, not a fragment, valid),
 *   to the input port's MAC, no giant, a source that is neither reserved nor
 *   one of the specials (our addresses, our networks' broadcast addresses),
 *   a destination that is not a special either; then
 *     a reserved destination   dropped, ipv4_dst_refused's reason
 *     otherwise                TTL > 1, a route, and a neighbour whose MAC
 *                              neigh_output would use with no side effect
 *                              but neigh_touch: forwarded (forward_rewrite)
 *
 * With an ACL (router_burst_out.acl), its verdict comes first, as in the
 * pipeline: the L4 header must pass parse_frame's length rules (TCP and
 * UDP, whose ports the ACL reads; ICMP at least 8 bytes), a denied packet
 * is dropped, and the rule's hit is counted once the packet is settled.
 *
 * Anything else (ARP, ICMP to answer, options, TTL expiry, no route, a
 * neighbour to resolve or probe, a packet to us) ends the run, and the
 * pipeline gives that packet to parse_frame and router_input, in order.
 * The fast path changes no state that router_input would not change for
 * the same packet at the same moment.
 *
 * Routed traffic seldom starts with the first octet of a special or of a
 * reserved address, so one table lookup per address stands for the address
 * checks: octet_flags for the source, octet_dst for the destination, which
 * also gives the reason a reserved destination is refused for. Only a
 * packet with a flagged source or a destination octet that takes a closer
 * look (a special's, or 255's) has them done in full.
 */

static bool addr_is_special(const struct router *r, uint32_t a)
{
    for (uint32_t i = 0; i < r->nb_specials; i++)
        if (r->specials[i] == a)
            return true;
    return false;
}

/* What fast_addr_verdict says when the fast path cannot settle a packet. */
#define FAST_SLOW DROP__COUNT

/* The addresses of a packet whose first octets are flagged: FAST_SLOW, the
 * reason it is dropped for, or, when neither is special nor reserved after
 * all, DROP_NONE: go on. */
static unsigned fast_addr_verdict(const struct router *r, uint32_t src, uint32_t dst)
{
    if (addr_is_reserved(src) || addr_is_special(r, src) || addr_is_special(r, dst))
        return FAST_SLOW;
    if (addr_is_reserved(dst))
        return ipv4_dst_refused(r, dst);
    return DROP_NONE;
}

/* The entry for gateway ip of next hop nh: the one the slot remembers if it
 * still holds ip (a live entry is unique per address), else a lookup,
 * remembered. NULL if there is none. */
static struct neigh *next_hop_neigh(struct router *r, struct router_next_hop *nh, uint32_t ip)
{
    struct neigh *n = nh->neigh;

    if (n->ip == ip && n->state != NEIGH_FREE)
        return n;
    n = neigh_find(&r->neigh, ip);
    if (n != NULL)
        nh->neigh = n;
    return n;
}

/* Whether neigh_output would send through n now without changing its state
 * or sending anything itself. */
static bool neigh_ready(const struct neigh *n, uint64_t now_ns)
{
    switch (n->state) {
    case NEIGH_STATIC:
    case NEIGH_PROBE:
        return true;
    case NEIGH_REACHABLE:
        return elapsed_ns(now_ns, n->changed_ns) < ROUTER_NEIGH_REACHABLE_NS;
    default:
        return false;
    }
}

/* The neighbour entry a packet to dst through next hop nh_id goes to when
 * fwd[nh_id] holds no copy, if the fast path can send it there now; its
 * MACs into macs. For a gateway, the copy is made for the packets after
 * this one. NULL: the general path decides. Kept out of line: it runs
 * once per next hop and neighbour change, and for connected next hops. */
static __attribute__((noinline)) struct neigh *fast_next_hop(struct router *r, uint32_t nh_id,
                                                            uint32_t dst, uint64_t now_ns,
                                                            uint8_t macs[2 * ETH_ALEN])
{
    struct router_next_hop *nh = &r->next_hops[nh_id];
    struct neigh *n = nh->gw != 0 ? next_hop_neigh(r, nh, nh->gw) : neigh_find(&r->neigh, dst);

    if (n == NULL || !neigh_ready(n, now_ns))
        return NULL;
    forward_macs(r, n, n->port, macs);
    if (nh->gw != 0) {
        struct router_fwd *f = &r->fwd[nh_id];
        bytes_copy(f->macs, macs, sizeof(f->macs));
        f->out_port = n->port;
        f->neigh = n;
        f->ready_until_ns = n->state == NEIGH_REACHABLE
                                ? n->changed_ns + ROUTER_NEIGH_REACHABLE_NS : UINT64_MAX;
    }
    return n;
}

/* A settled packet's way out: TTL - 1 with the checksum updated, the MACs,
 * the length trimmed to the IP packet (or padded to the minimum frame). The
 * header's fields are read again here rather than kept in registers across
 * the lookup: a reload costs what a spill would. */
static inline void fast_rewrite(struct pktbuf *pkt, uint8_t *frame, const uint8_t macs[2 * ETH_ALEN])
{
    struct ipv4_hdr *ip = (struct ipv4_hdr *)(frame + ETH_HDR_LEN);

    ip->ttl--;
    ip->csum = csum_ttl_decrement(ip->csum);
    __builtin_memcpy(frame, macs, 2 * ETH_ALEN);
    frame_set_len(pkt, (uint16_t)(ETH_HDR_LEN + pm_ntohs(ip->total_len)));
}

/* A settled drop: untouched, into the drop batch, counted under why. */
static inline __attribute__((always_inline)) void fast_drop(struct pktbuf *pkt, uint16_t in_port,
                                                           struct router_burst_out *out,
                                                           enum drop_reason why, bool watched)
{
    pkt->port = in_port;
    if (watched) {
        out->seen(out->seen_ctx, pkt, ROUTER_SEEN_RX, in_port, DROP_NONE);
        out->seen(out->seen_ctx, pkt, ROUTER_SEEN_DROP, in_port, why);
    }
    out->drop_counts[why]++;
    *out->drop_next++ = pkt;
}

/* The ACL's rule for a plain IPv4 frame (parse_ipv4_plain_ok) into *rule,
 * without counting it; false when its L4 header is one parse_frame might
 * refuse (the general path then says why). */
static bool fast_acl_rule(const struct acl *acl, const uint8_t *frame, int *rule)
{
    const struct ipv4_hdr *ip = (const struct ipv4_hdr *)(frame + ETH_HDR_LEN);
    const uint8_t *l4 = frame + ETH_HDR_LEN + sizeof(*ip);
    uint16_t l4_len = (uint16_t)(pm_ntohs(ip->total_len) - sizeof(*ip));
    struct acl_key key = { .family = 4, .proto = ip->proto };

    switch (ip->proto) {
    case IPPROTO_TCP_:
    case IPPROTO_UDP_:
        if (ip->proto == IPPROTO_TCP_ ? !parse_tcp_len_ok(l4, l4_len)
                                      : !parse_udp_len_ok(l4, l4_len, false))
            return false;
        key.has_ports = true;
        key.sport = (uint16_t)(l4[0] << 8 | l4[1]);   /* the same place in both */
        key.dport = (uint16_t)(l4[2] << 8 | l4[3]);
        break;
    case IPPROTO_ICMP_:
    case IPPROTO_ICMPV6_:
        if (l4_len < 8)
            return false;
        break;
    }
    __builtin_memcpy(key.src, &ip->src, 4);
    __builtin_memcpy(key.dst, &ip->dst, 4);
    *rule = acl_classify(acl, &key);
    return true;
}

/* Settles pkt into out, or returns false, having changed nothing. in_mac
 * is the input port's mac_word; with watched, out->seen sees the packet;
 * with filtered, out->acl decides first (router.h). Always
 * inlined: watched and filtered are constants in each loop, so the loop
 * without either pays nothing for them. */
static inline __attribute__((always_inline)) bool fast_one(struct router *r, uint64_t in_mac,
                                                          uint16_t in_port, struct pktbuf *pkt,
                                                          uint64_t now_ns,
                                                          struct router_burst_out *out,
                                                          bool watched, bool filtered)
{
    uint8_t *frame = pktbuf_data(pkt);
    struct ipv4_words w;
    uint32_t nh_id;

    if (pkt->data_len > ETH_HDR_LEN + ROUTER_MTU || !parse_ipv4_plain_ok(frame, pkt->data_len, &w) ||
        !frame_to_mac(frame, in_mac))
        return false;
    int rule = -1;
    if (filtered) {
        if (!fast_acl_rule(out->acl, frame, &rule))
            return false;
        if (acl_rule_action(out->acl, rule) == ACL_DENY) {
            acl_count(out->acl, rule);
            fast_drop(pkt, in_port, out, DROP_ACL_DENY, watched);
            return true;
        }
    }
    const struct ipv4_hdr *ip = (const struct ipv4_hdr *)(frame + ETH_HDR_LEN);
    uint32_t src = pm_ntohl((uint32_t)(w.w1 >> 32)), dst = pm_ntohl(w.w2);
    /* the first octets, loaded as bytes: cheaper than shifting them out */
    unsigned src_flags = r->octet_flags[((const uint8_t *)&ip->src)[0]];
    unsigned dst_class = r->octet_dst[((const uint8_t *)&ip->dst)[0]];
    if ((src_flags | dst_class) != 0) {
        unsigned why = src_flags == 0 && dst_class != OCTET_DST_CHECK
                           ? dst_class : fast_addr_verdict(r, src, dst);
        if (why == FAST_SLOW)
            return false;
        if (why != DROP_NONE) {
            if (filtered)
                acl_count(out->acl, rule);
            fast_drop(pkt, in_port, out, (enum drop_reason)why, watched);
            return true;
        }
    }
    if (ip->ttl <= 1 ||
        lpm_lookup(r->lpm, dst, &nh_id) != 0 || nh_id >= r->nb_next_hops)
        return false;
    const struct router_fwd *f = &r->fwd[nh_id];
    const uint8_t *macs = f->macs;
    struct neigh *n = f->neigh;
    uint16_t port = f->out_port;
    uint8_t fresh_macs[2 * ETH_ALEN];
    if (now_ns >= f->ready_until_ns) {
        n = fast_next_hop(r, nh_id, dst, now_ns, fresh_macs);
        if (n == NULL)
            return false;
        port = n->port;
        macs = fresh_macs;
    }
    struct pktbuf **tx = out->tx_next[port];
    if (tx == NULL)
        return false;
    *tx = pkt;
    out->tx_next[port] = tx + 1;
    pkt->port = in_port;
    neigh_touch(n, now_ns);
    if (filtered)
        acl_count(out->acl, rule);
    if (watched) {
        out->seen(out->seen_ctx, pkt, ROUTER_SEEN_RX, in_port, DROP_NONE);
        fast_rewrite(pkt, frame, macs);
        out->seen(out->seen_ctx, pkt, ROUTER_SEEN_TX, port, DROP_NONE);
        return true;
    }
    fast_rewrite(pkt, frame, macs);
    return true;
}

/* Every copy in fwd[] is dropped once the neighbour table has changed
 * since they were made; none is while a burst runs (the fast path changes
 * no entry), so once a burst is enough. */
static void fast_copies_check(struct router *r)
{
    if (r->fwd_gen == r->neigh.gen)
        return;
    for (uint32_t i = 0; i < r->nb_next_hops; i++)
        r->fwd[i].ready_until_ns = 0;
    r->fwd_gen = r->neigh.gen;
}

/* router_forward_burst's loops with a capture watching or an ACL, apart:
 * in the same function they would cost the plain loop registers. */
static __attribute__((noinline)) uint16_t
fast_run_watched_or_filtered(struct router *r, uint64_t in_mac, uint16_t in_port,
                             struct pktbuf *const *pkts, uint16_t n, uint64_t now_ns,
                             struct router_burst_out *out)
{
    uint16_t i = 0;

    if (out->seen == NULL) {
        for (; i < n; i++)
            if (!fast_one(r, in_mac, in_port, pkts[i], now_ns, out, false, true))
                break;
    } else if (out->acl == NULL) {
        for (; i < n; i++)
            if (!fast_one(r, in_mac, in_port, pkts[i], now_ns, out, true, false))
                break;
    } else {
        for (; i < n; i++)
            if (!fast_one(r, in_mac, in_port, pkts[i], now_ns, out, true, true))
                break;
    }
    return i;
}

uint16_t router_forward_burst(struct router *r, uint16_t in_port, struct pktbuf *const *pkts,
                              uint16_t n, uint64_t now_ns, struct router_burst_out *out)
{
    const struct router_port *in = port_of(r, in_port);
    struct pktbuf **drop_next = out->drop_next;
    uint16_t i = 0;

    if (in == NULL)
        return 0;
    uint64_t in_mac = in->mac_word;
    fast_copies_check(r);
    if (out->seen == NULL && out->acl == NULL) {
        for (; i < n; i++)
            if (!fast_one(r, in_mac, in_port, pkts[i], now_ns, out, false, false))
                break;
    } else {
        i = fast_run_watched_or_filtered(r, in_mac, in_port, pkts, n, now_ns, out);
    }
    r->stats.forwarded += (uint64_t)(i - (out->drop_next - drop_next));
    return i;
}

/* --- timers --------------------------------------------------------------- */

/* A request is due for a resolving or probing entry: send it, or give up
 * after 1 + ROUTER_ARP_RETRIES unanswered ones. */
static void neigh_retry(struct router *r, struct neigh *n, uint64_t now_ns)
{
    if (n->nb_probes > ROUTER_ARP_RETRIES)
        neigh_fail(r, n, now_ns);
    else
        neigh_solicit(r, n, now_ns);
}

void router_tick(struct router *r, uint64_t now_ns)
{
    struct neigh_table *t = &r->neigh;

    for (uint32_t i = 0; i < t->nb_entries && t->nb_used != 0; i++) {
        struct neigh *n = &t->entries[i];
        switch (n->state) {
        case NEIGH_INCOMPLETE:
        case NEIGH_PROBE:
            if (now_ns >= n->next_probe_ns)
                neigh_retry(r, n, now_ns);
            break;
        case NEIGH_REACHABLE:
            if (neigh_age(n, now_ns))
                neigh_table_changed(t);
            break;
        case NEIGH_FAILED:
            if (elapsed_ns(now_ns, n->changed_ns) >= ROUTER_NEIGH_FAILED_HOLD_NS)
                neigh_release(t, n);
            break;
        default:
            break;
        }
    }
}

/* --- configuration -------------------------------------------------------- */

size_t router_mem_bytes(void)
{
    return CACHE_LINE_BYTES - 1 + ROUTER_STRUCT_BYTES + neigh_table_mem_bytes(ROUTER_MAX_NEIGHBORS);
}

struct router *router_create(void *mem, size_t bytes, struct lpm *lpm,
                             const struct router_io *io)
{
    if (mem == NULL || lpm == NULL || io == NULL || io->pool == NULL || io->emit == NULL ||
        io->drop == NULL)
        return NULL;
    uintptr_t start = ((uintptr_t)mem + CACHE_LINE_BYTES - 1) & ~(uintptr_t)(CACHE_LINE_BYTES - 1);
    size_t skip = start - (uintptr_t)mem;
    size_t table_bytes = neigh_table_mem_bytes(ROUTER_MAX_NEIGHBORS);
    if (bytes < skip + ROUTER_STRUCT_BYTES + table_bytes)
        return NULL;

    struct router *r = (struct router *)start;
    bytes_zero(r, sizeof(*r));
    r->lpm = lpm;
    r->io = *io;
    icmp_bucket_init(&r->icmp, ROUTER_ICMP_RATE, 0);
    icmp_bucket_init(&r->echo, ROUTER_ECHO_RATE, 0);
    for (uint32_t octet = 0; octet < 256; octet++) {
        uint32_t a = octet << 24;
        r->octet_flags[octet] = addr_is_reserved(a) ? OCTET_RESERVED : 0;
        /* 255 holds 255.255.255.255, refused for another reason */
        r->octet_dst[octet] = octet == 255 ? OCTET_DST_CHECK : (uint8_t)ipv4_dst_refused(r, a);
    }
    if (!neigh_table_init(&r->neigh, (uint8_t *)r + ROUTER_STRUCT_BYTES, table_bytes,
                          ROUTER_MAX_NEIGHBORS))
        return NULL;
    return r;
}

int router_set_icmp_rate(struct router *r, uint32_t errors_per_s, uint32_t echo_per_s)
{
    if (errors_per_s == 0 || errors_per_s > ROUTER_ICMP_RATE_MAX || echo_per_s == 0 ||
        echo_per_s > ROUTER_ICMP_RATE_MAX)
        return -PM_ERANGE;
    icmp_bucket_init(&r->icmp, errors_per_s, 0);
    icmp_bucket_init(&r->echo, echo_per_s, 0);
    return 0;
}

/* The slot for {gw, port}, shared by every route through it. */
static int next_hop_get(struct router *r, uint32_t gw, uint16_t port)
{
    for (uint32_t i = 0; i < r->nb_next_hops; i++)
        if (r->next_hops[i].gw == gw && r->next_hops[i].port == port)
            return (int)i;
    if (r->nb_next_hops == ROUTER_MAX_NEXT_HOPS)
        return -PM_ENOSPC;
    r->next_hops[r->nb_next_hops] =
        (struct router_next_hop){ .gw = gw, .port = port, .neigh = r->neigh.entries };
    return (int)r->nb_next_hops++;
}

static bool nets_overlap(uint32_t a, uint8_t a_len, uint32_t b, uint8_t b_len)
{
    uint32_t m = prefix_mask(a_len < b_len ? a_len : b_len);
    return (a & m) == (b & m);
}

int router_add_port(struct router *r, uint16_t port, uint32_t addr, uint8_t len,
                    const uint8_t mac[6])
{
    uint32_t mask = prefix_mask(len);

    if (port >= ROUTER_MAX_PORTS || len == 0 || len > 31 || addr_is_reserved(addr) ||
        mac_is_group(mac) || mac_equal(mac, mac_zero))
        return -PM_EINVAL;
    if (r->ports[port].configured)
        return -PM_EEXIST;
    struct router_port *p = &r->ports[port];
    *p = (struct router_port){ .len = len, .addr = addr, .mask = mask };
    if (!port_net_host_is(p, addr))
        return -PM_EINVAL;              /* the network's own or broadcast address */
    for (int i = 0; i < ROUTER_MAX_PORTS; i++)
        if (r->ports[i].configured && nets_overlap(addr, len, r->ports[i].addr, r->ports[i].len))
            return -PM_EINVAL;

    int nh = next_hop_get(r, 0, port);
    if (nh < 0)
        return nh;
    int rc = lpm_add(r->lpm, addr & mask, len, (uint32_t)nh);
    if (rc != 0)
        return rc;
    mac_copy(p->mac, mac);
    p->mac_word = mac_word_of(mac);
    p->configured = true;
    neigh_table_changed(&r->neigh);     /* copies of port MACs with the neighbours' */
    if (port >= r->nb_port_slots)
        r->nb_port_slots = (uint16_t)(port + 1);
    r->specials[r->nb_specials++] = addr;
    if (len <= 30)
        r->specials[r->nb_specials++] = addr | ~mask;
    for (uint32_t i = 0; i < r->nb_specials; i++) {
        r->octet_flags[r->specials[i] >> 24] |= OCTET_SPECIAL;
        r->octet_dst[r->specials[i] >> 24] = OCTET_DST_CHECK;
    }
    return 0;
}

int router_add_route(struct router *r, uint32_t prefix, uint8_t len, uint32_t gw)
{
    if (len > 32 || (prefix & ~prefix_mask(len)) != 0)
        return -PM_EINVAL;
    int port = port_for_addr(r, gw);
    if (port < 0 || router_owns_addr(r, gw) || !port_net_host_is(&r->ports[port], gw))
        return -PM_EINVAL;
    for (int i = 0; i < ROUTER_MAX_PORTS; i++) {
        const struct router_port *p = &r->ports[i];
        if (p->configured && p->len == len && (p->addr & p->mask) == prefix)
            return -PM_EEXIST;          /* would replace the connected route */
    }
    int nh = next_hop_get(r, gw, (uint16_t)port);
    if (nh < 0)
        return nh;
    return lpm_add(r->lpm, prefix, len, (uint32_t)nh);
}

int router_add_neighbor(struct router *r, uint32_t ip, const uint8_t mac[6])
{
    int port = port_for_addr(r, ip);

    if (port < 0 || router_owns_addr(r, ip) || !port_net_host_is(&r->ports[port], ip) ||
        mac_is_group(mac) || mac_equal(mac, mac_zero))
        return -PM_EINVAL;
    struct neigh *n = neigh_find(&r->neigh, ip);
    if (n == NULL) {
        n = neigh_alloc(&r->neigh, ip, (uint8_t)port, 0, true);
        if (n == NULL)
            return -PM_ENOMEM;
    }
    mac_copy(n->mac, mac);
    n->state = NEIGH_STATIC;
    n->nb_probes = 0;
    neigh_table_changed(&r->neigh);
    neigh_flush(r, n);
    return 0;
}

/* --- console -------------------------------------------------------------- */

void router_get_stats(const struct router *r, struct router_stats *out)
{
    *out = r->stats;
    out->parked = 0;
    for (uint32_t i = 0; i < r->neigh.nb_entries; i++)
        out->parked += r->neigh.entries[i].nb_queued;
}

static void ipv4_format(char *buf, size_t size, uint32_t a)
{
    fmt_snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

struct route_print_ctx {
    const struct router *r;
    int (*print)(const char *fmt, ...);
};

static void route_print_one(void *ctx, uint32_t prefix, uint8_t depth, uint32_t nh_id)
{
    const struct route_print_ctx *c = ctx;
    char net[16], gw[16], pfx[20];

    ipv4_format(net, sizeof(net), prefix);
    fmt_snprintf(pfx, sizeof(pfx), "%s/%u", net, depth);
    if (nh_id >= c->r->nb_next_hops) {
        c->print("%-18s ?next-hop %u\n", pfx, nh_id);
        return;
    }
    const struct router_next_hop *nh = &c->r->next_hops[nh_id];
    if (nh->gw == 0) {
        c->print("%-18s %-19s %4u\n", pfx, "connected", nh->port);
        return;
    }
    ipv4_format(gw, sizeof(gw), nh->gw);
    c->print("%-18s via %-15s %4u\n", pfx, gw, nh->port);
}

void router_print_routes(const struct router *r, int (*print)(const char *fmt, ...))
{
    struct route_print_ctx ctx = { .r = r, .print = print };

    print("%-18s %-19s %4s\n", "prefix", "next hop", "port");
    lpm_walk(r->lpm, route_print_one, &ctx);
}

static void neigh_print_one(const struct neigh *n, uint64_t now_ns,
                            int (*print)(const char *fmt, ...))
{
    char ip[16], mac[18], age[24];

    ipv4_format(ip, sizeof(ip), n->ip);
    if (n->state == NEIGH_INCOMPLETE || n->state == NEIGH_FAILED)
        fmt_snprintf(mac, sizeof(mac), "%s", "-");
    else
        fmt_snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
                     n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
    if (n->state == NEIGH_STATIC)
        fmt_snprintf(age, sizeof(age), "%s", "-");
    else
        fmt_snprintf(age, sizeof(age), "%llu",
                     (unsigned long long)(elapsed_ns(now_ns, n->changed_ns) / NS_PER_S));
    print("%-15s %-17s %-10s %4u %7s %6u\n", ip, mac, neigh_state_name(n->state), n->port, age,
          n->nb_queued);
}

/* age: seconds since the MAC was last confirmed, resolution started or
 * failed, by state. */
void router_print_arp(const struct router *r, uint64_t now_ns,
                      int (*print)(const char *fmt, ...))
{
    const struct neigh_table *t = &r->neigh;

    print("%-15s %-17s %-10s %4s %7s %6s\n", "ip", "mac", "state", "port", "age_s", "queued");
    for (uint32_t i = 0; i < t->nb_entries; i++) {
        struct neigh n = t->entries[i];
        if (n.state == NEIGH_FREE)
            continue;
        neigh_age(&n, now_ns);          /* show what the next packet would see */
        neigh_print_one(&n, now_ns, print);
    }
    print("%u of %u entries in use; not learned (no free entry) %llu, next hops refused "
          "(table full) %llu\n", t->nb_used, t->nb_entries,
          (unsigned long long)r->stats.arp_not_learned,
          (unsigned long long)r->stats.neigh_table_full);
}
