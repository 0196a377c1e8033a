/*
 * Frame parser (parse.h): Ethernet, up to two VLAN tags, then ARP, IPv4 or
 * IPv6, then ICMP, ICMPv6, UDP or TCP. Every header is checked to fit
 * before a byte of it is read, and every length field is checked against
 * what actually arrived, so a hostile frame can only earn a drop reason.
 *
 *   0         12   14        18        22
 *   | dst src | type | tag    | tag    | L3 header (opts) | L4 header  ...| pad |
 *                                     ^ l3_off           ^ l4_off
 *                                     |<------------ l3_len ------------>|
 *                                                        |<-- l4_len --->|
 *
 * Which reason for which malformation, so counters can be read consistently:
 *
 *   RUNT       the fixed part of an Ethernet header, VLAN tag, ARP packet,
 *              IPv4 header (20 bytes) or IPv6 header (40) is cut off by the
 *              end of the frame: nothing of that header can be trusted.
 *   own reason a header that fits says something impossible:
 *              BAD_VLAN (a third tag; an 802.1ad S-tag inside another tag),
 *              BAD_ARP (not Ethernet/IPv4), BAD_IP_VERSION,
 *              BAD_IHL (IHL < 5, or options past the end of the frame),
 *              BAD_IP_LEN (IPv4 total length below the header or past the
 *              frame; IPv6 payload past the frame), BAD_IP_CSUM,
 *              BAD_IPV6_EXT (an extension header past the payload, a
 *              hop-by-hop header not first, a second fragment header, more
 *              than PARSE_MAX_IPV6_EXT headers, a misaligned AH).
 *   BAD_L4_LEN ICMP/ICMPv6/UDP/TCP header cut off, or its length field
 *              inconsistent. The L4 header is bounded by the IP payload the
 *              L3 header declared, not by the frame, so a short one is a
 *              length mismatch rather than a runt.
 *
 * Bytes after the IP packet (Ethernet pads frames to 60 bytes) are ignored:
 * l3_len is the length the IP header declares. Fragments: only the first
 * carries the L4 header, so only then are ports and ICMP type parsed (a
 * non-first fragment has l4_proto set and l4_off 0). An L4 protocol the
 * parser does not know is no error; it leaves l4_off 0 too.
 */
#include "net/parse.h"
#include "net/csum.h"

/* Enough for every chain RFC 8200 4.1 recommends (hop-by-hop, destination
 * options, routing, fragment, AH, destination options) with room to spare;
 * the bound keeps a chain of empty headers from costing the hot path. */
#define PARSE_MAX_IPV6_EXT 8

#define VLAN_VID_MASK    0x0fff
#define IPV6_FRAG_OFF(v) ((v) >> 3)     /* RFC 8200 4.5: offset in 8-byte units */

/* Resets what parse_ipv4/parse_ipv6 fill, leaving the L2 fields alone. */
static void clear_l3(struct pkt_info *pi)
{
    pi->l3_len = 0;
    pi->l4_off = 0;
    pi->l4_len = 0;
    pi->ip_version = 0;
    pi->l4_proto = 0;
    pi->is_fragment = false;
    pi->is_first_fragment = false;
    pi->sport = 0;
    pi->dport = 0;
    pi->icmp_type = 0;
    pi->icmp_code = 0;
    pi->l4_bad = false;
}

/* ---- L4: bounded by the IP payload (len), never by the frame ---------- */

static enum drop_reason parse_icmp(const uint8_t *p, uint16_t len, uint16_t hdr_len,
                                   struct pkt_info *pi)
{
    if (len < hdr_len)
        return DROP_BAD_L4_LEN;
    pi->icmp_type = p[0];       /* same two bytes in ICMP and ICMPv6 */
    pi->icmp_code = p[1];
    return DROP_NONE;
}

/* The length rules are parse_udp_len_ok and parse_tcp_len_ok (parse.h).
 * UDP: a first fragment holds only the start of the datagram its length
 * describes; otherwise the datagram must fit the payload, and a shorter one
 * (trailing bytes in the IP payload) is accepted, as end hosts do. */
static enum drop_reason parse_udp(const uint8_t *p, uint16_t len, struct pkt_info *pi)
{
    if (!parse_udp_len_ok(p, len, pi->is_fragment))
        return DROP_BAD_L4_LEN;
    const struct udp_hdr *udp = (const void *)p;
    pi->sport = pm_ntohs(udp->sport);
    pi->dport = pm_ntohs(udp->dport);
    return DROP_NONE;
}

static enum drop_reason parse_tcp(const uint8_t *p, uint16_t len, struct pkt_info *pi)
{
    if (!parse_tcp_len_ok(p, len))
        return DROP_BAD_L4_LEN;
    const struct tcp_hdr *tcp = (const void *)p;
    pi->sport = pm_ntohs(tcp->sport);
    pi->dport = pm_ntohs(tcp->dport);
    return DROP_NONE;
}

