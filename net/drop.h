/*
 * Why a packet was dropped: one counter per reason, so nothing is dropped
 * silently (DESIGN.md, Hot path). Parsers return one of these, or DROP_NONE.
 */
#ifndef PKTMETAL_NET_DROP_H
#define PKTMETAL_NET_DROP_H

#define DROP_REASONS(X)                                                          \
    X(NONE,              "none")               /* not dropped */                \
    X(RUNT,              "runt")               /* frame shorter than a header */ \
    X(BAD_VLAN,          "bad_vlan")           /* a third tag, or 802.1ad inside a tag */ \
    X(UNKNOWN_ETHERTYPE, "unknown_ethertype")                                    \
    X(BAD_ARP,           "bad_arp")            /* not Ethernet/IPv4, bad lengths */ \
    X(BAD_IP_VERSION,    "bad_ip_version")                                       \
    X(BAD_IHL,           "bad_ihl")            /* IHL < 5 or past the frame */   \
    X(BAD_IP_LEN,        "bad_ip_len")         /* total length vs frame */       \
    X(BAD_IP_CSUM,       "bad_ip_csum")                                          \
    X(BAD_IPV6_EXT,      "bad_ipv6_ext")       /* extension header chain broken */ \
    X(BAD_L4_LEN,        "bad_l4_len")         /* UDP/TCP/ICMP header truncated */ \
    X(BAD_L4_CSUM,       "bad_l4_csum")        /* for packets addressed to us */ \
    X(MARTIAN,           "martian")            /* source multicast/broadcast/zero */ \
    X(TTL_EXPIRED,       "ttl_expired")                                          \
    X(NO_ROUTE,          "no_route")                                             \
    X(ACL_DENY,          "acl_deny")                                             \
    X(NOT_FOR_US,        "not_for_us")         /* router: unicast to another MAC */ \
    X(NO_NEIGHBOR,       "no_neighbor")        /* next hop never resolved */     \
    X(ARP_QUEUE_FULL,    "arp_queue_full")                                       \
    X(FRAGMENT,          "fragment")           /* fragment addressed to us */    \
    X(UNSUPPORTED,       "unsupported")        /* e.g. IPv6 in the IPv4 router */ \
    X(ICMP_RATE_LIMIT,   "icmp_rate_limit")    /* an ICMP reply/error suppressed */ \
    X(LOCAL_UNHANDLED,   "local_unhandled")    /* to us, but nothing listens */ \
    X(SAME_PORT,         "same_port")          /* bridge: destination is the input port */ \
    X(NO_OUTPUT,         "no_output")          /* l2fwd: unpaired port */        \
    X(TX_FULL,           "tx_full")            /* output ring had no room */     \
    X(NO_BUFFER,         "no_buffer")          /* pool empty when a copy was needed */ \
    X(PROGRAM,           "program")            /* the per-packet program said drop */ \
    X(LINK_DOWN,         "link_down")          /* the output port's link is down */

enum drop_reason {
#define DROP_ENUM(name, text) DROP_##name,
    DROP_REASONS(DROP_ENUM)
#undef DROP_ENUM
    DROP__COUNT
};

const char *drop_reason_name(enum drop_reason r);

#endif
