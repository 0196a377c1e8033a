/*
 * Header parsing (STYLE.md, habit 11: pull, check, say why not).
 *
 * parse_frame() walks one frame from the Ethernet header through at most two
 * VLAN tags to ARP, IPv4 or IPv6 and on to ICMP/ICMPv6/UDP/TCP, checking
 * every length against the frame, and fills struct pkt_info with offsets
 * and the fields the pipeline decides on. It returns DROP_NONE or the reason
 * the frame cannot be processed. Only the IPv4 header checksum is verified
 * here (a router must); L4 checksums are checked by whoever consumes the
 * packet locally (ICMP echo), with csum.h.
 */
#ifndef PKTMETAL_NET_PARSE_H
#define PKTMETAL_NET_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "net/csum.h"
#include "net/drop.h"
#include "net/proto.h"

struct pkt_info {
    uint16_t ethertype;         /* after the VLAN tags, host order */
    uint8_t nb_vlans;           /* 0..2 */
    uint16_t vlan_id[2];        /* outer first; VID only */
    uint16_t l3_off;            /* offset of ARP/IPv4/IPv6 header */
    uint16_t l3_len;            /* IP: header + payload as the header says; ARP: 28 */
    uint16_t l4_off;            /* offset of ICMP/UDP/TCP header; 0 if none parsed */
    uint16_t l4_len;            /* bytes from l4_off to the end of the IP payload */
    uint8_t ip_version;         /* 4, 6, or 0 (ARP/other) */
    uint8_t l4_proto;           /* IPPROTO_* after IPv6 extension headers */
    bool is_fragment;           /* IPv4 MF or offset != 0; IPv6 fragment header */
    bool is_first_fragment;     /* offset 0 (only then are L4 ports present) */
    uint16_t sport, dport;      /* host order; 0 when the protocol has none */
    uint8_t icmp_type, icmp_code;  /* ICMP/ICMPv6 */
    bool l4_bad;                /* the L4 header broke its length rule: parse_frame
                                 * returned DROP_BAD_L4_LEN with the rest filled */
};

/* Parses frame[0..len). On DROP_NONE *pi is complete; on a drop reason its
 * fields up to the failing header are filled. Never reads past len. */
enum drop_reason parse_frame(const uint8_t *frame, uint16_t len, struct pkt_info *pi);

/* Single-header parsers, used by parse_frame and by tests; each checks the
 * header fits in len bytes at p and returns DROP_NONE or a reason. */
enum drop_reason parse_ipv4(const uint8_t *p, uint16_t len, struct pkt_info *pi);
enum drop_reason parse_ipv6(const uint8_t *p, uint16_t len, struct pkt_info *pi);
enum drop_reason parse_arp(const uint8_t *p, uint16_t len);

/* ---- L4 length rules, shared with the fast check below -------------------
 * l4_len is what the IP header leaves for the L4 header and payload; a
 * first fragment carries only the start of a UDP datagram, so its length
 * field may run past it. */

static inline bool parse_udp_len_ok(const uint8_t *l4, uint16_t l4_len, bool is_fragment)
{
    if (l4_len < sizeof(struct udp_hdr))
        return false;
    uint16_t udp_len = pm_ntohs(((const struct udp_hdr *)(const void *)l4)->len);
    /* 8 <= udp_len (<= l4_len): one unsigned compare each way */
    return is_fragment ? udp_len >= sizeof(struct udp_hdr)
                       : (uint16_t)(udp_len - sizeof(struct udp_hdr)) <=
                         (uint16_t)(l4_len - sizeof(struct udp_hdr));
}

/* Options cut off by a fragment boundary are refused too: RFC 1858's
 * tiny-fragment attack hides the flags in the second fragment. */
static inline bool parse_tcp_len_ok(const uint8_t *l4, uint16_t l4_len)
{
    if (l4_len < sizeof(struct tcp_hdr))
        return false;
    uint16_t hdr_len = (uint16_t)((((const struct tcp_hdr *)(const void *)l4)->data_off >> 4) * 4);
    return hdr_len >= sizeof(struct tcp_hdr) && hdr_len <= l4_len;
}

/*
 * The common case, checked in one pass for a forwarding fast path: true
 * when frame[0..len) is an untagged IPv4 frame whose header has no options
 * and is not a fragment, and parse_frame would accept its IPv4 header
 * (lengths, header checksum): parse_frame returns DROP_NONE, or
 * DROP_BAD_L4_LEN with pi->l4_bad, for it. The L4 header is not looked at:
 * a router forwards without it (router.h). False says only that it is not
 * that case; parse_frame says why. On true, *w holds the header's 20 bytes
 * (ipv4_words) for the fast path to take its fields from without loading
 * them again.
 */
static inline bool parse_ipv4_plain_ok(const uint8_t *frame, uint16_t len, struct ipv4_words *w)
{
    /* version 4 with IHL 5 in byte 0, neither MF nor an offset in bytes 6-7 */
    const uint64_t plain_mask = 0xff | (uint64_t)pm_htons(IPV4_FLAG_MF | IPV4_FRAG_OFFSET) << 48;
    uint16_t type;

    if (len < sizeof(struct eth_hdr) + sizeof(struct ipv4_hdr))
        return false;
    __builtin_memcpy(&type, frame + offsetof(struct eth_hdr, type), sizeof(type));
    *w = ipv4_words_load(frame + sizeof(struct eth_hdr));
    if (type != pm_htons(ETHERTYPE_IPV4) || (w->w0 & plain_mask) != 0x45)
        return false;
    /* 20 <= total length <= what the frame holds, as one unsigned compare */
    const struct ipv4_hdr *ip = (const void *)(frame + sizeof(struct eth_hdr));
    uint32_t l4_len = (uint32_t)pm_ntohs(ip->total_len) - sizeof(struct ipv4_hdr);
    return l4_len <= (uint32_t)len - sizeof(struct eth_hdr) - sizeof(struct ipv4_hdr) &&
           csum_ipv4_words_ok(*w);
}

#endif