/* Parses the L4 header at ip + l4_off when there is one to parse: the
 * packet is not a later fragment and the protocol is known. Offsets here
 * are relative to the IP header; parse_l3 rebases them onto the frame. */
static enum drop_reason parse_l4(const uint8_t *ip, uint16_t l4_off, struct pkt_info *pi)
{
    if (!pi->is_first_fragment)
        return DROP_NONE;
    const uint8_t *p = ip + l4_off;
    uint16_t len = pi->l3_len - l4_off;
    enum drop_reason r;

    switch (pi->l4_proto) {
    case IPPROTO_ICMP_:   r = parse_icmp(p, len, sizeof(struct icmp_hdr), pi); break;
    case IPPROTO_ICMPV6_: r = parse_icmp(p, len, sizeof(struct icmpv6_hdr), pi); break;
    case IPPROTO_UDP_:    r = parse_udp(p, len, pi); break;
    case IPPROTO_TCP_:    r = parse_tcp(p, len, pi); break;
    default:              return DROP_NONE;
    }
    pi->l4_off = l4_off;
    pi->l4_len = len;
    pi->l4_bad = r == DROP_BAD_L4_LEN;
    return r;
}

/* ---- IPv4 (RFC 791) ----------------------------------------------------- */

/* Fixed part, version, IHL, total length, checksum: in that order, so each
 * check reads only bytes an earlier one proved present. */
static enum drop_reason ipv4_check(const uint8_t *p, uint16_t len)
{
    if (len < sizeof(struct ipv4_hdr))
        return DROP_RUNT;
    const struct ipv4_hdr *ip = (const void *)p;
    uint16_t hdr_len = (uint16_t)((ip->ver_ihl & 0x0f) * 4);
    uint16_t total_len = pm_ntohs(ip->total_len);

    if (ip->ver_ihl >> 4 != 4)
        return DROP_BAD_IP_VERSION;
    if (hdr_len < sizeof(struct ipv4_hdr) || hdr_len > len)
        return DROP_BAD_IHL;
    if (total_len < hdr_len || total_len > len)
        return DROP_BAD_IP_LEN;
    if (hdr_len == sizeof(struct ipv4_hdr) ? !csum_ipv4_header20_ok(p) :
                                             !csum_ipv4_header_ok(p, hdr_len))
        return DROP_BAD_IP_CSUM;
    return DROP_NONE;
}

enum drop_reason parse_ipv4(const uint8_t *p, uint16_t len, struct pkt_info *pi)
{
    clear_l3(pi);
    enum drop_reason r = ipv4_check(p, len);
    if (r != DROP_NONE)
        return r;

    const struct ipv4_hdr *ip = (const void *)p;
    uint16_t frag = pm_ntohs(ip->frag_off);
    pi->ip_version = 4;
    pi->l3_len = pm_ntohs(ip->total_len);
    pi->l4_proto = ip->proto;
    pi->is_fragment = (frag & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET)) != 0;
    pi->is_first_fragment = (frag & IPV4_FRAG_OFFSET) == 0;
    return parse_l4(p, (uint16_t)((ip->ver_ihl & 0x0f) * 4), pi);
}

/* ---- IPv6 (RFC 8200) ---------------------------------------------------- */

static bool ipv6_is_ext(uint8_t next)
{
    return next == IPV6_EXT_HOPOPTS || next == IPV6_EXT_ROUTING ||
           next == IPV6_EXT_FRAGMENT || next == IPV6_EXT_AH || next == IPV6_EXT_DSTOPTS;
}

/* Length in bytes of the extension header h (at least 8 bytes present),
 * or 0 when its length field is invalid. */
static uint16_t ipv6_ext_len(uint8_t type, const uint8_t *h)
{
    const struct ipv6_ext_hdr *ext = (const void *)h;
    if (type == IPV6_EXT_FRAGMENT)
        return sizeof(struct ipv6_frag_hdr);
    if (type == IPV6_EXT_AH) {
        /* RFC 4302 2.2: 4-byte units minus 2; IPv6 wants a multiple of 8. */
        uint16_t ah_len = (uint16_t)((ext->len + 2) * 4);
        return ah_len % 8 ? 0 : ah_len;
    }
    return (uint16_t)((ext->len + 1) * 8);
}

/* Records a fragment header. Returns false for a second one. */
static bool ipv6_note_fragment(const uint8_t *h, struct pkt_info *pi)
{
    const struct ipv6_frag_hdr *frag = (const void *)h;
    if (pi->is_fragment)
        return false;
    pi->is_fragment = true;
    pi->is_first_fragment = IPV6_FRAG_OFF(pm_ntohs(frag->frag_off)) == 0;
    return true;
}

/* Walks the extension headers from *off (just past the fixed header) with
 * *next the first header type. Stops at the first non-extension header, or
 * after the fragment header of a later fragment, whose payload continues
 * someone else's chain. Leaves *off and *next at the upper-layer header. */
