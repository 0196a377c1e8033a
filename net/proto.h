/*
 * Wire formats: the headers pktmetal parses and writes, as the RFCs and IEEE
 * 802.1Q draw them. Multi-byte fields are in network byte order (big endian)
 * exactly as on the wire; convert with pm_ntohs()/pm_ntohl() and friends.
 *
 *   Ethernet II (14) [802.1Q tag (4)]x0..2  ARP (28) | IPv4 (20+opts) | IPv6 (40+ext)
 *                                             ICMP (8) | ICMPv6 (4+) | UDP (8) | TCP (20+opts)
 */
#ifndef PKTMETAL_NET_PROTO_H
#define PKTMETAL_NET_PROTO_H

#include <stdint.h>

#define ETH_ALEN        6
#define ETH_HDR_LEN     14
#define ETH_MIN_FRAME   60      /* without FCS */
#define ETH_MAX_FRAME   1514    /* without FCS, untagged */
#define VLAN_TAG_LEN    4

#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_ARP   0x0806
#define ETHERTYPE_VLAN  0x8100  /* 802.1Q */
#define ETHERTYPE_QINQ  0x88a8  /* 802.1ad service tag */
#define ETHERTYPE_IPV6  0x86dd

#define IPPROTO_ICMP_   1
#define IPPROTO_TCP_    6
#define IPPROTO_UDP_    17
#define IPPROTO_ICMPV6_ 58
/* IPv6 extension headers walked by the parser (RFC 8200, 4.1) */
#define IPV6_EXT_HOPOPTS  0
#define IPV6_EXT_ROUTING  43
#define IPV6_EXT_FRAGMENT 44
#define IPV6_EXT_AH       51
#define IPV6_EXT_DSTOPTS  60
#define IPV6_EXT_NONE     59

struct eth_hdr {
    uint8_t dst[ETH_ALEN];
    uint8_t src[ETH_ALEN];
    uint16_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct eth_hdr) == 14, "Ethernet header");

struct vlan_hdr {               /* follows a 0x8100/0x88a8 ethertype */
    uint16_t tci;               /* PCP(3) DEI(1) VID(12) */
    uint16_t type;              /* the next ethertype */
} __attribute__((packed));
_Static_assert(sizeof(struct vlan_hdr) == 4, "802.1Q tag");

#define ARP_HTYPE_ETHER 1
#define ARP_OP_REQUEST  1
#define ARP_OP_REPLY    2
struct arp_hdr {                /* RFC 826, Ethernet/IPv4 only */
    uint16_t htype, ptype;
    uint8_t hlen, plen;
    uint16_t op;
    uint8_t sha[ETH_ALEN];
    uint8_t spa[4];
    uint8_t tha[ETH_ALEN];
    uint8_t tpa[4];
} __attribute__((packed));
_Static_assert(sizeof(struct arp_hdr) == 28, "ARP for IPv4 over Ethernet");

#define IPV4_FLAG_DF     0x4000
#define IPV4_FLAG_MF     0x2000
#define IPV4_FRAG_OFFSET 0x1fff
struct ipv4_hdr {               /* RFC 791 */
    uint8_t ver_ihl;            /* version 4 in the high nibble, IHL in 32-bit words */
    uint8_t tos;
    uint16_t total_len;
    uint16_t id;
    uint16_t frag_off;          /* flags(3) offset(13) */
    uint8_t ttl;
    uint8_t proto;
    uint16_t csum;
    uint32_t src;
    uint32_t dst;
} __attribute__((packed));
_Static_assert(sizeof(struct ipv4_hdr) == 20, "IPv4 header without options");

struct ipv6_hdr {               /* RFC 8200 */
    uint32_t vtc_flow;          /* version(4) traffic class(8) flow label(20) */
    uint16_t payload_len;
    uint8_t next;
    uint8_t hop_limit;
    uint8_t src[16];
    uint8_t dst[16];
} __attribute__((packed));
_Static_assert(sizeof(struct ipv6_hdr) == 40, "IPv6 fixed header");

struct ipv6_ext_hdr {           /* generic: hop-by-hop, routing, destination options */
    uint8_t next;
    uint8_t len;                /* in 8-byte units, not counting the first 8 */
} __attribute__((packed));

struct ipv6_frag_hdr {
    uint8_t next;
    uint8_t reserved;
    uint16_t frag_off;          /* offset(13) res(2) M(1) */
    uint32_t id;
} __attribute__((packed));
_Static_assert(sizeof(struct ipv6_frag_hdr) == 8, "IPv6 fragment header");

#define ICMP_ECHO_REPLY      0
#define ICMP_DEST_UNREACH    3
#define ICMP_UNREACH_NET     0
#define ICMP_UNREACH_HOST    1
#define ICMP_UNREACH_PORT    3
#define ICMP_ECHO_REQUEST    8
#define ICMP_TIME_EXCEEDED   11
#define ICMP_EXC_TTL         0
struct icmp_hdr {               /* RFC 792 */
    uint8_t type;
    uint8_t code;
    uint16_t csum;
    uint16_t id;                /* echo; "unused" for errors */
    uint16_t seq;
} __attribute__((packed));
_Static_assert(sizeof(struct icmp_hdr) == 8, "ICMP header");

struct icmpv6_hdr {             /* RFC 4443 */
    uint8_t type;
    uint8_t code;
    uint16_t csum;
} __attribute__((packed));

struct udp_hdr {                /* RFC 768 */
    uint16_t sport, dport;
    uint16_t len;
    uint16_t csum;
} __attribute__((packed));
_Static_assert(sizeof(struct udp_hdr) == 8, "UDP header");

struct tcp_hdr {                /* RFC 9293 */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t data_off;           /* header length in 32-bit words, high nibble */
    uint8_t flags;
    uint16_t window;
    uint16_t csum;
    uint16_t urg;
} __attribute__((packed));
_Static_assert(sizeof(struct tcp_hdr) == 20, "TCP header without options");

static inline uint16_t pm_ntohs(uint16_t v) { return __builtin_bswap16(v); }
static inline uint16_t pm_htons(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t pm_ntohl(uint32_t v) { return __builtin_bswap32(v); }
static inline uint32_t pm_htonl(uint32_t v) { return __builtin_bswap32(v); }

#endif
