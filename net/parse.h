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
};

/* Parses frame[0..len). On DROP_NONE *pi is complete; on a drop reason its
 * fields up to the failing header are filled. Never reads past len. */
enum drop_reason parse_frame(const uint8_t *frame, uint16_t len, struct pkt_info *pi);

/* Single-header parsers, used by parse_frame and by tests; each checks the
 * header fits in len bytes at p and returns DROP_NONE or a reason. */
enum drop_reason parse_ipv4(const uint8_t *p, uint16_t len, struct pkt_info *pi);
enum drop_reason parse_ipv6(const uint8_t *p, uint16_t len, struct pkt_info *pi);
enum drop_reason parse_arp(const uint8_t *p, uint16_t len);

#endif