static enum drop_reason ipv6_walk_ext(const uint8_t *ip, uint16_t *off, uint8_t *next,
                                      struct pkt_info *pi)
{
    for (int n = 0; ipv6_is_ext(*next); n++) {
        const uint8_t *h = ip + *off;
        uint16_t room = pi->l3_len - *off;
        /* Every extension header is at least 8 bytes (RFC 8200 4). */
        if (n == PARSE_MAX_IPV6_EXT || room < 8)
            return DROP_BAD_IPV6_EXT;
        if (*next == IPV6_EXT_HOPOPTS && n != 0)
            return DROP_BAD_IPV6_EXT;   /* only right after the IPv6 header (4.3) */
        uint16_t ext_len = ipv6_ext_len(*next, h);
        if (ext_len == 0 || ext_len > room)
            return DROP_BAD_IPV6_EXT;
        if (*next == IPV6_EXT_FRAGMENT && !ipv6_note_fragment(h, pi))
            return DROP_BAD_IPV6_EXT;
        *next = h[0];
        *off += ext_len;
        if (!pi->is_first_fragment)
            break;
    }
    return DROP_NONE;
}

enum drop_reason parse_ipv6(const uint8_t *p, uint16_t len, struct pkt_info *pi)
{
    clear_l3(pi);
    if (len < sizeof(struct ipv6_hdr))
        return DROP_RUNT;
    const struct ipv6_hdr *ip = (const void *)p;
    if (p[0] >> 4 != 6)
        return DROP_BAD_IP_VERSION;
    uint32_t l3_len = sizeof(struct ipv6_hdr) + (uint32_t)pm_ntohs(ip->payload_len);
    if (l3_len > len)
        return DROP_BAD_IP_LEN;

    pi->ip_version = 6;
    pi->l3_len = (uint16_t)l3_len;
    pi->is_first_fragment = true;   /* until a fragment header says otherwise */
    uint16_t off = sizeof(struct ipv6_hdr);
    uint8_t next = ip->next;
    enum drop_reason r = ipv6_walk_ext(p, &off, &next, pi);
    pi->l4_proto = next;
    if (r != DROP_NONE)
        return r;
    return parse_l4(p, off, pi);
}

/* ---- ARP (RFC 826) and the L2 headers ----------------------------------- */

enum drop_reason parse_arp(const uint8_t *p, uint16_t len)
{
    if (len < sizeof(struct arp_hdr))
        return DROP_RUNT;
    const struct arp_hdr *arp = (const void *)p;
    if (pm_ntohs(arp->htype) != ARP_HTYPE_ETHER || pm_ntohs(arp->ptype) != ETHERTYPE_IPV4 ||
        arp->hlen != ETH_ALEN || arp->plen != 4)
        return DROP_BAD_ARP;
    return DROP_NONE;
}

static bool is_vlan_ethertype(uint16_t type)
{
    return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ;
}

/* Pops up to two tags, advancing pi->l3_off and pi->ethertype. An S-tag
 * (802.1ad) is the service provider's outer tag, so one found inside
 * another tag is malformed. */
static enum drop_reason parse_vlans(const uint8_t *frame, uint16_t len, struct pkt_info *pi)
{
    while (is_vlan_ethertype(pi->ethertype)) {
        if (pi->nb_vlans == 2 || (pi->nb_vlans == 1 && pi->ethertype == ETHERTYPE_QINQ))
            return DROP_BAD_VLAN;
        if (len - pi->l3_off < VLAN_TAG_LEN)
            return DROP_RUNT;
        const struct vlan_hdr *tag = (const void *)(frame + pi->l3_off);
        pi->vlan_id[pi->nb_vlans++] = pm_ntohs(tag->tci) & VLAN_VID_MASK;
        pi->ethertype = pm_ntohs(tag->type);
        pi->l3_off += VLAN_TAG_LEN;
    }
    return DROP_NONE;
}

static enum drop_reason parse_l3(const uint8_t *p, uint16_t len, struct pkt_info *pi)
{
    enum drop_reason r;

    switch (pi->ethertype) {
    case ETHERTYPE_ARP:
        r = parse_arp(p, len);
        if (r == DROP_NONE)
            pi->l3_len = sizeof(struct arp_hdr);
        return r;
    case ETHERTYPE_IPV4: r = parse_ipv4(p, len, pi); break;
    case ETHERTYPE_IPV6: r = parse_ipv6(p, len, pi); break;
    default:             return DROP_UNKNOWN_ETHERTYPE;
    }
    if (pi->l4_off != 0)
        pi->l4_off += pi->l3_off;   /* IP-relative to frame-relative */
    return r;
}

enum drop_reason parse_frame(const uint8_t *frame, uint16_t len, struct pkt_info *pi)
{
    *pi = (struct pkt_info){ 0 };
    if (len < sizeof(struct eth_hdr))
        return DROP_RUNT;
    pi->ethertype = pm_ntohs(((const struct eth_hdr *)frame)->type);
    pi->l3_off = sizeof(struct eth_hdr);

    enum drop_reason r = parse_vlans(frame, len, pi);
    if (r != DROP_NONE)
        return r;
    return parse_l3(frame + pi->l3_off, len - pi->l3_off, pi);
}
